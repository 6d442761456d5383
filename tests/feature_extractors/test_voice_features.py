"""The voice rows (feature_extractors/voice.py) on real speech: an EmoDB recording (the emodb corpus)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import soxr

from feature_extractors.acoustic import SAMPLE_RATE
from feature_extractors.spec import default_feature_spec
from feature_extractors.voice import VoiceExtractor, VoiceStream
from trainer.data_folders import corpus

EMODB_CLIP = corpus("emodb") / "wav" / "08a01Wa.wav"


@pytest.fixture(scope="module")
def voice() -> VoiceExtractor:
    return VoiceExtractor()


@pytest.fixture(scope="module")
def angry_speech(needs_data) -> np.ndarray:
    needs_data("emodb")
    if not EMODB_CLIP.is_file():
        pytest.fail(f"the emodb folder lacks the clip {EMODB_CLIP}")
    samples, rate = soundfile.read(EMODB_CLIP, dtype="float32")
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)


def streamed(voice: VoiceExtractor, samples: np.ndarray, start: float = 0.0, block: int = 320):
    stream, times, values = VoiceStream(voice), [], []
    for k in range(0, len(samples), block):
        rows = stream.feed(samples[k : k + block], start + k / SAMPLE_RATE)
        times.append(rows.times)
        values.append(rows.values)
    return np.concatenate(times), np.concatenate(values)


def test_rows_come_20_a_second_with_the_spec_s_size(voice, angry_speech) -> None:
    rows = voice.extract(angry_speech, start_time=5.0)
    assert rows.values.shape == (31, default_feature_spec().audio.dim), "2 s: rows end at 0.5, 0.55 ... 2.0 s"
    np.testing.assert_allclose(rows.times[:, 1], 5.0 + np.arange(0.5, 2.001, 0.05), atol=1e-9)
    assert (rows.times[:, 1] - rows.times[:, 0]).max() == pytest.approx(1.0), "each row hears the last second"
    assert np.isfinite(rows.values).all() and rows.values.std() > 0.01


def test_the_stream_in_20_ms_blocks_gives_exactly_the_offline_rows(voice, angry_speech) -> None:
    offline = voice.extract(angry_speech, start_time=3.0)
    times, values = streamed(voice, angry_speech, start=3.0)
    np.testing.assert_array_equal(times, offline.times)
    np.testing.assert_array_equal(values, offline.values)


def test_a_quieter_microphone_gives_the_same_rows(voice, angry_speech) -> None:
    loud = voice.extract(angry_speech).values
    quiet = voice.extract(angry_speech * np.float32(0.1)).values  # -20 dB
    difference = np.linalg.norm(quiet - loud, axis=1) / np.linalg.norm(loud, axis=1)
    assert difference.max() < 0.02, "rounding only (measured 0.008), not the level"


def test_digital_silence_gives_no_rows_and_speech_after_it_does(voice, angry_speech) -> None:
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    assert len(voice.extract(silence)) == 0
    rows = voice.extract(np.concatenate([silence, angry_speech]))
    assert len(rows) and rows.times[:, 1].min() > 2.0, "only rows whose second holds sound"


def test_lost_samples_restart_the_grid_after_the_hole(voice, angry_speech) -> None:
    stream = VoiceStream(voice)
    before = stream.feed(angry_speech[: SAMPLE_RATE], 0.0)
    after = stream.feed(angry_speech[SAMPLE_RATE:], 5.0)  # a 4 s hole
    assert before.times[:, 1].max() <= 1.0
    assert after.times[:, 1].min() == pytest.approx(5.5) and after.times[:, 0].min() == pytest.approx(5.0)


def test_stereo_or_another_rate_is_refused_with_what_to_do(voice, angry_speech) -> None:
    with pytest.raises(ValueError, match="mono"):
        voice.extract(np.stack([angry_speech, angry_speech], axis=1))
    with pytest.raises(ValueError, match="resample"):
        voice.extract(angry_speech, sample_rate=44100)


@pytest.mark.parametrize("kind", ["room", "hum", "music", "keyboard"])
def test_sound_that_is_not_speech_gives_no_rows_at_any_level(voice, kind) -> None:
    from trainer.room_sounds import noise

    rng = np.random.default_rng(0)
    for dbfs in (-60, -45, -30):
        assert len(voice.extract(noise(kind, 6 * SAMPLE_RATE, dbfs, rng))) == 0, f"{kind} at {dbfs} dBFS"


def test_speech_in_a_noisy_room_gives_rows_only_around_the_speech(voice, angry_speech) -> None:
    from trainer.room_sounds import noise

    room = noise("room", 7 * SAMPLE_RATE, -45, np.random.default_rng(1))
    room[3 * SAMPLE_RATE : 3 * SAMPLE_RATE + len(angry_speech)] += angry_speech
    rows = voice.extract(room)
    assert len(rows) >= 20, "the 2 s sentence is enough for the voice to vote (20 rows)"
    assert rows.times[:, 1].min() > 3.0 and rows.times[:, 1].max() < 3.0 + 2.0 + 1.0, "rows end within a second of it"
    quiet = voice.extract(room * np.float32(0.1))  # the same room and voice, 20 dB quieter microphone
    np.testing.assert_array_equal(quiet.times, rows.times)
