"""The two control rows: sources (camera, microphone, checkpoint, record, start/stop) and replay
(open, play/pause, seek, speed, export). They only hold widgets; the main window wires them."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QToolButton, QWidget

from .devices import DeviceChoice

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)
BUNDLED_CHECKPOINT = "Bundled default"


class SourceBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 2)
        self.camera = QComboBox(minimumWidth=150, toolTip="Camera (Ctrl+Enter starts)")
        self.microphone = QComboBox(minimumWidth=170, toolTip="Microphone")
        self.refresh = QToolButton(text="⟳", toolTip="Look for cameras and microphones again")
        self.checkpoint = QComboBox(minimumWidth=170, toolTip="Checkpoint (Ctrl+M to choose a file)")
        self.checkpoint.addItem(BUNDLED_CHECKPOINT, None)
        self.choose_checkpoint = QToolButton(text="…", toolTip="Choose a checkpoint file (Ctrl+M)")
        self.record = QPushButton("● Record", checkable=True, toolTip="Record the live session to a folder (Ctrl+R)")
        self.start = QPushButton("Start", toolTip="Start live analysis (Ctrl+Enter)")
        self.stop = QPushButton("Stop", toolTip="Stop (Ctrl+.)")
        self.state = QLabel("idle")
        self.state.setMinimumWidth(70)
        for text, widget in (("Camera", self.camera), ("Mic", self.microphone)):
            layout.addWidget(QLabel(text))
            layout.addWidget(widget, 1)
        layout.addWidget(self.refresh)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Model"))
        layout.addWidget(self.checkpoint, 1)
        layout.addWidget(self.choose_checkpoint)
        layout.addSpacing(8)
        for widget in (self.record, self.start, self.stop, self.state):
            layout.addWidget(widget)

    def set_devices(self, cameras: list[DeviceChoice], microphones: list[DeviceChoice]) -> None:
        for combo, choices in ((self.camera, cameras), (self.microphone, microphones)):
            previous = combo.currentData()
            combo.clear()
            for choice in choices:
                combo.addItem(choice.label, choice.value)
            index = combo.findData(previous)
            combo.setCurrentIndex(index if index >= 0 and previous is not None else 0)

    def select_device(self, combo: QComboBox, value: int | str | None) -> None:
        """Show the settings' device, adding it when probing did not find it (a file, a URL)."""
        index = combo.findData(value)
        if index < 0:
            combo.insertItem(0, str(value) if value is not None else "None", value)
            index = 0
        combo.setCurrentIndex(index)


class ReplayBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        self.open_file = QPushButton("Open video…", toolTip="Replay a video file (Ctrl+O)")
        self.open_session = QPushButton("Open session…", toolTip="Replay a recorded session folder (Ctrl+Shift+O)")
        self.play = QPushButton("Pause", toolTip="Play / pause (Space)")
        self.play.setMinimumWidth(64)
        self.slider = QSlider(Qt.Orientation.Horizontal, toolTip="Seek (Left / Right: 5 s)")
        self.slider.setRange(0, 0)
        self.time = QLabel("--:-- / --:--")
        self.speed = QComboBox(toolTip="Replay speed ([ and ])")
        for factor in SPEEDS:
            self.speed.addItem(f"{factor:g}×", factor)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.export = QPushButton("Export CSV…", toolTip="Save the events so far as CSV (Ctrl+E)")
        for widget in (self.open_file, self.open_session, self.play):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time)
        layout.addWidget(QLabel("Speed"))
        layout.addWidget(self.speed)
        layout.addWidget(self.export)
        self.set_replay_enabled(False)

    def set_replay_enabled(self, enabled: bool) -> None:
        for widget in (self.play, self.slider, self.speed):
            widget.setEnabled(enabled)

    def show_position(self, seconds: float, duration: float | None) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(int(seconds * 10))
        self.time.setText(f"{clock(seconds)} / {clock(duration) if duration else '--:--'}")

    def set_duration(self, duration: float | None) -> None:
        self.slider.setRange(0, int((duration or 0) * 10))  # tenths of a second


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(max(0.0, seconds)), 60)
    return f"{minutes:02d}:{rest:02d}"


class LabBar(QWidget):
    """Lab integration: stream to Lab Streaming Layer, and calibrate to the person (a profile to use from
    Start, or to save the next calibration under)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 2)
        self.lsl = QPushButton(
            "LSL", checkable=True, toolTip="Stream scores and markers to Lab Streaming Layer (e.g. LabRecorder)"
        )
        self.profile = QComboBox(
            editable=True,
            minimumWidth=170,
            toolTip="Calibration profile: used from Start when saved; Calibrate saves under this name",
        )
        self.profile.lineEdit().setPlaceholderText("no profile")
        self.calibrate = QPushButton(
            "Calibrate",
            toolTip="Record you at rest (a relaxed face, a neutral sentence), then show scores relative to it",
        )
        self.calibration = QLabel("not calibrated")
        layout.addWidget(QLabel("Lab"))
        layout.addWidget(self.lsl)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Profile"))
        layout.addWidget(self.profile)
        layout.addWidget(self.calibrate)
        layout.addWidget(self.calibration, 1)

    def set_profiles(self, names: list[str]) -> None:
        current = self.profile.currentText()
        self.profile.clear()
        self.profile.addItems([""] + names)
        self.profile.setEditText(current)
