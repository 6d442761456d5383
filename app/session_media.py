"""A session's media.mkv, encoded on its own thread so a slow encoder never holds up capture (app/session.py
writes the rest of the session folder)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .packets import SAMPLE_RATE, AudioPacket, VideoPacket

ErrorCallback = Callable[[str], None]


def cannot_write(path: Path, error: OSError) -> str:
    return (
        f"recording stopped: cannot write {path} ({error.strerror or error}); the session is readable up to "
        "this point. Free some disk space (or record to another disk) and record again."
    )


class MediaRecorder:
    """Encodes packets into media.mkv on its own thread. Audio is never dropped; video frames are
    dropped (and counted) only if the encoder falls a few seconds behind."""

    def __init__(
        self,
        path: Path,
        video_size: tuple[int, int] | None,
        fps: float,
        audio: bool,
        video_queue: int,
        on_error: ErrorCallback,
    ) -> None:
        import av

        self.path, self._on_error = path, on_error

        # Matroska is written as it goes: clusters of at most half a second, flushed at once, so a
        # killed process leaves a file readable up to the last cluster.
        self._container = av.open(
            str(path), "w", format="matroska", options={"cluster_time_limit": "500", "flush_packets": "1"}
        )
        self._video = self._audio = None
        if video_size is not None:
            self._video = self._container.add_stream("mpeg4", rate=int(round(fps)))
            self._video.width, self._video.height = video_size
            self._video.pix_fmt = "yuv420p"
            self._video.bit_rate = 2_000_000
            # Millisecond ticks in the encoder too: a camera's jittery frame times must not round
            # onto the same 1/fps tick (the encoder refuses two frames with one timestamp).
            self._video.time_base = Fraction(1, 1000)
            self._video.codec_context.time_base = Fraction(1, 1000)
        if audio:
            self._audio = self._container.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono")
        self._queue: queue.Queue = queue.Queue()
        self._video_waiting = 0
        self._video_limit = video_queue
        self._lock = threading.Lock()
        self.frames_dropped = 0
        self.error: str | None = None
        self._origin: float | None = None
        self._last_video_pts = -1
        self._next_audio_pts: int | None = None
        self._thread = threading.Thread(target=self._run, name="session-media", daemon=True)
        self._thread.start()

    def put(self, packet: VideoPacket | AudioPacket) -> None:
        if isinstance(packet, VideoPacket):
            if self._video is None:
                return
            with self._lock:
                if self._video_waiting >= self._video_limit:
                    self.frames_dropped += 1
                    return
                self._video_waiting += 1
        elif self._audio is None:
            return
        self._queue.put(packet)

    def _run(self) -> None:
        import av

        while True:
            packet = self._queue.get()
            if packet is None:
                break
            if self.error is not None:
                continue
            try:
                if self._origin is None:
                    self._origin = packet.time  # media time 0 = the first packet recorded
                if isinstance(packet, VideoPacket):
                    with self._lock:
                        self._video_waiting -= 1
                    self._encode_video(av, packet)
                else:
                    self._encode_audio(av, packet)
            except Exception as error:  # noqa: BLE001 - keep events and transcript going; say so now
                kind = "video" if isinstance(packet, VideoPacket) else "audio"
                self.error = f"media recording stopped at {packet.time:.2f} s ({kind}): {error}"
                advice = (
                    "Free some disk space (or record to another disk) and record again"
                    if isinstance(error, OSError)
                    else "Please report it"
                )
                self._on_error(f"{self.error}; what was recorded before stays readable. {advice}.")
        try:
            for stream in (self._video, self._audio):
                if stream is not None and self.error is None:
                    for encoded in stream.encode(None):
                        self._container.mux(encoded)
        except Exception as error:  # noqa: BLE001 - a full disk at the very end
            self.error = self.error or f"media recording could not be finished: {error}"
            self._on_error(self.error)
        finally:
            try:
                self._container.close()
            except Exception as error:  # noqa: BLE001
                self.error = self.error or f"media file could not be closed: {error}"
                self._on_error(self.error)

    def _encode_video(self, av: Any, packet: VideoPacket) -> None:
        pts = int(round((packet.time - self._origin) * 1000))
        if pts <= self._last_video_pts:
            return  # two frames in the same millisecond: keep the first
        self._last_video_pts = pts
        image = packet.image
        if (image.shape[1], image.shape[0]) != (self._video.width, self._video.height):
            import cv2

            image = cv2.resize(image, (self._video.width, self._video.height))
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame.pts, frame.time_base = pts, Fraction(1, 1000)
        for encoded in self._video.encode(frame):
            self._container.mux(encoded)

    def _encode_audio(self, av: Any, packet: AudioPacket) -> None:
        pts = int(round((packet.time - self._origin) * SAMPLE_RATE))
        if self._next_audio_pts is not None and pts < self._next_audio_pts:
            pts = self._next_audio_pts  # keep audio contiguous; packet times jitter by a sample at most
        samples = np.clip(packet.samples, -1.0, 1.0)
        frame = av.AudioFrame.from_ndarray(
            (samples * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = SAMPLE_RATE, pts
        self._next_audio_pts = pts + len(samples)
        for encoded in self._audio.encode(frame):
            self._container.mux(encoded)

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
