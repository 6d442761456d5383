"""Bad input gets a clear error saying what is wrong and what to do."""

from __future__ import annotations

import numpy as np
import pytest

from feature_extractors.acoustic import AcousticStream


def test_audio_at_the_wrong_sample_rate_is_refused(acoustic_extractor, recognizer):
    samples = np.zeros(44100, np.float32)
    with pytest.raises(ValueError, match="16000 Hz, got 44100 Hz; resample"):
        acoustic_extractor.extract(samples, sample_rate=44100)
    with pytest.raises(ValueError, match="16000 Hz, got 44100 Hz"):
        recognizer.transcribe(samples, sample_rate=44100)


def test_stereo_audio_is_refused_with_how_to_mix_it_down(acoustic_extractor, recognizer):
    stereo = np.zeros((16000, 2), np.float32)
    for call in (acoustic_extractor.extract, recognizer.transcribe):
        with pytest.raises(ValueError, match="mono.*shape \\(16000, 2\\).*mean"):
            call(stereo)
    with pytest.raises(ValueError, match="mono"):
        AcousticStream(acoustic_extractor).feed(stereo, 0.0)


def test_integer_audio_is_refused_with_how_to_scale_it(acoustic_extractor):
    with pytest.raises(ValueError, match="int16.*32768"):
        acoustic_extractor.extract(np.zeros(16000, np.int16))


def test_audio_with_nan_is_refused(acoustic_extractor):
    samples = np.zeros(16000, np.float32)
    samples[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        acoustic_extractor.extract(samples)


def test_an_empty_frame_is_refused(still_face_extractor):
    with pytest.raises(ValueError, match="empty"):
        still_face_extractor.extract(np.zeros((0, 0, 3), np.uint8))


def test_a_frame_of_the_wrong_dtype_is_refused_with_how_to_convert(still_face_extractor, astronaut_rgb):
    with pytest.raises(ValueError, match="uint8.*float64.*astype\\(np.uint8\\)"):
        still_face_extractor.extract(astronaut_rgb / 255.0, rgb=True)


def test_a_frame_with_the_wrong_channels_is_refused(still_face_extractor):
    with pytest.raises(ValueError, match="\\[height, width, 3\\].*\\(64, 64, 2\\)"):
        still_face_extractor.extract(np.zeros((64, 64, 2), np.uint8))


def test_a_grey_frame_is_accepted(still_face_extractor, astronaut_rgb):
    grey = astronaut_rgb.mean(axis=2).astype(np.uint8)
    assert still_face_extractor.extract(grey) is not None
