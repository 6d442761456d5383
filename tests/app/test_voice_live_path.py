"""What the voice stream is trained on (`main.py prepare` on a file) is what the microphone path shows.

An EmoDB recording (the emodb corpus) is played as a 48 kHz sound card would deliver it (20 ms blocks),
through the microphone's conversion to 16 kHz packets (`DeviceAudio`, as `MicrophoneSource` uses it) and
the voice worker's `VoiceStream`, then cut into a window by `build_window`; the same file goes through
`main.py prepare` as a voice-only CSV row. PortAudio itself is the only part left out (it is the world's
edge; tests/app/test_voice_microphone.py plays clips through a real PulseAudio microphone).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from app.microphone import DeviceAudio
from feature_extractors.voice import VoiceExtractor, VoiceStream
from feature_extractors.windows import TimedRows, build_window
from trainer.data_folders import corpus
from trainer.presets import STREAMS_WINDOW

pytestmark = pytest.mark.needs_data("emodb")

EMODB = corpus("emodb")
ANGRY = "08a01Wa.wav"
NEUTRAL_SAME_SPEAKER = "08a01Na.wav"
DEVICE_RATE, DEVICE_BLOCK = 48000, 960
# Two resamplers (PyAV for files, soxr for the device) and a 48 kHz round trip: measured 0.03 at most.
ROW_TOLERANCE = 0.06  # |live - prepared| / |prepared| for every voice row


def relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)


def prepared_window(name: str, tmp_path: Path) -> dict[str, np.ndarray]:
    import main
    from trainer.datasets import load_prepared_dataset

    listing = tmp_path / f"{name}.csv"
    listing.write_text(f"path,labels,modalities\n{EMODB / 'wav' / name},angry,audio\n", encoding="utf-8")
    out = tmp_path / f"{name}-prepared"
    steps = ["--unaligned", "--text-steps", STREAMS_WINDOW.text_steps, "--media-steps", STREAMS_WINDOW.media_steps]
    args = ["prepare", listing, "--out", out, "--split", "train", "--quiet", *steps]
    assert main.main([str(a) for a in args]) == 0
    train = load_prepared_dataset(out).split("train")
    return {"audio": train.audio[0], "audio_mask": train.audio_mask[0], "text_mask": train.text_mask[0]}


def live_window(name: str, voice: VoiceExtractor) -> dict[str, np.ndarray]:
    samples, rate = soundfile.read(EMODB / "wav" / name, dtype="float32")
    # The sound card records at 48 kHz and goes on after the clip (silence), as a microphone does.
    device = soxr.resample(samples, rate, DEVICE_RATE).astype(np.float32)
    device = np.concatenate([device, np.zeros(DEVICE_RATE // 4, np.float32)])
    audio, stream = DeviceAudio(DEVICE_RATE), VoiceStream(voice)
    rows = TimedRows.empty(voice.dim)
    for k in range(0, len(device), DEVICE_BLOCK):
        for packet in audio.push(device[k : k + DEVICE_BLOCK], arrived=(k + DEVICE_BLOCK) / DEVICE_RATE):
            rows = rows.concat(stream.feed(packet.samples, packet.time))
    empty = TimedRows.empty(1)
    return build_window(
        empty, empty, rows, 0.0, len(samples) / rate, aligned=False, lengths=(1, 1, STREAMS_WINDOW.media_steps)
    )


@pytest.fixture(scope="module")
def voice() -> VoiceExtractor:
    return VoiceExtractor()


def test_the_microphone_path_gives_the_voice_rows_prepare_trains_on(voice, tmp_path) -> None:
    prepared = prepared_window(ANGRY, tmp_path)
    live = live_window(ANGRY, voice)
    assert not prepared["text_mask"].any(), "a voice-only source: its German words train nothing"
    assert prepared["audio_mask"].sum() == 31, "a 2 s clip: rows at 0.5, 0.55 ... 2.0 s"
    np.testing.assert_array_equal(live["audio_mask"], prepared["audio_mask"])
    rows = prepared["audio_mask"].astype(bool)
    difference = relative_difference(live["audio"][rows], prepared["audio"][rows])
    assert difference.max() < ROW_TOLERANCE, difference


def test_the_tolerance_is_tighter_than_another_emotion_of_the_same_speaker(voice) -> None:
    angry, neutral = live_window(ANGRY, voice), live_window(NEUTRAL_SAME_SPEAKER, voice)
    rows = angry["audio_mask"].astype(bool) & neutral["audio_mask"].astype(bool)
    assert relative_difference(neutral["audio"][rows], angry["audio"][rows]).min() > 2 * ROW_TOLERANCE


def test_the_live_predictor_scores_a_voice_window_as_training_evaluation_does(tmp_path) -> None:
    # The soft aligner's steps mix every row, so training marks all of a present voice's aligned steps
    # real (trainer/batching.py make_batch); the predictor must feed the same, or live scores differ.
    import main
    from app.predictor import Predictor
    from carat_model import load_checkpoint
    from trainer.datasets import load_prepared_dataset
    from trainer.loop import predict_scores

    checkpoint = Path(__file__).resolve().parents[2] / "models" / "carat_voice.safetensors"
    listing = tmp_path / "one.csv"
    listing.write_text(f"path,labels,modalities\n{EMODB / 'wav' / ANGRY},angry,audio\n", encoding="utf-8")
    steps = ["--unaligned", "--text-steps", STREAMS_WINDOW.text_steps, "--media-steps", STREAMS_WINDOW.media_steps]
    args = ["prepare", listing, "--out", tmp_path / "ds", "--split", "train", "--quiet", *steps]
    assert main.main([str(a) for a in args]) == 0
    train = load_prepared_dataset(tmp_path / "ds").split("train")
    model, _ = load_checkpoint(checkpoint)
    expected = predict_scores(model, train, absent=("text", "visual"))[0]
    window = {k: getattr(train, k)[0] for k in ("text", "text_mask", "visual", "visual_mask", "audio", "audio_mask")}
    predictor = Predictor(checkpoint)
    np.testing.assert_allclose(predictor.predict(window, 0.0).raw_scores, expected, atol=1e-4)
