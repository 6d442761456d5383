"""FeatureSpec: survives a checkpoint header, catches mismatches, and tells the truth about the extractors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from feature_extractors.spec import FeatureSpec, FeatureSpecMismatch, default_feature_spec


def test_feature_spec_survives_a_json_round_trip():
    spec = default_feature_spec()
    again = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    again.check_matches(spec, "checkpoint a.safetensors")  # no error


def test_a_different_visual_size_is_caught_naming_both_sides():
    spec = default_feature_spec()
    old_visual = dataclasses.replace(
        spec.visual, feature_names=tuple(f"au{i}" for i in range(35)), version="0"
    )
    other = dataclasses.replace(spec, visual=old_visual)
    with pytest.raises(FeatureSpecMismatch) as caught:
        spec.check_matches(other, "checkpoint runs/old.safetensors")
    message = str(caught.value)
    assert "visual" in message and "35 features" in message and f"{spec.visual.dim} features" in message
    assert "runs/old.safetensors" in message and "text" not in message.split(".")[0]


def test_a_new_extractor_version_is_a_mismatch_even_with_the_same_size():
    spec = default_feature_spec()
    other = dataclasses.replace(spec, audio=dataclasses.replace(spec.audio, version=spec.audio.version + "-next"))
    with pytest.raises(FeatureSpecMismatch, match="audio"):
        spec.check_matches(other, "dataset prepared/mosei")


def test_a_spec_without_a_modality_is_refused():
    data = default_feature_spec().to_dict()
    del data["audio"]
    with pytest.raises(ValueError, match="audio"):
        FeatureSpec.from_dict(data)


def test_the_spec_sizes_are_what_the_extractors_produce(still_face_extractor, astronaut_rgb, text_encoder, speech):
    from feature_extractors.speech import Word
    from feature_extractors.voice import VoiceExtractor

    voice = VoiceExtractor()
    dims = default_feature_spec().dims
    assert still_face_extractor.extract(astronaut_rgb, rgb=True).vector.shape == (dims["visual"],)
    rows = voice.extract(speech[:16000])
    assert len(rows) and rows.values.shape[1] == dims["audio"]
    assert text_encoder.encode([Word("hello", 0.0, 0.3, 1.0)]).values.shape == (1, dims["text"])
    assert default_feature_spec().audio.rate_hz == voice.rate_hz
    assert np.isfinite(voice.extract(speech).values).all()
