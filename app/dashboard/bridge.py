"""EngineBridge: turns the engine's callbacks (called on engine threads) into Qt signals that are
delivered on the UI thread.

Widgets never see an engine thread. Signals emitted from another thread are queued by Qt and run
in the receiver's (UI) thread. Preview frames and replay positions are coalesced: only the newest
one waits to be shown, so a busy UI never builds a backlog of frames (the FlowLimiter idea).
"""

from __future__ import annotations

import threading

from PyQt6.QtCore import QObject, pyqtSignal

from app.control import EngineCallbacks, PreviewFrame
from app.events import EmotionEvent, StreamHealth, TimedWord


class EngineBridge(QObject):
    emotion = pyqtSignal(object)  # EmotionEvent (not "event": QObject.event is a method Qt calls)
    health = pyqtSignal(object)  # StreamHealth
    frame = pyqtSignal(object)  # PreviewFrame, the newest only
    words = pyqtSignal(object)  # list[TimedWord]
    error = pyqtSignal(str)
    position = pyqtSignal(float)
    finished = pyqtSignal()

    # Internal: "a newer frame / position is waiting", emitted at most once until the UI takes it.
    _frame_waiting = pyqtSignal()
    _position_waiting = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._newest_frame: PreviewFrame | None = None
        self._newest_position: float | None = None
        self.frames_replaced = 0  # frames the UI had no time for (replaced by a newer one)
        self._frame_waiting.connect(self._deliver_frame)
        self._position_waiting.connect(self._deliver_position)

    def callbacks(self) -> EngineCallbacks:
        """Callbacks to hand to the engine; safe to call from any thread."""
        return EngineCallbacks(
            on_event=self._on_event,
            on_health=self._on_health,
            on_frame=self._on_frame,
            on_words=self._on_words,
            on_error=self._on_error,
            on_position=self._on_position,
            on_finished=self._on_finished,
        )

    # -- engine threads ---------------------------------------------------------------------

    def _on_event(self, event: EmotionEvent) -> None:
        self.emotion.emit(event)

    def _on_health(self, health: StreamHealth) -> None:
        self.health.emit(health)

    def _on_words(self, words: list[TimedWord]) -> None:
        self.words.emit(list(words))

    def _on_error(self, message: str) -> None:
        self.error.emit(str(message))

    def _on_finished(self) -> None:
        self.finished.emit()

    def _on_frame(self, frame: PreviewFrame) -> None:
        with self._lock:
            already_waiting = self._newest_frame is not None
            if already_waiting:
                self.frames_replaced += 1
            self._newest_frame = frame
        if not already_waiting:
            self._frame_waiting.emit()

    def _on_position(self, seconds: float) -> None:
        with self._lock:
            already_waiting = self._newest_position is not None
            self._newest_position = float(seconds)
        if not already_waiting:
            self._position_waiting.emit()

    # -- UI thread --------------------------------------------------------------------------

    def _deliver_frame(self) -> None:
        with self._lock:
            frame, self._newest_frame = self._newest_frame, None
        if frame is not None:
            self.frame.emit(frame)

    def _deliver_position(self) -> None:
        with self._lock:
            seconds, self._newest_position = self._newest_position, None
        if seconds is not None:
            self.position.emit(seconds)
