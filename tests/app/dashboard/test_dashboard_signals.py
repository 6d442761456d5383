"""Ctrl-C and SIGTERM stop the dashboard cleanly while it records: the window closes as its close button
would, the recording is closed and the session is complete (a real process, offscreen).

Bounds: the process is given 180 s to load its models and record a few events, and 30 s to stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.session import SessionReader

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = """
import sys
from pathlib import Path
from PyQt6.QtWidgets import QApplication
from app.control import EngineSettings
from app.dashboard import close_on_signals, real_engine
from app.dashboard.devices import DeviceChoice, DeviceScan
from app.dashboard.main_window import MainWindow

clip, checkpoint, root = sys.argv[1:4]
app = QApplication(sys.argv[:1])
scan = DeviceScan([DeviceChoice("No camera", None)], [DeviceChoice("No microphone", None)], [])
settings = EngineSettings(camera=clip, microphone=None, checkpoint=checkpoint)
window = MainWindow(settings, real_engine, scan=scan, record_root=Path(root))
close_on_signals(window)  # as launch() does
window.show()
window.source_bar.record.setChecked(True)
window.start_live()
sys.exit(app.exec())
"""


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_dashboard_records_leaves_a_complete_session(
    dashboard_clip, dashboard_checkpoint, tmp_path: Path, number: signal.Signals
) -> None:
    root = tmp_path / "sessions"
    process = subprocess.Popen(
        [sys.executable, "-c", DASHBOARD, str(dashboard_clip), str(dashboard_checkpoint), str(root)],
        cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            folders = list(root.glob("*/events.jsonl"))
            if folders and folders[0].read_text().count("\n") >= 3:
                break
            time.sleep(0.2)
        assert process.poll() is None, process.stderr.read()[-3000:]
        process.send_signal(number)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, process.stderr.read()[-3000:]
    session = SessionReader.open(folders[0].parent)
    assert session.complete, "the recording was closed"
    assert len(session.events) >= 3 and session.damaged_lines == 0
