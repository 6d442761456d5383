"""Reading media files with PyAV: what a file holds, and its frames decoded (video as BGR images,
sound as 16 kHz mono float32), for `extract`, `prepare` and the engine's media-file source alike.

A file that cannot be read at all raises `MediaError` with a message saying what to do; a file that
fails part-way (damaged, cut off) raises `MediaDecodeError` from the frames iterator, so that the caller
can keep what decoded so far (`cut_off_message` says so in the same words everywhere).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from .acoustic import SAMPLE_RATE


class MediaError(ValueError):
    """A media file that cannot be read at all: retrying will not help."""


class MediaDecodeError(MediaError):
    """Decoding stopped part-way through the file; `cause` is PyAV's error."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        super().__init__(media_error_message(path, cause))
        self.cause = cause


@dataclass(frozen=True)
class MediaInfo:
    has_video: bool
    has_audio: bool
    duration: float | None
    fps: float | None
    width: int | None
    height: int | None


def media_error_message(path: str | os.PathLike, error: BaseException) -> str:
    return (
        f"{path} is not a readable media file ({error}). It may be corrupt, truncated or not a video; "
        "check that it plays in a media player, or record it again."
    )


def cut_off_message(path: str | os.PathLike, seconds: float, error: BaseException) -> str:
    """A file read only up to `seconds`: what was used, and why the rest was not."""
    return (
        f"{path} could not be decoded past {seconds:.1f} s ({error}); it is damaged or was cut off. "
        "Everything before that point was used."
    )


def probe_media(path: str | os.PathLike) -> MediaInfo:
    """What a media file holds, or MediaError saying why it cannot be read."""
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"no media file at {path}; check the path")
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise MediaError(neither_message(path))
            duration = container.duration / 1e6 if container.duration else None
            if duration is None:
                stream = video or audio
                if stream.duration and stream.time_base:
                    duration = float(stream.duration * stream.time_base)
            fps = float(video.average_rate) if video is not None and video.average_rate else None
            return MediaInfo(
                has_video=video is not None,
                has_audio=audio is not None,
                duration=duration,
                fps=fps,
                width=video.codec_context.width if video is not None else None,
                height=video.codec_context.height if video is not None else None,
            )
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise MediaError(media_error_message(path, error)) from error


def neither_message(path: str | os.PathLike) -> str:
    return f"{path} holds neither video nor audio; pick a video or audio file"


@dataclass(frozen=True)
class DecodedFrame:
    """One decoded frame: a video image or a piece of sound, at the file's own time (None if unknown)."""

    time: float | None
    image: np.ndarray | None = None  # H x W x 3, BGR, uint8
    samples: np.ndarray | None = None  # float32 mono at SAMPLE_RATE (may be empty, or hold NaN/inf)

    @property
    def is_video(self) -> bool:
        return self.image is not None


class MediaReader:
    """An open media file and its first video and first audio stream (those asked for).

    `frames(start_at)` decodes from a point (the start, or a seek) until the end; the one PyAV decode
    path of the project. Use as a context manager, or call `close`.
    """

    def __init__(self, path: str | os.PathLike, *, video: bool = True, audio: bool = True) -> None:
        import av

        self.path = Path(path)
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
            raise MediaError(media_error_message(self.path, error)) from error
        streams = self._container.streams
        self.video = streams.video[0] if video and streams.video else None
        self.audio = streams.audio[0] if audio and streams.audio else None
        self._decoded_before = False

    @property
    def frame_rate(self) -> float | None:
        return float(self.video.average_rate) if self.video is not None and self.video.average_rate else None

    def frames(self, start_at: float = 0.0, *, flush_audio: bool = False) -> Iterator[DecodedFrame]:
        """Frames from `start_at` seconds (a seek lands on the key frame before it; the caller skips to
        the time it wants). `flush_audio`: give out the resampler's last samples at the end (whole-file
        decoding; a streaming reader that may seek leaves them)."""
        import av

        container = self._container
        if start_at > 0 or self._decoded_before:
            container.seek(int(max(start_at, 0.0) / av.time_base), backward=True, any_frame=False)
        self._decoded_before = True
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        streams = [s for s in (self.video, self.audio) if s is not None]
        decoded = container.decode(*streams)
        while True:
            try:
                frame = next(decoded)
            except StopIteration:
                break
            except av.error.FFmpegError as error:
                raise MediaDecodeError(self.path, error) from error
            time = float(frame.time) if frame.time is not None else None
            if isinstance(frame, av.VideoFrame):
                yield DecodedFrame(time, image=frame.to_ndarray(format="bgr24"))
            else:
                yield DecodedFrame(time, samples=_mono(resampler.resample(frame)))
        if flush_audio and self.audio is not None:
            yield DecodedFrame(None, samples=_mono(resampler.resample(None)))

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _mono(resampled: list) -> np.ndarray:
    if not resampled:
        return np.zeros(0, np.float32)
    return np.concatenate([r.to_ndarray().reshape(-1) for r in resampled]).astype(np.float32, copy=False)
