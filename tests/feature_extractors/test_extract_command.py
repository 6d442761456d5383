"""`main.py extract`: an image, an audio file and a video with sound, end to end through real files."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import soundfile
from matplotlib.image import imread

from feature_extractors.acoustic import SAMPLE_RATE
from feature_extractors.spec import FeatureSpec, default_feature_spec
from main import main

FPS = 10


def write_video(path: Path, rgb: np.ndarray, speech: np.ndarray, face_frames: int, blank_frames: int) -> None:
    """An MKV: `face_frames` frames of the photo, then `blank_frames` grey frames, with the speech as sound."""
    picture = cv2.resize(rgb, (320, 320))
    blank = np.full_like(picture, 120)
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=FPS)  # lossless: every frame is the photo
        video.width, video.height, video.pix_fmt = 320, 320, "yuv444p"
        audio = container.add_stream("pcm_s16le", rate=SAMPLE_RATE)
        audio.layout = "mono"
        for index in range(face_frames + blank_frames):
            frame = av.VideoFrame.from_ndarray(picture if index < face_frames else blank, format="rgb24")
            container.mux(video.encode(frame))
        block = SAMPLE_RATE // 10
        for start in range(0, len(speech), block):
            pcm = (speech[start : start + block] * 32767).astype(np.int16)[None]
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            container.mux(audio.encode(frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))


def test_extract_on_a_video_with_sound_writes_every_stream(
    tmp_path, astronaut_rgb, speech, spoken_words, capsys
):
    video = tmp_path / "talk.mkv"
    frames = int(len(speech) / SAMPLE_RATE * FPS)
    write_video(video, astronaut_rgb, speech, face_frames=frames - 10, blank_frames=10)
    out = tmp_path / "features.npz"
    assert main(["extract", str(video), "--out", str(out), "--plot", str(tmp_path / "streams.png")]) == 0
    printed = capsys.readouterr().out
    assert f"video frames: {frames}, with a face: {frames - 10}" in printed
    data = np.load(out)
    spec = FeatureSpec.from_dict(json.loads(str(data["feature_spec"])))
    assert spec == default_feature_spec()
    assert data["visual_values"].shape == (frames - 10, spec.visual.dim)
    assert data["visual_boxes"].shape == (frames - 10, 4)
    np.testing.assert_allclose(np.diff(data["visual_times"][:, 0]), 1 / FPS, atol=1e-3)
    assert data["visual_times"][-1, 0] < (frames - 10) / FPS  # no face rows for the grey frames at the end
    assert abs(len(data["acoustic_values"]) - len(speech) / SAMPLE_RATE * 100) < 10
    assert abs(len(data["audio_values"]) - len(speech) / SAMPLE_RATE * 20) < 15, "20 voice rows a second"
    assert data["audio_values"].shape[1] == spec.audio.dim
    heard = " ".join(data["words"]).lower()
    assert sum(word in heard for word in spoken_words) >= 0.7 * len(spoken_words)
    assert data["text_values"].shape == (len(data["words"]), spec.text.dim)
    np.testing.assert_allclose(data["text_times"], data["word_times"])
    assert f"words: {len(data['words'])}" in printed
    for key in ("visual_values", "audio_values", "text_values"):
        assert np.isfinite(data[key]).all()
    plot = imread(tmp_path / "streams.png")
    assert plot.shape[:2] == (700, 1100)  # three panels, 11 x 7 inches at 100 dpi
    assert plot[:, :, :3].std() > 0.05  # something was drawn


def test_extract_on_an_image_gives_one_face_and_no_sound(tmp_path, astronaut_rgb, capsys):
    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    assert main(["extract", str(image)]) == 0
    data = np.load(tmp_path / "astronaut.png.features.npz")
    assert data["visual_values"].shape == (1, default_feature_spec().visual.dim)
    assert len(data["audio_values"]) == 0 and len(data["words"]) == 0
    assert "video frames: 1, with a face: 1" in capsys.readouterr().out


def test_extract_on_a_silent_audio_file_gives_frames_but_no_words(tmp_path, capsys):
    audio = tmp_path / "silence.wav"
    soundfile.write(audio, np.zeros(2 * 44100, np.float32), 44100)  # resampled to 16 kHz on the way in
    assert main(["extract", str(audio), "--out", str(tmp_path / "s.npz")]) == 0
    data = np.load(tmp_path / "s.npz")
    assert abs(len(data["acoustic_values"]) - 200) < 10 and len(data["words"]) == 0
    assert len(data["audio_values"]) == 0, "digital silence has no voice rows"
    assert len(data["visual_values"]) == 0
    assert "words: 0" in capsys.readouterr().out


@pytest.mark.parametrize("name, content", [("broken.mp4", b"\x00\x01 not a video"), ("broken.png", b"nope")])
def test_extract_on_a_corrupt_file_says_so(tmp_path, capsys, name, content):
    media = tmp_path / name
    media.write_bytes(content)
    assert main(["extract", str(media)]) == 2
    message = capsys.readouterr().out
    assert name in message and ("not a readable" in message)
    assert not (tmp_path / f"{name}.features.npz").exists()


def test_an_extractor_that_breaks_exits_non_zero_saying_so_in_the_last_line(
    tmp_path, astronaut_rgb, capsys, monkeypatch
):
    from feature_extractors.visual import FaceExtractor

    def broken(self, frame, *, rgb=False):
        raise RuntimeError("injected face failure")

    monkeypatch.setattr(FaceExtractor, "extract", broken)
    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    assert main(["extract", str(image)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("error:") and "astronaut.png" in last and "injected face failure" in last
    assert not (tmp_path / "astronaut.png.features.npz").exists()


def test_extract_on_a_missing_file_says_so(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "nothing.mkv")]) == 2
    assert "does not exist" in capsys.readouterr().out


def test_every_frame_of_a_still_video_gives_nearly_the_same_face_features(tmp_path, astronaut_rgb, speech):
    video = tmp_path / "still.mkv"
    write_video(video, astronaut_rgb, speech[:SAMPLE_RATE], face_frames=15, blank_frames=0)
    assert main(["extract", str(video), "--out", str(tmp_path / "f.npz")]) == 0
    values = np.load(tmp_path / "f.npz")["visual_values"]
    assert len(values) == 15
    # Tracking (VIDEO mode) takes each frame's face region from the last frame's landmarks, so on a still
    # picture the region settles over the first frames (steps up to 0.05 where features span 0..6).
    assert np.abs(np.diff(values, axis=0)).max() < 0.1
    assert np.abs(values - values.mean(axis=0)).max() < 0.1


def test_extract_on_audio_with_nan_and_inf_samples_silences_them_and_says_how_many(tmp_path, speech, capsys):
    samples = speech.astype(np.float32).copy()
    samples[1000:1100] = np.nan
    samples[5000:5050] = np.inf
    media = tmp_path / "float.wav"
    soundfile.write(media, samples, SAMPLE_RATE, subtype="FLOAT")
    out = tmp_path / "float.npz"
    assert main(["extract", str(media), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "150 audio samples" in printed and "NaN or infinite" in printed and "silence" in printed
    data = np.load(out)
    assert len(data["audio_values"]) > 0 and np.isfinite(data["audio_values"]).all()


def test_extract_on_a_cut_off_video_keeps_what_decoded_and_says_where_it_stopped(
    tmp_path, astronaut_rgb, speech, capsys
):
    whole = tmp_path / "whole.mkv"
    frames = int(len(speech) / SAMPLE_RATE * FPS)
    write_video(whole, astronaut_rgb, speech, face_frames=frames, blank_frames=0)
    cut = tmp_path / "cut.mkv"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    out = tmp_path / "cut.npz"
    assert main(["extract", str(cut), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    kept = np.load(out)
    assert 0 < len(kept["visual_values"]) < frames, "the frames before the cut, not all of them"
    if "warning:" in printed:  # FFmpeg may end a cut file quietly or with a read error: both are fine
        assert "cut.mkv could not be decoded past" in printed
