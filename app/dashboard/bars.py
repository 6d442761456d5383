"""EmotionBars: one horizontal bar per emotion, its decision threshold marked, and the modality
(face, voice or words) that decided it through CARAT's max-pool over modalities."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from app.events import EmotionEvent

from .style import emotion_color, modality_word

DEFAULT_LABELS = ("happy", "sad", "angry", "surprise", "disgust", "fear")


@dataclass
class BarState:
    label: str
    score: float = 0.0
    threshold: float = 0.5
    decided: bool = False
    deciding: str | None = None  # "text" | "visual" | "audio" | None


class EmotionBars(QWidget):
    ROW_HEIGHT = 26

    def __init__(self, labels: tuple[str, ...] = DEFAULT_LABELS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars = [BarState(label) for label in labels]
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.ROW_HEIGHT * len(self.bars) + 8)
        self.setAccessibleName("Emotion scores")

    def sizeHint(self) -> QSize:
        return QSize(420, self.ROW_HEIGHT * len(self.bars) + 8)

    def show_event(self, event: EmotionEvent) -> None:
        if tuple(bar.label for bar in self.bars) != tuple(event.labels):
            self.bars = [BarState(label) for label in event.labels]
            self.setMinimumHeight(self.ROW_HEIGHT * len(self.bars) + 8)
            self.updateGeometry()
        for bar, score, threshold, decided, deciding in zip(
            self.bars, event.scores, event.thresholds, event.decided, event.deciding_modality
        ):
            bar.score = float(score)
            bar.threshold = float(threshold)
            bar.decided = bool(decided)
            bar.deciding = deciding
        self.update()

    def clear(self) -> None:
        for bar in self.bars:
            bar.score, bar.decided, bar.deciding = 0.0, False, None
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = self.width()
        name_width, score_width, modality_width = 72, 44, 96
        bar_left = name_width
        bar_width = max(40, width - name_width - score_width - modality_width - 8)
        font = QFont(self.font())
        bold = QFont(font)
        bold.setBold(True)
        text_color = self.palette().windowText().color()
        for row, bar in enumerate(self.bars):
            top = 4 + row * self.ROW_HEIGHT
            height = self.ROW_HEIGHT - 6
            painter.setFont(bold if bar.decided else font)
            painter.setPen(text_color)
            painter.drawText(QRectF(0, top, name_width - 6, height), Qt.AlignmentFlag.AlignVCenter, bar.label)
            # Track, fill, threshold marker.
            track = QRectF(bar_left, top, bar_width, height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(128, 128, 128, 50))
            painter.drawRoundedRect(track, 3, 3)
            color = QColor(emotion_color(bar.label, row))
            if not bar.decided:
                color.setAlpha(130)
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(bar_left, top, bar_width * _clamp(bar.score), height), 3, 3)
            marker_x = bar_left + bar_width * _clamp(bar.threshold)
            painter.setPen(QPen(text_color, 2))
            painter.drawLine(int(marker_x), int(top - 2), int(marker_x), int(top + height + 2))
            # Score and deciding modality.
            painter.setPen(text_color)
            score_rect = QRectF(bar_left + bar_width + 4, top, score_width, height)
            painter.drawText(score_rect, Qt.AlignmentFlag.AlignVCenter, f"{bar.score:.2f}")
            modality_rect = QRectF(bar_left + bar_width + 4 + score_width, top, modality_width, height)
            painter.drawText(modality_rect, Qt.AlignmentFlag.AlignVCenter, modality_word(bar.deciding))
        painter.end()


def _clamp(value: float) -> float:
    return 0.0 if math.isnan(value) else min(1.0, max(0.0, value))  # NaN shows as an empty bar
