"""MainWindow: the video, the six emotion bars, the rolling timeline, the transcript, which stream
decided each emotion, stream health, and the controls for live analysis and replay.

It only shows what the engine emits (through EngineRunner's signals) and sends it commands.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

from PyQt6.QtCore import QObject, QSignalBlocker, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QKeySequence
from PyQt6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import calibration
from app.control import CalibrationSettings, EngineSettings, LslSettings, PreviewFrame
from app.events import EmotionEvent, StreamHealth, TimedWord
from app.events_csv import write_events_csv

from .bars import EmotionBars
from .checkpoints import describe_checkpoint
from .controls import SPEEDS, LabBar, ReplayBar, SourceBar
from .devices import DeviceScan, scan_devices
from .health import HealthTable
from .modalities import ModalityPanel
from .runner import IDLE, RUNNING, STARTING, EngineFactory, EngineRunner
from .timeline import EmotionTimeline
from .transcript import TranscriptView
from .video import VideoView

SEEK_STEP_S = 5.0
CALIBRATION_S = 10.0  # the Calibrate button records this long at rest
LAB_STREAMS = ("calibration", "lsl")  # their news (running, stopped) is shown in the banner
_LEVEL_STYLE = {
    "error": "background:#fdecea;color:#611a15;border:1px solid #f5c2bd",
    "warning": "background:#fff4e5;color:#663c00;border:1px solid #ffd8a8",
    "info": "background:#e8f4fd;color:#0d3c61;border:1px solid #b6dcf7",
}

SHORTCUTS = (
    ("Ctrl+Return", "Start live analysis"),
    ("Ctrl+.", "Stop"),
    ("Ctrl+O", "Open a video to replay"),
    ("Ctrl+Shift+O", "Open a recorded session folder"),
    ("Space", "Play / pause replay"),
    ("Left / Right", "Seek 5 s back / forward"),
    ("[ / ]", "Slower / faster replay"),
    ("Ctrl+R", "Record on / off"),
    ("Ctrl+M", "Choose a checkpoint"),
    ("Ctrl+E", "Export events to CSV"),
    ("Ctrl+Q", "Quit"),
)


class _DeviceScanner(QObject):
    """Probes devices on a helper thread (opening a camera can take a second)."""

    done = pyqtSignal(object)  # DeviceScan

    def scan(self) -> None:
        threading.Thread(target=self._scan, name="device-scan", daemon=True).start()

    def _scan(self) -> None:
        scan = scan_devices()
        try:
            self.done.emit(scan)
        except RuntimeError:  # the window closed while we were looking: nobody to tell
            pass


class MessageBanner(QFrame):
    """Errors and advice, in the window, until dismissed or replaced."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", toolTip="Dismiss", autoRaise=True)
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.level = ""
        self.history: list[tuple[str, str]] = []  # (level, text), for tests and the log
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        self.history.append((level, text))
        self.level = level
        self.label.setText(text)
        self.setStyleSheet(f"MessageBanner {{{_LEVEL_STYLE[level]};border-radius:4px}}")
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


def _section(title: str, widget: QWidget, subtitle: str = "", *, stretch: int = 1) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    header = QLabel(f"<b>{title}</b> <span style='color:gray'>{subtitle}</span>")
    layout.addWidget(header)
    layout.addWidget(widget, stretch)
    return box


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: EngineSettings,
        engine_factory: EngineFactory,
        *,
        scan: DeviceScan | None = None,
        record_root: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("CARAT Live")
        self.settings = settings
        self.media: str | None = settings.media
        self.record_root = Path(record_root) if record_root else Path.home() / "carat-live-sessions"
        self.events: list[EmotionEvent] = []
        self.duration: float | None = None
        self.position = 0.0
        self.playing = False
        self.at_end = False
        self.runner = EngineRunner(engine_factory, self)
        self._build_widgets()
        self._build_actions()
        self._connect()
        self.source_bar.select_device(self.source_bar.camera, settings.camera)
        self.source_bar.select_device(self.source_bar.microphone, settings.microphone)
        if settings.checkpoint:
            self.set_checkpoint(settings.checkpoint)
        else:
            self._show_checkpoint(None)
        self.source_bar.record.setChecked(settings.record_to is not None)
        with QSignalBlocker(self.lab_bar.lsl):  # the command line's --lsl, without "opens with Start" advice
            self.lab_bar.lsl.setChecked(settings.lsl is not None)
        if settings.calibration is not None and settings.calibration.profile:
            self.lab_bar.profile.setEditText(settings.calibration.profile)
        self._scanner = _DeviceScanner(self)
        self._scanner.done.connect(self._devices_found)
        if scan is not None:
            self._devices_found(scan)
        else:
            self._scanner.scan()
        self._display_timer = QTimer(self, interval=1000, timeout=self._report_display)
        self._frames_at_last_report = 0
        self._runner_state(IDLE)
        self.resize(1280, 720)

    # -- layout -------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.source_bar = SourceBar()
        self.lab_bar = LabBar()
        self.lab_bar.set_profiles(saved_profiles())
        self.replay_bar = ReplayBar()
        self.banner = MessageBanner()
        self.video = VideoView()
        self.transcript = TranscriptView()
        self.model_info = QPlainTextEdit(readOnly=True)
        self.model_info.setAccessibleName("Checkpoint")
        self.bars = EmotionBars()
        self.modalities = ModalityPanel()
        self.timeline = EmotionTimeline()
        self.health = HealthTable()

        self.tabs = QTabWidget()
        self.tabs.addTab(self.transcript, "Transcript")
        self.tabs.addTab(self.model_info, "Model")
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.video)
        left.addWidget(self.tabs)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([420, 160])

        # The emotions always get their full height; the timeline and the health table share the rest.
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(
            _section("Emotions", self.bars, "bar: score · line: threshold · right: the stream that decided", stretch=0)
        )
        right_layout.addWidget(self.modalities)
        lower = QSplitter(Qt.Orientation.Vertical)
        lower.addWidget(_section("Last minute", self.timeline))
        lower.addWidget(_section("Streams", self.health))
        lower.setSizes([220, 150])
        right_layout.addWidget(lower, 1)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setSizes([660, 620])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.source_bar)
        layout.addWidget(self.lab_bar)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(6, 0, 6, 2)
        banner_row.addWidget(self.banner)
        layout.addLayout(banner_row)
        body = QHBoxLayout()
        body.setContentsMargins(6, 2, 6, 2)
        body.addWidget(main)
        layout.addLayout(body, 1)
        layout.addWidget(self.replay_bar)
        self.setCentralWidget(central)
        self.setMinimumSize(960, 600)

    def _build_actions(self) -> None:
        def action(text: str, shortcut: str, slot, menu) -> QAction:
            item = QAction(text, self)
            item.setShortcut(QKeySequence(shortcut))
            item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            item.triggered.connect(slot)
            menu.addAction(item)
            return item

        bar = self.menuBar()
        file_menu, engine_menu, replay_menu, help_menu = (
            bar.addMenu(n) for n in ("&File", "&Engine", "&Replay", "&Help")
        )
        action("Open video…", "Ctrl+O", self.ask_open_file, file_menu)
        action("Open session folder…", "Ctrl+Shift+O", self.ask_open_session, file_menu)
        action("Choose checkpoint…", "Ctrl+M", self.ask_checkpoint, file_menu)
        action("Export events to CSV…", "Ctrl+E", self.ask_export, file_menu)
        action("Quit", "Ctrl+Q", self.close, file_menu)
        action("Start live", "Ctrl+Return", self.start_live, engine_menu)
        action("Stop", "Ctrl+.", self.stop, engine_menu)
        action("Record", "Ctrl+R", self.source_bar.record.toggle, engine_menu)
        action("Look for devices again", "F5", self.refresh_devices, engine_menu)
        action("Play / pause", "Space", self.toggle_play, replay_menu)
        action("Back 5 s", "Left", lambda: self.seek_by(-SEEK_STEP_S), replay_menu)
        action("Forward 5 s", "Right", lambda: self.seek_by(SEEK_STEP_S), replay_menu)
        action("Slower", "[", lambda: self.step_speed(-1), replay_menu)
        action("Faster", "]", lambda: self.step_speed(+1), replay_menu)
        action("Keyboard shortcuts", "F1", self.show_shortcuts, help_menu)

    def _connect(self) -> None:
        runner = self.runner
        runner.emotion.connect(self.show_event)
        runner.health.connect(self.show_health)
        runner.frame.connect(self.show_frame)
        runner.words.connect(self.show_words)
        runner.error.connect(lambda text: self.show_message(text, "error"))
        runner.position.connect(self.show_position)
        runner.finished.connect(self._engine_finished)
        runner.state_changed.connect(self._runner_state)
        bar = self.source_bar
        bar.start.clicked.connect(self.start_live)
        bar.stop.clicked.connect(self.stop)
        bar.refresh.clicked.connect(self.refresh_devices)
        bar.choose_checkpoint.clicked.connect(self.ask_checkpoint)
        bar.checkpoint.currentIndexChanged.connect(lambda _i: self._show_checkpoint(bar.checkpoint.currentData()))
        bar.record.toggled.connect(self._record_toggled)
        replay = self.replay_bar
        replay.open_file.clicked.connect(self.ask_open_file)
        replay.open_session.clicked.connect(self.ask_open_session)
        replay.play.clicked.connect(self.toggle_play)
        replay.slider.sliderReleased.connect(lambda: self.seek_to(replay.slider.value() / 10))
        replay.speed.currentIndexChanged.connect(lambda _i: self.set_speed(replay.speed.currentData()))
        replay.export.clicked.connect(self.ask_export)
        self.lab_bar.lsl.toggled.connect(self._lsl_toggled)
        self.lab_bar.calibrate.clicked.connect(lambda: self.calibrate(CALIBRATION_S))

    # -- commands -------------------------------------------------------------------------------

    def current_settings(self) -> EngineSettings:
        """The settings the pickers show, for the next start."""
        bar = self.source_bar
        record_to = None
        if bar.record.isChecked() and self.media is None:
            record_to = str(self.record_root / time.strftime("%Y-%m-%d_%H-%M-%S"))
        return dataclasses.replace(
            self.settings,
            camera=bar.camera.currentData(),
            microphone=bar.microphone.currentData(),
            checkpoint=bar.checkpoint.currentData(),
            media=self.media,
            record_to=record_to,
            lsl=self._lsl_settings() if self.lab_bar.lsl.isChecked() else None,
            calibration=self._chosen_profile(),
        )

    def _chosen_profile(self) -> CalibrationSettings | None:
        """The profile picked, when it is saved (a new name only names the next calibration's profile)."""
        name = self.lab_bar.profile.currentText().strip()
        given = self.settings.calibration
        if given is not None and given.profile == name:
            return given  # the command line's (--calibrate SECONDS --profile NAME records anew)
        try:
            saved = bool(name) and calibration.profile_path(name).is_file()
        except calibration.CalibrationError:
            saved = False
        if saved:
            return CalibrationSettings(profile=name)
        return given if given is not None and not given.profile else None  # --calibrate SECONDS alone stays

    def start(self) -> None:
        """Start the engine with what the pickers show: replay when a file is open, else live."""
        settings = self.current_settings()
        if settings.media is None and settings.camera is None and settings.microphone is None:
            self.show_message("Pick a camera or a microphone, or open a video to replay (Ctrl+O).", "warning")
            return
        self._clear_panels()
        self.banner.hide()
        self.playing = True
        self.at_end = False
        self.runner.start(settings)
        self.statusBar().showMessage(f"Replaying {settings.media}" if settings.media else "Live")

    def start_live(self) -> None:
        self.media = None
        self.start()

    def open_media(self, path: str | Path) -> None:
        self.media = str(path)
        self.start()

    def stop(self) -> None:
        self.runner.stop()
        self.playing = False

    def toggle_play(self) -> None:
        engine = self.runner.engine
        if engine is None or self.media is None:
            return
        if self.at_end:
            self.at_end = False
            engine.seek(0.0)
            engine.resume()
            self.playing = True
        elif self.playing:
            engine.pause()
            self.playing = False
        else:
            engine.resume()
            self.playing = True
        self._update_buttons()

    def seek_to(self, seconds: float) -> None:
        engine = self.runner.engine
        if engine is None or self.media is None:
            return
        seconds = max(0.0, min(seconds, self.duration or seconds))
        engine.seek(seconds)
        self.at_end = False
        self.position = seconds
        self.timeline.clear_history()
        self.replay_bar.show_position(seconds, self.duration)

    def seek_by(self, delta: float) -> None:
        self.seek_to(self.position + delta)

    def set_speed(self, factor: float) -> None:
        engine = self.runner.engine
        if engine is not None and self.media is not None:
            engine.set_speed(float(factor))
        index = self.replay_bar.speed.findData(factor)
        if index >= 0 and index != self.replay_bar.speed.currentIndex():
            self.replay_bar.speed.setCurrentIndex(index)

    def step_speed(self, step: int) -> None:
        index = min(len(SPEEDS) - 1, max(0, self.replay_bar.speed.currentIndex() + step))
        self.replay_bar.speed.setCurrentIndex(index)

    def set_checkpoint(self, path: str | Path) -> None:
        combo = self.source_bar.checkpoint
        index = combo.findData(str(path))
        if index < 0:
            combo.addItem(Path(path).name, str(path))
            index = combo.count() - 1
        combo.setItemData(index, str(path), Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(index)
        self._show_checkpoint(str(path))

    def export_csv(self, path: str | Path) -> int:
        try:
            count = write_events_csv(self.events, path)
        except (ValueError, OSError) as error:
            self.show_message(f"Could not export the events: {error}", "error")
            return 0
        self.show_message(f"Saved {count} events to {path}", "info")
        return count

    def calibrate(self, seconds: float) -> None:
        """Record the person at rest, then show scores relative to it (saved under the profile named)."""
        engine = self.runner.engine
        if engine is None:
            self.show_message("Start live analysis first: calibration records you at rest, then uses it.", "warning")
            return
        profile = self.lab_bar.profile.currentText().strip() or None
        try:
            engine.calibrate(seconds, profile)
        except ValueError as error:
            self.show_message(f"calibration: {error}", "error")
            return
        self.lab_bar.calibration.setText(f"calibrating ({seconds:g} s)…")
        self.show_message(f"calibration: for the next {seconds:g} s, {calibration.REST_INSTRUCTIONS}", "info")

    def _lsl_settings(self) -> LslSettings:
        return self.settings.lsl or LslSettings()  # the command line's --lsl-name, if it gave one

    def _lsl_toggled(self, on: bool) -> None:
        engine = self.runner.engine
        if engine is not None:
            engine.set_lsl(self._lsl_settings() if on else None)
        elif on:
            self.show_message(f"LSL: the streams '{self._lsl_settings().name}' open with the next Start.", "info")

    def refresh_devices(self) -> None:
        self.statusBar().showMessage("Looking for cameras and microphones…", 3000)
        self._scanner.scan()

    def show_message(self, text: str, level: str = "error") -> None:
        self.banner.show_message(text, level)

    # -- dialogs (thin wrappers, so tests call the commands above directly) ----------------------

    def ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Replay a video", "", "Video (*.mp4 *.mkv *.avi *.mov *.webm);;All files (*)"
        )
        if path:
            self.open_media(path)

    def ask_open_session(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Replay a recorded session folder", str(self.record_root))
        if path:
            self.open_media(path)

    def ask_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", "", "Checkpoint (*.safetensors)")
        if path:
            self.set_checkpoint(path)

    def ask_export(self) -> None:
        if not self.events:
            self.show_message("There are no events to export yet: start live analysis or replay a file.", "warning")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export events", "events.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def show_shortcuts(self) -> None:
        text = "\n".join(f"{keys:<14} {what}" for keys, what in SHORTCUTS)
        QMessageBox.information(self, "Keyboard shortcuts", text)

    # -- what the engine says (UI thread) -------------------------------------------------------

    def show_event(self, event: EmotionEvent) -> None:
        self.events.append(event)
        self.bars.show_event(event)
        self.timeline.add_event(event)
        self.modalities.show_event(event)
        if event.latency_s is not None:
            self.statusBar().showMessage(
                f"window {event.window_start:.1f}–{event.window_end:.1f} s · latency {event.latency_s * 1000:.0f} ms"
                f" · {len(self.events)} events"
            )

    def show_health(self, health: StreamHealth) -> None:
        self.health.show_health(health)
        about_this_stream = self.banner.text().startswith(f"{health.name}: ")
        if health.name == "calibration":
            self._show_calibration_state(health.state)
        if health.state == "failed" and health.message:
            self.show_message(f"{health.name}: {health.message}", "error")
        elif health.name in LAB_STREAMS and health.state in ("starting", "running", "stopped") and health.message:
            self.show_message(f"{health.name}: {health.message}", "warning" if health.state == "stopped" else "info")
        elif health.state == "retrying" and health.message and (about_this_stream or not self.banner.text()):
            self.show_message(f"{health.name}: {health.message}", "warning")
        elif health.state == "running" and about_this_stream:
            self.banner.hide()  # the stream recovered: its advice no longer applies

    def show_frame(self, frame: PreviewFrame) -> None:
        self.video.show_frame(frame)

    def show_words(self, words: list[TimedWord]) -> None:
        self.transcript.add_words(words)

    def show_position(self, seconds: float) -> None:
        self.position = seconds
        if self.duration is None and self.runner.engine is not None:
            self.duration = self.runner.engine.duration
            self.replay_bar.set_duration(self.duration)
        self.replay_bar.show_position(seconds, self.duration)

    def _engine_finished(self) -> None:
        if self.media is not None:
            self.at_end = True
            self.playing = False
            self.statusBar().showMessage("Replay finished · Space plays again from the start · Ctrl+E exports")
        self._update_buttons()

    def _runner_state(self, state: str) -> None:
        if state == RUNNING:
            self._frames_at_last_report = self.video.frames_shown
            self._display_timer.start()
        else:
            self._display_timer.stop()
        if state == RUNNING:
            engine = self.runner.engine
            self.duration = engine.duration if engine is not None else None
            self.replay_bar.set_duration(self.duration)
            if self.media is not None:
                self.set_speed(self.replay_bar.speed.currentData())
        if state == IDLE and self.video.frame is None:
            self.video.set_placeholder(
                "No video. Press Start (Ctrl+Enter) for the camera, or open a video to replay (Ctrl+O)."
            )
        elif state == STARTING:
            self.video.set_placeholder("Starting: loading the models and opening the devices…")
        self.source_bar.state.setText(state)
        self._update_buttons()

    def _update_buttons(self) -> None:
        state = self.runner.state
        self.source_bar.start.setEnabled(state in (IDLE, RUNNING))
        self.source_bar.stop.setEnabled(state in (STARTING, RUNNING))
        replaying = state == RUNNING and self.media is not None
        self.replay_bar.set_replay_enabled(replaying)
        self.replay_bar.play.setText("Pause" if replaying and self.playing else "Play")

    # -- internals ------------------------------------------------------------------------------

    def _report_display(self) -> None:
        """The window's own stream: frames drawn per second and frames skipped to stay current."""
        shown = self.video.frames_shown
        fps, self._frames_at_last_report = shown - self._frames_at_last_report, shown
        self.health.show_health(StreamHealth("display", "running", fps=float(fps), dropped=self.runner.frames_replaced))

    def _devices_found(self, scan: DeviceScan) -> None:
        self.source_bar.set_devices(scan.cameras, scan.microphones)
        self.source_bar.select_device(self.source_bar.camera, self.settings.camera)
        self.source_bar.select_device(self.source_bar.microphone, self.settings.microphone)
        if scan.problems and self.media is None:
            self.show_message(" ".join(scan.problems), "warning")

    def _show_checkpoint(self, path: str | None) -> None:
        text, usable = describe_checkpoint(path)
        self.model_info.setPlainText(text)
        if not usable:
            self.show_message(text, "error")

    def _show_calibration_state(self, state: str) -> None:
        label = self.lab_bar.calibration
        if state == "running":
            label.setText("calibrated")
            self.lab_bar.set_profiles(saved_profiles())  # a new profile may have been saved
        elif state == "starting":
            label.setText("calibrating…")
        elif label.text().startswith("calibrating"):  # stopped while recording: no new baseline
            label.setText("not calibrated")

    def _record_toggled(self, on: bool) -> None:
        if self.runner.state in (STARTING, RUNNING) and self.media is None:
            self.show_message(
                "Recording " + ("starts" if on else "stops") + " with the next Start (Ctrl+Enter).", "info"
            )
        elif on and self.media is not None:
            self.show_message("Recording applies to live analysis; replays are not re-recorded.", "info")

    def _clear_panels(self) -> None:
        self.events.clear()
        self.lab_bar.calibration.setText("not calibrated")
        self.bars.clear()
        self.timeline.clear_history()
        self.transcript.clear_words()
        self.health.clear_streams()
        self.video.set_placeholder("Starting…")
        self.duration, self.position = None, 0.0
        self.replay_bar.set_duration(None)
        self.replay_bar.show_position(0.0, None)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Every engine thread and device is gone before the window is.
        self.statusBar().showMessage("Stopping…")
        self.runner.stop(wait=True)
        event.accept()


def saved_profiles() -> list[str]:
    """The calibration profiles saved in the user's data folder, by name."""
    folder = calibration.profiles_folder()
    return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []
