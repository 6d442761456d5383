"""The predictor: refuses the wrong checkpoint, silences untrained modalities, smooths by its rule."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from app.predictor import Predictor, PredictorError, ScoreSmoother
from carat_model import Carat, CheckpointError, load_checkpoint, save_checkpoint
from feature_extractors.spec import FeatureSpecMismatch, default_feature_spec
from trainer.untrained import build_untrained_checkpoint


def window_for(
    predictor: Predictor, present=("text", "visual", "audio"), seed: int = 0
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    window = {}
    for modality, steps in zip(("text", "visual", "audio"), predictor.lengths):
        dim = predictor.config.feature_dim(modality)
        window[modality] = rng.standard_normal((steps, dim)).astype(np.float32)
        window[f"{modality}_mask"] = np.full(steps, 1.0 if modality in present else 0.0, np.float32)
    return window


def test_checkpoint_with_another_feature_spec_is_refused_naming_both_sides(tmp_path: Path, predictor) -> None:
    spec = default_feature_spec().to_dict()
    spec["visual"]["version"] = "0-old"
    path = save_checkpoint(tmp_path / "old.safetensors", Carat(predictor.config), feature_spec=spec)
    with pytest.raises(
        FeatureSpecMismatch,
        match=r"visual: checkpoint .*old\.safetensors expects .*version 0-old.*"
        rf"extractors in use give .*version {default_feature_spec().visual.version}\)",
    ):
        Predictor(path)


def test_words_only_checkpoint_survives_new_face_and_voice_extractors(tmp_path: Path, predictor) -> None:
    # Face and voice were never trained here: their old, differently sized features must not retire it.
    spec = default_feature_spec().to_dict()
    for modality in ("visual", "audio"):
        spec[modality].update(feature_names=["old_a", "old_b", "old_c"], version="0-old")
    config = predictor.config.replace(visual_dim=3, audio_dim=3)
    torch.manual_seed(0)
    path = save_checkpoint(
        tmp_path / "words.safetensors", Carat(config), feature_spec=spec, extra={"trained_modalities": ["text"]}
    )
    words_only = Predictor(path)
    assert words_only.config.visual_dim == 3 and words_only.config.audio_dim == 3
    live = window_for(predictor)  # live sizes for every stream
    prediction = words_only.predict(live, 1.0)
    assert prediction.scored == {"text": True, "visual": False, "audio": False}
    assert all(0.0 <= s <= 1.0 for s in prediction.raw_scores)
    # A stream it was trained on must still match exactly.
    spec["text"]["version"] = "0-old"
    stale = save_checkpoint(
        tmp_path / "stale.safetensors", Carat(config), feature_spec=spec, extra={"trained_modalities": ["text"]}
    )
    with pytest.raises(FeatureSpecMismatch, match=r"text: checkpoint .*stale\.safetensors expects .*0-old"):
        Predictor(stale)


def test_checkpoint_without_a_feature_spec_is_refused(tmp_path: Path, predictor) -> None:
    path = save_checkpoint(tmp_path / "bare.safetensors", Carat(predictor.config), feature_spec=None)
    with pytest.raises(CheckpointError, match="records no FeatureSpec"):
        Predictor(path)


def test_missing_checkpoint_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint at .*main.py train"):
        Predictor(tmp_path / "nowhere.safetensors")


def test_modality_the_checkpoint_was_not_trained_on_never_votes(tmp_path: Path, predictor) -> None:
    path = build_untrained_checkpoint(tmp_path / "av.safetensors", trained_modalities=("visual", "audio"))
    audio_visual = Predictor(path)
    window = window_for(audio_visual)
    prediction = audio_visual.predict(window, 1.0)
    assert prediction.present == {"text": True, "visual": True, "audio": True}
    assert prediction.scored == {"text": False, "visual": True, "audio": True}
    assert "text" not in prediction.deciding_modality
    # Scores equal those of the same window with no words at all: text really was kept out.
    without_text = Predictor(path).predict(window_for(audio_visual, present=("visual", "audio")), 1.0)
    assert without_text.raw_scores == pytest.approx(prediction.raw_scores, abs=1e-6)


def test_scores_are_probabilities_and_decisions_follow_thresholds(predictor) -> None:
    predictor.smoother.reset()
    prediction = predictor.predict(window_for(predictor), 1.0)
    assert len(prediction.scores) == 6 and all(0.0 <= s <= 1.0 for s in prediction.scores)
    assert prediction.decided == tuple(s > t for s, t in zip(prediction.scores, predictor.thresholds))
    assert set(prediction.deciding_modality) <= {"text", "visual", "audio"}


def test_no_modality_at_all_gives_zero_scores_and_no_deciding_modality(predictor) -> None:
    predictor.smoother.reset()
    prediction = predictor.predict(window_for(predictor, present=()), 1.0)
    assert prediction.raw_scores == (0.0,) * 6
    assert prediction.deciding_modality == (None,) * 6
    assert prediction.decided == (False,) * 6


def test_smoothing_follows_the_documented_rule_rising_at_once_and_falling_exponentially(predictor) -> None:
    predictor.smoother.reset()
    first = predictor.predict(window_for(predictor, seed=1), 10.0)
    second = predictor.predict(window_for(predictor, seed=2), 10.25)
    weight = 1 - math.exp(-0.25 / predictor.smoother.time_constant_s)
    moving_average = np.array(first.scores) + weight * (np.array(second.raw_scores) - np.array(first.scores))
    expected = np.maximum(np.array(second.raw_scores), moving_average)
    assert first.scores == first.raw_scores  # the first window starts from its raw scores
    assert np.allclose(second.scores, expected)
    after_gap = predictor.predict(window_for(predictor, seed=3), 60.0)  # a pause or seek: start afresh
    assert after_gap.scores == after_gap.raw_scores


def test_a_raw_score_passing_its_threshold_is_decided_at_once_and_held_while_it_stays() -> None:
    """Smoothing never hides a scored sentence: the shown score is never below the raw one."""
    smoother, threshold = ScoreSmoother(1.0), 0.3
    for t in np.arange(0.0, 2.0, 0.25):
        smoother.update(np.array([0.05]), t)  # silence, then a neutral sentence
    rise = smoother.update(np.array([0.35]), 2.0)  # a sad sentence comes into the window
    assert rise == pytest.approx([0.35]) and rise[0] > threshold
    held = [smoother.update(np.array([0.35]), 2.0 + 0.25 * k)[0] for k in range(1, 30)]
    assert min(held) > threshold  # held for as long as the sentence stays in the window
    after = [smoother.update(np.array([0.05]), 9.5 + 0.25 * k)[0] for k in range(8)]
    assert all(a > b for a, b in zip(after, after[1:])) and after[-1] < threshold  # then it falls smoothly
    assert after[0] > 0.05  # ...not at once


def test_smoother_with_zero_time_constant_passes_raw_scores() -> None:
    smoother = ScoreSmoother(0.0)
    smoother.update(np.array([0.9]), 0.0)
    assert smoother.update(np.array([0.1]), 0.25) == pytest.approx([0.1])


def test_nan_features_are_refused_with_the_modality_named(predictor) -> None:
    window = window_for(predictor)
    window["audio"][3, 2] = np.nan
    with pytest.raises(PredictorError, match="audio features hold NaN"):
        predictor.predict(window, 1.0)


def test_window_of_the_wrong_size_is_refused(predictor) -> None:
    window = window_for(predictor)
    window["visual"] = window["visual"][:5]
    with pytest.raises(PredictorError, match=r"window visual has shape \(5, \d+\) but the model takes"):
        predictor.predict(window, 1.0)


def test_model_stays_on_its_device_with_a_preallocated_batch(predictor) -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert predictor.device.type == expected
    assert all(p.device.type == expected for p in predictor.model.parameters())
    batch = predictor._batch.visual
    predictor.predict(window_for(predictor), 1.0)
    assert predictor._batch.visual.data_ptr() == batch.data_ptr(), (
        "the input batch is reused, not reallocated"
    )


def test_a_window_equal_to_the_last_one_reuses_its_scores_without_running_the_model(tmp_path: Path) -> None:
    words_only = Predictor(build_untrained_checkpoint(tmp_path / "t.safetensors", trained_modalities=("text",)))
    runs = words_only.forward_passes
    assert runs == 2, "the warm-up runs the model twice, the second time not answered from the first"
    first = words_only.predict(window_for(words_only, seed=1), 1.0)
    assert words_only.forward_passes == runs + 1
    # Same words, another face and voice: the checkpoint does not score them, so the input is unchanged.
    moved = window_for(words_only, seed=1)
    for modality in ("visual", "audio"):
        moved[modality] = window_for(words_only, seed=3)[modality]
    again = words_only.predict(moved, 1.25)
    assert words_only.forward_passes == runs + 1
    assert again.raw_scores == first.raw_scores
    # New words: the model runs, and gives what a fresh predictor gives for that window.
    new_words = window_for(words_only, seed=4)
    changed = words_only.predict(new_words, 1.5)
    assert words_only.forward_passes == runs + 2
    fresh = Predictor(words_only.checkpoint).predict(new_words, 1.5)
    assert changed.raw_scores == pytest.approx(fresh.raw_scores, abs=1e-6)


def test_the_caller_reusing_its_window_arrays_never_gets_stale_scores(predictor) -> None:
    window = window_for(predictor, seed=5)
    first = predictor.predict(window, 1.0).raw_scores
    window["text"][:] = window_for(predictor, seed=6)["text"]  # changed in place
    second = predictor.predict(window, 1.25).raw_scores
    assert second != first


def test_a_stream_under_its_fewest_rows_is_present_but_does_not_vote(tmp_path: Path) -> None:
    # A checkpoint that asks for 20 voice rows (1 s) before the voice votes: 19 rows leave it out of the
    # scores, exactly as a window without voice; 20 rows let it vote.
    model, info = load_checkpoint(build_untrained_checkpoint(tmp_path / "any.safetensors"))
    strict = Carat(model.config.replace(audio_min_rows=20))
    strict.load_state_dict(model.state_dict())
    path = save_checkpoint(tmp_path / "strict.safetensors", strict, feature_spec=info.feature_spec, extra=info.extra)
    predictor = Predictor(path)
    window = window_for(predictor, present=("text", "visual"))

    def with_voice_rows(rows: int):
        predictor.smoother.reset()
        audio_mask = np.zeros_like(window["audio_mask"])
        audio_mask[-rows:] = 1.0
        return predictor.predict({**window, "audio_mask": audio_mask}, 1.0)

    predictor.smoother.reset()
    without_voice = predictor.predict(window, 1.0)
    few = with_voice_rows(19)
    assert few.present["audio"] and not few.scored["audio"]
    assert few.raw_scores == pytest.approx(without_voice.raw_scores, abs=1e-6)
    enough = with_voice_rows(20)
    assert enough.scored["audio"]
    assert enough.raw_scores != pytest.approx(without_voice.raw_scores, abs=1e-6)
