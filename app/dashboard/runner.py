"""EngineRunner: builds, starts and stops engines off the UI thread, and hands their callbacks to the
UI as Qt signals.

Building an engine loads models and opens devices (seconds), and `EngineControl.stop` waits for
threads: both run on short-lived helper threads so the window never freezes. Each run gets its own
EngineBridge; a stopped run's bridge is silenced so a late callback never lands in the next run.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

from app.control import EngineCallbacks, EngineControl, EngineSettings

from .bridge import EngineBridge

EngineFactory = Callable[[EngineSettings, EngineCallbacks], EngineControl]

IDLE, STARTING, RUNNING, STOPPING = "idle", "starting", "running", "stopping"


class EngineRunner(QObject):
    # The current run's engine signals (see EngineBridge).
    emotion = pyqtSignal(object)
    health = pyqtSignal(object)
    frame = pyqtSignal(object)
    words = pyqtSignal(object)
    error = pyqtSignal(str)
    position = pyqtSignal(float)
    finished = pyqtSignal()
    state_changed = pyqtSignal(str)

    _launched = pyqtSignal(object)  # run token
    _launch_failed = pyqtSignal(object, str)  # run token, message
    _stopped = pyqtSignal(object)  # run token

    def __init__(self, factory: EngineFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._lock = threading.Lock()
        self._token: object | None = None  # identifies the current run
        self._engine: EngineControl | None = None
        self._bridge: EngineBridge | None = None
        self._helpers: list[threading.Thread] = []
        self.state = IDLE
        self.settings: EngineSettings | None = None
        self._launched.connect(self._on_launched)
        self._launch_failed.connect(self._on_launch_failed)
        self._stopped.connect(self._on_stopped)

    @property
    def engine(self) -> EngineControl | None:
        """The running engine, or None while none is running (commands then do nothing)."""
        return self._engine if self.state == RUNNING else None

    @property
    def frames_replaced(self) -> int:
        """Preview frames of the current run that the UI had no time to draw."""
        bridge = self._bridge
        return bridge.frames_replaced if bridge is not None else 0

    def start(self, settings: EngineSettings) -> None:
        self.stop()
        bridge = EngineBridge(self)
        for name in ("emotion", "health", "frame", "words", "error", "position", "finished"):
            getattr(bridge, name).connect(getattr(self, name))
        token = object()
        with self._lock:
            self._token, self._bridge = token, bridge
        self.settings = settings
        self._set_state(STARTING)
        self._spawn(self._launch, settings, bridge.callbacks(), token, name="engine-launch")

    def stop(self, *, wait: bool = False) -> None:
        """Stop the current run. With `wait`, return only when every engine thread is gone
        (closing the window); otherwise stop in the background."""
        with self._lock:
            token, engine, bridge = self._token, self._engine, self._bridge
            self._token, self._engine, self._bridge = None, None, None
        if bridge is not None:
            bridge.blockSignals(True)  # late callbacks of this run are dropped at the source
        if token is None:
            return
        self._set_state(STOPPING)
        if wait:
            self._stop_engine(engine, token)
            for helper in self._helpers:
                helper.join()
            self._helpers.clear()
            self._set_state(IDLE)
        else:
            self._spawn(self._stop_engine, engine, token, name="engine-stop")

    # -- helper threads -----------------------------------------------------------------------

    def _launch(self, settings: EngineSettings, callbacks: EngineCallbacks, token: object) -> None:
        try:
            engine = self._factory(settings, callbacks)
            with self._lock:
                if self._token is not token:
                    return  # stopped while it was being built: never started
                # start() returns at once (the protocol), so holding the lock is brief; it makes
                # stop() either see this engine or find the run already cancelled.
                engine.start()
                self._engine = engine
        except Exception as error:  # noqa: BLE001 - every failure becomes a message in the window
            self._launch_failed.emit(token, _explain(error))
            return
        self._launched.emit(token)

    def _stop_engine(self, engine: EngineControl | None, token: object) -> None:
        try:
            if engine is not None:
                engine.stop()
        except Exception as error:  # noqa: BLE001
            self.error.emit(f"The engine did not stop cleanly: {_explain(error)}")
        self._stopped.emit(token)

    def _spawn(self, target: Callable[..., None], *args: object, name: str) -> None:
        self._helpers = [h for h in self._helpers if h.is_alive()]
        helper = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._helpers.append(helper)
        helper.start()

    # -- UI thread ----------------------------------------------------------------------------

    def _on_launched(self, token: object) -> None:
        if token is self._token:
            self._set_state(RUNNING)

    def _on_launch_failed(self, token: object, message: str) -> None:
        if token is not self._token:
            return
        with self._lock:
            self._token, self._bridge = None, None
        self._set_state(IDLE)
        self.error.emit(message)

    def _on_stopped(self, _token: object) -> None:
        if self._token is None and self.state == STOPPING:
            self._set_state(IDLE)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


def _explain(error: BaseException) -> str:
    """The engine's own message when it wrote one for users; otherwise the error and where it came from."""
    message = str(error).strip()
    if isinstance(error, (FileNotFoundError, PermissionError, ValueError, RuntimeError, OSError, ImportError)):
        return message or type(error).__name__
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    place = f" (in {where.filename}:{where.lineno})" if where else ""
    return f"{type(error).__name__}: {message}{place}"
