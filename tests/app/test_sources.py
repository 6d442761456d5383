"""Sources on real media: VideoCapture on a video file, a real microphone through PulseAudio, PyAV files."""

from __future__ import annotations

import math
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.camera import CameraSource
from app.clock import SessionClock
from app.media_source import MediaFileSource
from app.microphone import MicrophoneSource
from app.packets import AUDIO_BLOCK, AudioPacket, VideoPacket
from app.source_thread import RetryPolicy
from feature_extractors.media import MediaError, probe_media
from trainer.spoken_media import speak


class CollectingSink:
    def __init__(self) -> None:
        self.video: list[VideoPacket] = []
        self.audio: list[AudioPacket] = []
        self.ended = threading.Event()

    def put_video(self, packet: VideoPacket) -> None:
        self.video.append(packet)

    def put_audio(self, packet: AudioPacket) -> None:
        self.audio.append(packet)

    def end_of_stream(self, source: object) -> None:
        self.ended.set()


def run_source(source, seconds: float | None = None, until=None):
    sink, states = CollectingSink(), []
    source.start(SessionClock(), sink, lambda health: states.append((health.state, health.message)))
    if until is not None:
        until(sink, states)
    elif seconds is None:
        assert sink.ended.wait(60), "the source never reached its end"
    else:
        time.sleep(seconds)
    source.request_stop()
    assert source.join(5), "the source thread did not stop"
    return sink, states


def test_camera_source_plays_a_video_file_through_videocapture_at_its_frame_rate(clip: Path) -> None:
    sink, states = run_source(CameraSource(str(clip), width=320, height=240))
    assert len(sink.video) == 180  # 6 s at 30 fps, every frame
    assert sink.video[0].image.shape == (240, 320, 3) and sink.video[0].image.dtype == np.uint8
    gaps = np.diff([p.time for p in sink.video])
    assert 0.025 < np.median(gaps) < 0.045, "a file plays like a camera: one frame per 1/30 s"
    assert [s for s, _ in states][:2] == ["starting", "running"] and states[-1][0] == "stopped"


def test_camera_that_disappears_is_retried_with_backoff_and_recovers(
    short_clip: Path, tmp_path: Path, wait_for
) -> None:
    camera_file = tmp_path / "camera.mkv"
    shutil.copy(short_clip, camera_file)
    source = CameraSource(str(camera_file), loop=True, retry=RetryPolicy(first_delay_s=0.2, max_delay_s=0.4))
    sink, states = CollectingSink(), []
    source.start(SessionClock(), sink, lambda health: states.append((health.state, health.message)))
    try:
        assert wait_for(lambda: len(sink.video) > 10, 10)
        camera_file.rename(tmp_path / "unplugged.mkv")  # reopening at the loop point now fails
        assert wait_for(lambda: any(s == "retrying" for s, _ in states), 10), states
        message = next(m for s, m in states if s == "retrying")
        assert "camera.mkv" in message and "retry" in message
        frames_while_gone = len(sink.video)
        (tmp_path / "unplugged.mkv").rename(camera_file)
        assert wait_for(lambda: len(sink.video) > frames_while_gone + 10, 10), "frames did not come back"
        assert states[-1][0] == "running"
    finally:
        source.request_stop()
        assert source.join(5)


def test_microphone_source_records_real_speech_through_pulseaudio(
    pulse_server, tmp_path: Path, wait_for
) -> None:
    import soundfile

    wav = tmp_path / "speech.wav"
    speech = speak("hello, this is the microphone")
    soundfile.write(wav, speech, 16000)
    source = MicrophoneSource("default")
    sink, states = CollectingSink(), []
    source.start(SessionClock(), sink, lambda health: states.append((health.state, health.message)))
    try:
        assert wait_for(lambda: len(sink.audio) > 5, 15), f"no audio from the microphone: {states}"
        player = pulse_server.play(wav)
        player.join(30)
        time.sleep(0.5)
    finally:
        source.request_stop()
        assert source.join(5)
    samples = np.concatenate([p.samples for p in sink.audio])
    assert all(len(p.samples) == AUDIO_BLOCK for p in sink.audio)
    assert np.abs(samples).max() > 0.1, "the speech played into the sink did not reach the microphone"

    def loud_span_s(signal: np.ndarray) -> float:
        loud = np.flatnonzero(np.abs(signal) > 0.05)
        return (loud[-1] - loud[0]) / 16000

    assert loud_span_s(samples) > 0.9 * loud_span_s(speech), "the whole sentence arrived, not a piece"
    times = np.array([p.time for p in sink.audio])
    assert np.allclose(np.diff(times), AUDIO_BLOCK / 16000, atol=0.3), "packet times follow the sample count"


def test_media_file_source_decodes_video_and_audio_with_media_timestamps(clip: Path) -> None:
    sink, _ = run_source(MediaFileSource(clip, realtime=False))
    assert len(sink.video) == 180
    assert sink.video[0].time == pytest.approx(0.0, abs=1e-6)
    assert sink.video[-1].time == pytest.approx(179 / 30, abs=1e-3)
    audio_s = sum(len(p.samples) for p in sink.audio) / 16000
    assert audio_s == pytest.approx(6.0, abs=0.05)
    assert np.allclose(np.diff([p.time for p in sink.audio]), AUDIO_BLOCK / 16000)


def test_real_time_media_source_paces_by_file_timestamps(short_clip: Path) -> None:
    began = time.monotonic()
    sink, _ = run_source(MediaFileSource(short_clip, realtime=True))
    assert time.monotonic() - began >= 1.8  # a 2 s file takes about 2 s
    assert len(sink.video) == 60


def test_corrupt_media_file_gives_a_clear_error(tmp_path: Path) -> None:
    corrupt = tmp_path / "holiday.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError, match=r"holiday\.mp4 is not a readable media file.*corrupt, truncated"):
        probe_media(corrupt)
    with pytest.raises(MediaError, match="no media file at"):
        MediaFileSource(tmp_path / "missing.mkv")


def test_truncated_mp4_gives_a_clear_error(tmp_path: Path) -> None:
    from trainer.spoken_media import write_clip

    whole = tmp_path / "whole.mp4"
    write_clip(whole, duration_s=1.0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(MediaError, match="cut.mp4 is not a readable media file"):
        MediaFileSource(cut)


def test_truncated_matroska_file_plays_up_to_where_it_was_cut(clip: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    sink, states = run_source(MediaFileSource(cut, realtime=False))
    assert 30 < len(sink.video) < 180, "about half the frames, and no crash"
    assert states[-1][0] == "stopped"


def test_resampling_a_48k_device_keeps_the_tone() -> None:
    from app.microphone import DeviceAudio

    tone = np.sin(2 * np.pi * 440 * np.arange(2 * 48000) / 48000).astype(np.float32)
    audio = DeviceAudio(48000)
    packets = [p for k in range(0, len(tone), 960) for p in audio.push(tone[k : k + 960], arrived=(k + 960) / 48000)]
    out = np.concatenate([p.samples for p in packets])[-16000:]  # the last second, past the filter's start
    assert len(out) == 16000 and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 440, "still 440 Hz after going to 16 kHz"


def test_devices_command_lists_the_pulseaudio_microphone(pulse_server, capsys) -> None:
    import main

    assert main.main(["devices"]) == 0
    printed = capsys.readouterr().out
    microphones = printed.split("microphones:")[1]
    assert "pulse" in microphones.lower() or "default" in microphones.lower(), printed
    assert "cameras:" in printed


def test_missing_microphone_is_reported_and_retried_with_what_to_do(wait_for) -> None:
    source = MicrophoneSource("no-such-microphone", retry=RetryPolicy(first_delay_s=0.1, max_delay_s=0.2))
    states = []
    source.start(
        SessionClock(), CollectingSink(), lambda health: states.append((health.state, health.message))
    )
    try:
        assert wait_for(lambda: sum(s == "retrying" for s, _ in states) >= 2, 10), states
    finally:
        source.request_stop()
        assert source.join(5)
    message = next(m for s, m in states if s == "retrying")
    assert "no microphone 'no-such-microphone'" in message and "main.py devices" in message


def _off_tone_energy(samples: np.ndarray, rate: int, hz: float) -> float:
    """Energy outside +-5 Hz of the tone, as a fraction of all (a Hann window keeps leakage low)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[np.abs(freqs - hz) > 5].sum() / spectrum.sum())


def _resampled_alone(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """One block resampled on its own (polyphase), as the microphone once did block by block."""
    from scipy.signal import resample_poly

    divisor = math.gcd(from_rate, to_rate)
    return resample_poly(samples, to_rate // divisor, from_rate // divisor).astype(np.float32)


def test_a_48k_microphone_is_resampled_without_clicks_at_block_edges() -> None:
    from app.microphone import DeviceAudio
    from app.packets import SAMPLE_RATE

    rate, block = 48000, 960  # a 48 kHz device delivering 20 ms blocks
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * rate) / rate)).astype(np.float32)
    audio = DeviceAudio(rate)
    packets = []
    for k in range(0, len(tone), block):
        packets += audio.push(tone[k : k + block], arrived=(k + block) / rate)
    streamed = np.concatenate([p.samples for p in packets])[SAMPLE_RATE // 2 :]  # past the filter's start
    assert all(len(p.samples) == AUDIO_BLOCK for p in packets)
    assert np.diff([p.time for p in packets]) == pytest.approx(AUDIO_BLOCK / SAMPLE_RATE)
    # Each block resampled on its own (the old way) leaves a 50 Hz click train; the stream does not.
    per_block = np.concatenate(
        [_resampled_alone(tone[k : k + block], rate, SAMPLE_RATE) for k in range(0, len(tone), block)]
    )
    assert _off_tone_energy(per_block[SAMPLE_RATE // 2 :], SAMPLE_RATE, 440) > 1e-4
    assert _off_tone_energy(streamed, SAMPLE_RATE, 440) < 1e-6
