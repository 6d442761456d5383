"""HealthTable: one row per stream (camera, microphone, face, voice, asr, model...): its state,
rate, dropped packets, lag and what to do when it is not well."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from app.events import StreamHealth

from .style import STATE_COLORS

COLUMNS = ("stream", "state", "fps", "dropped", "lag / latency", "message")


class HealthTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(20)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.setAccessibleName("Stream health")
        self.streams: dict[str, StreamHealth] = {}

    def show_health(self, health: StreamHealth) -> None:
        if health.name not in self.streams:
            self.insertRow(self.rowCount())
        self.streams[health.name] = health
        row = list(self.streams).index(health.name)
        lag = "" if health.lag_s is None else f"{health.lag_s * 1000:.0f} ms"
        cells = (
            health.name,
            health.state,
            f"{health.fps:.1f}" if health.fps else "",
            str(health.dropped) if health.dropped else "0",
            lag,
            health.message,
        )
        for column, text in enumerate(cells):
            item = self.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.setItem(row, column, item)
            if item.text() != text:
                item.setText(text)
        state_item = self.item(row, 1)
        state_item.setForeground(QColor(STATE_COLORS.get(health.state, "#000000")))
        self.item(row, 5).setToolTip(health.message)

    def text_of(self, stream: str, column: str) -> str:
        """The text shown for one stream in one column (for tests and accessibility)."""
        row = list(self.streams).index(stream)
        return self.item(row, COLUMNS.index(column)).text()

    def clear_streams(self) -> None:
        self.streams.clear()
        self.setRowCount(0)
