"""VideoView: the newest preview frame, scaled to fit, with the tracked face's box and landmarks."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from app.control import PreviewFrame

BOX_COLOR = QColor("#00e676")
LANDMARK_COLOR = QColor(255, 255, 255, 190)


class VideoView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame: PreviewFrame | None = None
        self._image: QImage | None = None
        self.placeholder = "No video yet: press Start for the camera, or open a file to replay."
        self.frames_shown = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setAccessibleName("Video")

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def show_frame(self, frame: PreviewFrame) -> None:
        image = np.ascontiguousarray(frame.image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            self.set_placeholder(f"Cannot show a preview frame of shape {image.shape} and type {image.dtype}")
            return
        height, width, _ = image.shape
        # QImage borrows the array's memory: keep the array alive with the image.
        self._image = QImage(image.data, width, height, 3 * width, QImage.Format.Format_BGR888)
        self._array = image
        self.frame = frame
        self.frames_shown += 1
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.frame, self._image = None, None
        self.placeholder = text
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#111111"))
        if self._image is None or self.frame is None:
            painter.setPen(QColor("#bbbbbb"))
            painter.drawText(
                QRectF(self.rect()).adjusted(16, 16, -16, -16),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.placeholder,
            )
            painter.end()
            return
        target = self._fit(self._image.width(), self._image.height())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._image)
        scale = target.width() / self._image.width()

        def to_widget(x: float, y: float) -> QPointF:
            return QPointF(target.left() + x * scale, target.top() + y * scale)

        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.frame.landmarks is not None and len(self.frame.landmarks):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(LANDMARK_COLOR)
            radius = max(0.8, 1.2 * scale)
            for x, y in np.asarray(self.frame.landmarks, dtype=float)[:, :2]:
                painter.drawEllipse(to_widget(x, y), radius, radius)
        if self.frame.face_box is not None:
            x0, y0, x1, y1 = self.frame.face_box
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(BOX_COLOR, 2))
            painter.drawRect(QRectF(to_widget(x0, y0), to_widget(x1, y1)))
        painter.end()

    def _fit(self, width: int, height: int) -> QRectF:
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
