"""Acoustic frames (openSMILE eGeMAPS) of real speech made by espeak-ng, and of silence."""

from __future__ import annotations

import numpy as np
import pytest

from feature_extractors.acoustic import SAMPLE_RATE, AcousticStream
from feature_extractors.spec import AUDIO_FEATURE_NAMES

LOUDNESS = AUDIO_FEATURE_NAMES.index("Loudness_sma3")
VOICED = AUDIO_FEATURE_NAMES.index("voiced")
PITCH = AUDIO_FEATURE_NAMES.index("F0semitoneFrom27.5Hz_sma3nz")


def quiet_noise(seconds: float) -> np.ndarray:
    return (np.random.default_rng(0).normal(size=int(seconds * SAMPLE_RATE)) * 1e-4).astype(np.float32)


def test_frames_come_at_100_per_second_with_rising_times_from_the_start_time(acoustic_extractor, speech):
    frames = acoustic_extractor.extract(speech, start_time=12.5)
    duration = len(speech) / SAMPLE_RATE
    assert frames.values.shape[1] == len(AUDIO_FEATURE_NAMES)
    assert abs(len(frames) - duration * 100) < 6
    np.testing.assert_allclose(np.diff(frames.times[:, 0]), 0.01, atol=1e-6)
    assert frames.times[0, 0] == pytest.approx(12.5) and frames.times[-1, 1] <= 12.5 + duration + 1e-6
    assert np.isfinite(frames.values).all()


def test_speech_is_louder_and_voiced_where_silence_is_not(acoustic_extractor, speech):
    spoken = acoustic_extractor.extract(speech).values
    silent = acoustic_extractor.extract(quiet_noise(2.0)).values
    assert np.isfinite(silent).all()
    assert np.median(spoken[:, LOUDNESS]) > 10 * max(np.median(silent[:, LOUDNESS]), 1e-3)
    assert spoken[:, VOICED].mean() > 0.3  # espeak speaks mostly voiced sounds
    assert silent[:, VOICED].sum() == 0
    voiced_pitch = spoken[spoken[:, VOICED] == 1, PITCH]
    # espeak's default voice sits around 100-200 Hz: 22-34 semitones above 27.5 Hz.
    assert 18 < np.median(voiced_pitch) < 40


def test_a_clip_shorter_than_one_frame_gives_no_frames(acoustic_extractor):
    assert len(acoustic_extractor.extract(np.zeros(100, np.float32))) == 0


def test_streaming_in_20ms_blocks_gives_the_offline_frames(acoustic_extractor, speech):
    offline = acoustic_extractor.extract(speech, start_time=3.0)
    stream = AcousticStream(acoustic_extractor)
    block = SAMPLE_RATE // 50
    pieces = [stream.feed(speech[i : i + block], 3.0 + i / SAMPLE_RATE) for i in range(0, len(speech), block)]
    streamed = pieces[0]
    for piece in pieces[1:]:
        streamed = streamed.concat(piece)
    assert len(streamed) > len(offline) - 40  # all but the last, not yet complete, chunk
    assert np.all(np.diff(streamed.times[:, 0]) > 0)  # each frame once, in order
    np.testing.assert_allclose(streamed.times, offline.times[: len(streamed)], atol=1e-6)
    np.testing.assert_allclose(streamed.values, offline.values[: len(streamed)], atol=1e-2, rtol=1e-2)


def test_a_hole_in_the_stream_gives_no_frames_inside_it(acoustic_extractor, speech):
    stream = AcousticStream(acoustic_extractor)
    block = SAMPLE_RATE // 50
    first, second = speech[: SAMPLE_RATE * 2], speech[SAMPLE_RATE * 2 : SAMPLE_RATE * 4]
    rows = [stream.feed(first[i : i + block], i / SAMPLE_RATE) for i in range(0, len(first), block)]
    rows += [stream.feed(second[i : i + block], 2.5 + i / SAMPLE_RATE) for i in range(0, len(second), block)]
    starts = np.concatenate([r.times[:, 0] for r in rows])
    assert np.all(np.diff(starts) > 0)
    assert not np.any((starts > 2.0) & (starts < 2.5))  # samples 2.0-2.5 s were lost
    assert starts.max() > 3.5
