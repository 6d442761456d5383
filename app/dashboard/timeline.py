"""EmotionTimeline: the last minute of each emotion's score as a rolling pyqtgraph plot.

The x axis is seconds before the newest event (-60 .. 0), so the plot reads the same in live and
replay. Curves are redrawn at most `redraw_hz` times a second however fast events come.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QWidget

from app.events import EmotionEvent

from .style import emotion_color

WINDOW_S = 60.0


class EmotionTimeline(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None, *, window_s: float = WINDOW_S, redraw_hz: float = 10.0) -> None:
        super().__init__(parent)
        self.window_s = window_s
        self._min_redraw_interval = 1.0 / redraw_hz
        self._last_redraw = 0.0
        self._times: deque[float] = deque()
        self._scores: dict[str, deque[float]] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._redraw_timer = QTimer(self, singleShot=True, timeout=self.redraw)  # draws a throttled event
        plot = self.getPlotItem()
        plot.setLabel("bottom", "seconds ago")
        plot.setLabel("left", "score")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setXRange(-window_s, 0, padding=0)
        plot.setYRange(0, 1.18, padding=0)  # the band above 1 holds the legend, clear of the curves
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        self._legend = plot.addLegend(offset=(4, 2), labelTextSize="8pt", colCount=6)
        plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]])
        self.setMinimumHeight(120)
        self.setAccessibleName("Emotion timeline")

    def add_event(self, event: EmotionEvent) -> None:
        if list(self._curves) != list(event.labels):
            self._reset_labels(event.labels)
        if self._times and event.window_end < self._times[-1]:
            self.clear_history()  # replay seeked backwards: the old minute no longer precedes this event
        self._times.append(event.window_end)
        for label, score in zip(event.labels, event.scores):
            self._scores[label].append(float(score))
        while self._times and self._times[0] < event.window_end - self.window_s:
            self._times.popleft()
            for scores in self._scores.values():
                scores.popleft()
        wait = self._min_redraw_interval - (time.monotonic() - self._last_redraw)
        if wait <= 0:
            self.redraw()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start(int(wait * 1000) + 1)

    def redraw(self) -> None:
        self._redraw_timer.stop()
        self._last_redraw = time.monotonic()
        if not self._times:
            for curve in self._curves.values():
                curve.setData([], [])
            return
        x = np.fromiter(self._times, dtype=float, count=len(self._times)) - self._times[-1]
        for label, curve in self._curves.items():
            curve.setData(x, np.fromiter(self._scores[label], dtype=float, count=len(x)))

    def clear_history(self) -> None:
        self._times.clear()
        for scores in self._scores.values():
            scores.clear()
        self.redraw()

    def series(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(seconds before the newest event, scores) as currently drawn for one label."""
        x, y = self._curves[label].getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def _reset_labels(self, labels: tuple[str, ...]) -> None:
        plot = self.getPlotItem()
        for curve in self._curves.values():
            plot.removeItem(curve)
            self._legend.removeItem(curve)
        self._curves.clear()
        self._scores = {label: deque() for label in labels}
        self._times.clear()
        for index, label in enumerate(labels):
            pen = pg.mkPen(emotion_color(label, index), width=2)
            self._curves[label] = plot.plot([], [], pen=pen, name=label, connect="finite")  # NaN: a gap
