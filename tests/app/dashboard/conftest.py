"""Dashboard tests run real Qt widgets on the offscreen platform (no display needed); the engine is
replaced by FakeEngine where a test is about the window, since the engine is the edge of the UI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt makes the QApplication

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the test modules import dashboard_fakes
from dashboard_fakes import FakeEngineFactory

from app.control import EngineSettings


@pytest.fixture
def factory() -> FakeEngineFactory:
    return FakeEngineFactory()


@pytest.fixture
def window(qtbot, factory, tmp_path):
    from app.dashboard.devices import DeviceChoice, DeviceScan
    from app.dashboard.main_window import MainWindow

    scan = DeviceScan(
        cameras=[DeviceChoice("Camera 0 (640x480)", 0), DeviceChoice("No camera", None)],
        microphones=[DeviceChoice("System default", "default"), DeviceChoice("No microphone", None)],
        problems=[],
    )
    settings = EngineSettings(camera=0, microphone="default")
    main = MainWindow(settings, factory, scan=scan, record_root=tmp_path / "sessions")
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    return main


@pytest.fixture(scope="session")
def dashboard_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trainer.untrained import build_untrained_checkpoint

    return build_untrained_checkpoint(tmp_path_factory.mktemp("dashboard") / "small.safetensors")


@pytest.fixture(scope="session")
def dashboard_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of the astronaut's face with two spoken sentences (espeak-ng)."""
    from trainer.spoken_media import write_clip

    path = tmp_path_factory.mktemp("dashboard") / "face_and_speech.mkv"
    write_clip(path, duration_s=6.0, speech=[(0.3, "I am so happy to see you"), (3.0, "what a surprise")])
    return path
