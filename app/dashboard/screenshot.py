"""Grab the real screen (QScreen.grabWindow) to a PNG, with where the main panels lie, then quit.

Used by the Xvfb test and to refresh docs/screenshot.png: the JSON beside the PNG says where the
video and the bars are, so a test can check that those regions are not blank.
"""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import QPoint, QTimer
from PyQt6.QtWidgets import QApplication, QWidget


def widget_region(widget: QWidget) -> list[int]:
    """[x, y, width, height] of a widget in screen pixels."""
    top_left = widget.mapToGlobal(QPoint(0, 0))
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


def grab_screen(window, path: str | Path) -> Path:
    path = Path(path)
    screen = window.screen() or QApplication.primaryScreen()
    pixmap = screen.grabWindow(0)  # the whole screen, as the X server shows it
    if pixmap.isNull() or not pixmap.save(str(path), "PNG"):
        raise RuntimeError(f"could not grab the screen into {path}")
    regions = {
        "window": widget_region(window),
        "video": widget_region(window.video),
        "bars": widget_region(window.bars),
        "timeline": widget_region(window.timeline),
        "events": len(window.events),
        "frames_shown": window.video.frames_shown,
        "messages": window.banner.history,
    }
    path.with_suffix(".json").write_text(json.dumps(regions, indent=1))
    return path


def grab_later(window, path: str | Path, after_s: float, *, patience_s: float = 30.0) -> None:
    """Grab after `after_s` once the window has shown an event and a video frame, waiting up to
    `patience_s` more for the first of each (a slow machine loads the models slowly), then close the window."""
    waited = [0.0]

    def grab_when_ready() -> None:
        if not (window.events and window.video.frames_shown) and waited[0] < patience_s:
            waited[0] += 0.5
            QTimer.singleShot(500, grab_when_ready)
            return
        try:
            grab_screen(window, path)
        finally:
            window.close()

    QTimer.singleShot(int(after_s * 1000), grab_when_ready)
