"""Recorded sessions: one folder per session, readable up to its last flush even after a crash.

    session.json      devices, checkpoint hash, FeatureSpec, start time (written first; completed at close)
    media.mkv         the captured video and audio (PyAV; Matroska clusters are flushed every half second)
    events.jsonl      one EmotionEvent a line, flushed as written
    transcript.jsonl  one TimedWord a line, flushed as written

`SessionWriter` is fed from the engine's threads (thread-safe); media encoding happens on its own thread
so a slow encoder never holds up capture. `SessionReader` reads a finished or cut-off session.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from carat_model.atomic import write_json_atomically

from .events import EmotionEvent, TimedWord
from .packets import SAMPLE_RATE, AudioPacket, VideoPacket

FORMAT = "carat-live-session"
FORMAT_VERSION = 1
MEDIA_NAME, EVENTS_NAME, TRANSCRIPT_NAME, INFO_NAME = (
    "media.mkv",
    "events.jsonl",
    "transcript.jsonl",
    "session.json",
)


class SessionError(ValueError):
    """A session folder that cannot be read, with what to do."""


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cannot_write(path: Path, error: OSError) -> str:
    return (
        f"recording stopped: cannot write {path} ({error.strerror or error}); the session is readable up to "
        "this point. Free some disk space (or record to another disk) and record again."
    )


ErrorCallback = Callable[[str], None]


class _JsonLines:
    """Append-only JSON lines, each written to the OS in full as soon as made (a crash keeps them). A
    write that fails (a full disk) is cut back to the last whole line, and the file takes no more."""

    def __init__(self, path: Path, on_error: ErrorCallback) -> None:
        self.path = path
        self._handle = open(path, "ab", buffering=0)
        self._whole = self._handle.tell()  # the end of the last whole line
        self._on_error = on_error
        self._lock = threading.Lock()
        self.error: str | None = None

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            if self._handle.closed or self.error is not None:
                return
            try:
                view = memoryview(line)
                while view:  # an unbuffered write may take part of the line
                    view = view[self._handle.write(view) :]
                self._whole += len(line)
                return
            except OSError as error:
                self.error = _cannot_write(self.path, error)
                try:
                    os.ftruncate(self._handle.fileno(), self._whole)  # no half line at the end
                except OSError:
                    pass
        self._on_error(self.error)

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                try:
                    os.fsync(self._handle.fileno())
                except OSError:
                    pass
                self._handle.close()


class SessionWriter:
    """Records one session into `folder` (created; must be empty or new)."""

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        devices: dict[str, Any],
        feature_spec: dict[str, Any] | None,
        checkpoint: str | os.PathLike | None = None,
        video_size: tuple[int, int] | None = (640, 480),
        video_fps: float = 30.0,
        audio: bool = True,
        settings: dict[str, Any] | None = None,
        video_queue: int = 90,
        on_error: ErrorCallback | None = None,
    ) -> None:
        """`on_error(message)`: told once, from the thread that met it, when a file can no longer be
        written (a full disk); the rest of the session goes on being shown, and close() still works."""
        self.folder = Path(folder)
        if self.folder.exists() and any(self.folder.iterdir()):
            raise SessionError(
                f"{self.folder} is not empty; record into a new folder so no session is overwritten"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        self.info: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "started_at": _dt.datetime.fromtimestamp(self.started_at, _dt.UTC).isoformat(),
            "started_at_unix": self.started_at,
            "devices": devices,
            "checkpoint": str(checkpoint) if checkpoint else None,
            "checkpoint_sha256": file_sha256(checkpoint) if checkpoint else None,
            "feature_spec": feature_spec,
            "settings": settings or {},
            "media": {
                "video_size": list(video_size) if video_size else None,
                "video_fps": video_fps,
                "audio": audio,
            },
            "complete": False,
        }
        write_json_atomically(self.folder / INFO_NAME, self.info)
        self._errors: list[str] = []
        self._error_lock = threading.Lock()
        self._on_error = on_error or (lambda _message: None)
        self._events = _JsonLines(self.folder / EVENTS_NAME, self._failed)
        self._transcript = _JsonLines(self.folder / TRANSCRIPT_NAME, self._failed)
        self._media = _MediaRecorder(
            self.folder / MEDIA_NAME, video_size, video_fps, audio, video_queue, on_error=self._failed
        )
        self.event_count = 0
        self.word_count = 0
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def error(self) -> str | None:
        """The first thing that could not be recorded, if any."""
        return self._errors[0] if self._errors else None

    def _failed(self, message: str) -> None:
        with self._error_lock:
            first = not self._errors
            self._errors.append(message)
        if first:
            self._on_error(message)

    @property
    def frames_not_recorded(self) -> int:
        return self._media.frames_dropped

    def write_video(self, packet: VideoPacket) -> None:
        self._media.put(packet)

    def write_audio(self, packet: AudioPacket) -> None:
        self._media.put(packet)

    def write_event(self, event: EmotionEvent) -> None:
        self._events.write(event.to_json())
        self.event_count += 1

    def write_words(self, words: list[TimedWord]) -> None:
        for word in words:
            self._transcript.write(
                {"text": word.text, "start": word.start, "end": word.end, "probability": word.probability}
            )
            self.word_count += 1

    def close(self) -> None:
        """Finish every file and mark the session complete. Safe to call twice, from two threads; never
        raises for a full disk (the session then stays readable as it was, marked incomplete)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._media.close()
            self._events.close()
            self._transcript.close()
            self.info.update(
                complete=True,
                ended_at_unix=time.time(),
                events=self.event_count,
                words=self.word_count,
                frames_not_recorded=self._media.frames_dropped,
                media_error=self._media.error,
                error=self.error,
            )
            try:
                write_json_atomically(self.folder / INFO_NAME, self.info)
            except OSError as error:
                self._failed(_cannot_write(self.folder / INFO_NAME, error))


class _MediaRecorder:
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


@dataclass
class SessionReader:
    """A recorded session. Lines cut off by a crash (the last, half-written one) are skipped."""

    folder: Path
    info: dict[str, Any]
    events: list[EmotionEvent]
    words: list[TimedWord]
    damaged_lines: int

    @property
    def media_path(self) -> Path:
        return self.folder / MEDIA_NAME

    @property
    def complete(self) -> bool:
        return bool(self.info.get("complete"))

    @classmethod
    def open(cls, folder: str | os.PathLike) -> SessionReader:
        folder = Path(folder)
        info_path = folder / INFO_NAME
        if not info_path.is_file():
            raise SessionError(
                f"{folder} is not a session folder (no {INFO_NAME}); pick a folder made by --record"
            )
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise SessionError(
                f"{info_path} is damaged ({error}); the session's events can still be read"
            ) from error
        if info.get("format") != FORMAT or info.get("format_version", 0) > FORMAT_VERSION:
            raise SessionError(
                f"{folder} holds format {info.get('format')} v{info.get('format_version')}; "
                f"this version reads "
                f"{FORMAT} up to v{FORMAT_VERSION}: update CARAT Live"
            )
        events, bad_events = _read_lines(folder / EVENTS_NAME)
        words, bad_words = _read_lines(folder / TRANSCRIPT_NAME)
        return cls(
            folder=folder,
            info=info,
            events=[EmotionEvent.from_json(e) for e in events],
            words=[TimedWord(**w) for w in words],
            damaged_lines=bad_events + bad_words,
        )


def is_session_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / INFO_NAME).is_file()


def _read_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    if not path.is_file():
        return [], 0
    records, damaged = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            damaged += 1
    return records, damaged


__all__ = [
    "SessionError",
    "SessionReader",
    "SessionWriter",
    "file_sha256",
    "is_session_folder",
]
