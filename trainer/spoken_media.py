"""Media made on the spot, for tests, benchmarks and the sample clip on machines without a camera or
microphone: real speech from espeak-ng and a real face (scikit-image's astronaut) moving slightly, written
with PyAV. (Training's own espeak-ng voices, drawn per clip, are trainer/synthetic_speech.py's.)
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE


def speak(text: str, *, speed_wpm: int = 150) -> np.ndarray:
    """`text` spoken by espeak-ng, as float32 mono 16 kHz samples."""
    import soundfile
    from scipy.signal import resample_poly

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as folder:
        wav = os.path.join(folder, "speech.wav")
        subprocess.run(["espeak-ng", "-s", str(speed_wpm), "-w", wav, text], check=True, capture_output=True)
        samples, rate = soundfile.read(wav, dtype="float32")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if rate == SAMPLE_RATE:
        return samples
    divisor = math.gcd(rate, SAMPLE_RATE)  # espeak-ng writes 22050 Hz: 320/441 by polyphase filtering
    return resample_poly(samples, SAMPLE_RATE // divisor, rate // divisor).astype(np.float32)


def face_frame(index: int, fps: float, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A BGR frame with the astronaut's face, drifting a few pixels (so a tracker has work to do)."""
    import cv2
    from skimage import data

    global _ASTRONAUT
    if _ASTRONAUT is None:
        _ASTRONAUT = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    width, height = size
    side = min(width, height)
    face = cv2.resize(_ASTRONAUT, (side, side), interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 40, np.uint8)
    t = index / fps
    dx = round((width - side) / 2 + 12 * np.sin(2 * np.pi * 0.3 * t))
    dy = round(4 * np.sin(2 * np.pi * 0.2 * t))
    x0, y0 = max(dx, 0), max(dy, 0)
    x1, y1 = min(dx + side, width), min(dy + side, height)
    canvas[y0:y1, x0:x1] = face[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    return canvas


_ASTRONAUT: np.ndarray | None = None


def still_frame(picture: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A BGR frame of `size` with `picture` (grey or BGR) centred on mid-grey, scaled to 80 % of the height."""
    import cv2

    image = np.asarray(picture, np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    width, height = size
    side = int(height * 0.8)
    scale = side / max(image.shape[:2])
    scaled = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    frame = np.full((height, width, 3), 128, np.uint8)
    top, left = (height - scaled.shape[0]) // 2, (width - scaled.shape[1]) // 2
    frame[top : top + scaled.shape[0], left : left + scaled.shape[1]] = scaled
    return frame


@dataclass(frozen=True)
class Utterance:
    text: str
    start: float  # seconds into the clip
    end: float


def write_clip(
    path: str | os.PathLike,
    *,
    duration_s: float,
    speech: list[tuple[float, str]] = (),
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
    video: bool = True,
    audio: bool = True,
    face: bool = True,
    picture: np.ndarray | None = None,
    sound: np.ndarray | None = None,
) -> list[Utterance]:
    """Write a clip (container from the suffix: .mkv, .mp4, .wav ...) with the face and, at each
    (start second, text), that text spoken. Returns where each utterance lies.

    `picture` (an image, grey or BGR) replaces the astronaut with that still face, centred and scaled to
    fill most of the frame's height; `sound` (float32 mono 16 kHz samples) is laid under the clip from
    0 s, e.g. a recorded voice."""
    import av

    path = Path(path)
    total = round(duration_s * SAMPLE_RATE)
    track = np.zeros(total, np.float32)
    if sound is not None:
        laid = np.asarray(sound, np.float32)[:total]
        track[: len(laid)] += laid
    still = None if picture is None else still_frame(picture, size)
    spoken = []
    for start, text in speech:
        samples = speak(text)
        begin = int(start * SAMPLE_RATE)
        piece = samples[: max(0, total - begin)]
        track[begin : begin + len(piece)] += piece * 0.8
        spoken.append(Utterance(text, start, start + len(piece) / SAMPLE_RATE))
    with av.open(str(path), "w") as container:
        video_stream = audio_stream = None
        if video:
            codec = "libx264" if path.suffix.lower() == ".mp4" else "mpeg4"
            video_stream = container.add_stream(codec, rate=Fraction(round(fps * 1000), 1000))
            video_stream.width, video_stream.height = size
            video_stream.pix_fmt = "yuv420p"
            video_stream.bit_rate = 2_000_000
        if audio:
            codec = "aac" if path.suffix.lower() == ".mp4" else "pcm_s16le"
            audio_stream = container.add_stream(codec, rate=SAMPLE_RATE, layout="mono")
        frames = round(duration_s * fps)
        audio_per_frame = SAMPLE_RATE / fps
        written = 0
        for index in range(frames):
            if video_stream is not None:
                if still is not None:
                    image = still
                elif face:
                    image = face_frame(index, fps, size)
                else:
                    image = np.full((size[1], size[0], 3), 40, np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                frame.pts = index
                frame.time_base = Fraction(1000, round(fps * 1000))
                for packet in video_stream.encode(frame):
                    container.mux(packet)
            if audio_stream is not None:
                until = min(total, round((index + 1) * audio_per_frame))
                written = _write_audio(av, container, audio_stream, track, written, until)
        if audio_stream is not None:
            _write_audio(av, container, audio_stream, track, written, total)
        for stream in (video_stream, audio_stream):
            if stream is not None:
                for packet in stream.encode(None):
                    container.mux(packet)
    return spoken


def _write_audio(av, container, stream, track: np.ndarray, start: int, end: int) -> int:
    if end <= start:
        return start
    chunk = (np.clip(track[start:end], -1, 1) * 32767).astype(np.int16)[None, :]
    fmt = "s16"
    if stream.codec_context.name == "aac":
        chunk, fmt = (chunk.astype(np.float32) / 32767), "fltp"
    frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout="mono")
    frame.sample_rate, frame.pts = SAMPLE_RATE, start
    for packet in stream.encode(frame):
        container.mux(packet)
    return end
