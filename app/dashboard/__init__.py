"""The PyQt6 dashboard: the only package that imports Qt. `launch(settings)` opens the window."""

from __future__ import annotations

import sys

from app.control import EngineCallbacks, EngineControl, EngineSettings


def real_engine(settings: EngineSettings, callbacks: EngineCallbacks) -> EngineControl:
    """The engine factory the app uses: the pipeline's Engine (loads models and opens devices, so
    the dashboard calls it on a helper thread)."""
    from app.engine import Engine

    return Engine(settings, callbacks)


def launch(settings: EngineSettings, *, engine_factory=None, screenshot: str | None = None,
           screenshot_after_s: float = 8.0) -> int:
    """Open the main window and run until it closes. A replay (settings.media) starts at once.

    `screenshot`: after `screenshot_after_s`, grab the screen to this PNG and quit (tests, docs).
    """
    from PyQt6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CARAT Live")
    window = MainWindow(settings, engine_factory or real_engine)
    _report_unexpected_errors_in(window)
    close_on_signals(window)
    window.show()
    if settings.media is not None:
        window.start()
    if screenshot is not None:
        from .screenshot import grab_later

        grab_later(window, screenshot, screenshot_after_s)
    return int(app.exec())


def close_on_signals(window) -> None:
    """Ctrl-C (SIGINT) and SIGTERM close the window as its close button does: the run stops and a
    recording is closed complete, then the app quits. Qt's event loop runs in C++, where Python's signal
    handlers cannot run, so a timer hands control back to Python a few times a second."""
    import signal

    from PyQt6.QtCore import QTimer

    def close(_number: int, _frame: object) -> None:
        QTimer.singleShot(0, window.close)

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, close)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)


def _report_unexpected_errors_in(window) -> None:
    """A bug in a slot must not abort the app (PyQt's default): show it in the window and log it."""
    import traceback

    def show(kind, error, trace) -> None:
        traceback.print_exception(kind, error, trace, file=sys.stderr)
        window.show_message(
            f"Unexpected error ({kind.__name__}: {error}); the app goes on. Please report it with the console log.",
            "error",
        )

    sys.excepthook = show


__all__ = ["close_on_signals", "launch", "real_engine"]
