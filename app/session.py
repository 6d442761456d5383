"""Recorded sessions: one folder per session, readable up to its last flush even after a crash.

    session.json      devices, checkpoint hash, FeatureSpec, start time (written first; completed at close)
    media.mkv         the captured video and audio (PyAV; Matroska clusters are flushed every half second)
    events.jsonl      one EmotionEvent a line, flushed as written
    transcript.jsonl  one TimedWord a line, flushed as written

`SessionWriter` is fed from the engine's threads (thread-safe); media encoding happens on its own thread
(app/session_media.py) so a slow encoder never holds up capture. `SessionReader` reads a finished or
cut-off session.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carat_model.atomic import write_json_atomically

from .events import EmotionEvent, TimedWord
from .packets import AudioPacket, VideoPacket
from .session_media import ErrorCallback, MediaRecorder, cannot_write

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
                self.error = cannot_write(self.path, error)
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
        self._media = MediaRecorder(
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
                self._failed(cannot_write(self.folder / INFO_NAME, error))


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
