"""The window with the real engine (offscreen): a replay fills every panel, a missing camera is a
message in the window, and closing the window leaves no engine thread behind."""

from __future__ import annotations

import pytest

from app.control import EngineSettings
from app.dashboard import real_engine
from app.dashboard.devices import DeviceChoice, DeviceScan
from app.dashboard.main_window import MainWindow
from app.dashboard.runner import RUNNING

NO_DEVICES = DeviceScan([DeviceChoice("No camera", None)], [DeviceChoice("No microphone", None)], [])


def make_window(qtbot, settings: EngineSettings) -> MainWindow:
    window = MainWindow(settings, real_engine, scan=NO_DEVICES)
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.mark.slow
def test_replaying_a_clip_fills_the_panels_and_closing_stops_every_thread(qtbot, dashboard_clip,
                                                                          dashboard_checkpoint):
    window = make_window(qtbot, EngineSettings(camera=None, microphone=None, checkpoint=str(dashboard_checkpoint)))
    window.open_media(dashboard_clip)
    qtbot.waitUntil(lambda: len(window.events) >= 3 and window.video.frames_shown > 0, timeout=60000)
    qtbot.waitUntil(lambda: {"media", "face", "model"} <= set(window.health.streams), timeout=10000)
    engine = window.runner.engine
    assert window.runner.state == RUNNING and engine.duration == pytest.approx(6.0, abs=0.2)
    assert window.video.frame.face_box is not None  # the astronaut's face is tracked and boxed
    # The first windows may hold no stream yet (no face row is ready in time): their scores are 0. The bars
    # fill with the first window that holds one (once 1 run in 4 that came after the third event).
    qtbot.waitUntil(lambda: window.bars.bars[0].score > 0, timeout=10000)
    assert len(window.timeline.series("happy")[0]) >= 1
    window.close()
    assert engine.alive_threads() == []


@pytest.mark.slow
def test_a_missing_camera_with_the_real_engine_is_a_message(qtbot, dashboard_checkpoint):
    window = make_window(qtbot, EngineSettings(camera=7, microphone=None, checkpoint=str(dashboard_checkpoint)))
    window.start_live()
    qtbot.waitUntil(lambda: window.banner.text().startswith("camera: "), timeout=60000)
    assert "camera 7" in window.banner.text() and window.isVisible()
    engine = window.runner.engine
    window.close()
    assert engine is None or engine.alive_threads() == []


@pytest.mark.slow
def test_a_recorded_session_folder_replays_in_the_window(qtbot, dashboard_clip, dashboard_checkpoint, tmp_path):
    from app.session import is_session_folder

    # A video file stands in for the camera (this machine has none); the record toggle is on.
    window = MainWindow(
        EngineSettings(camera=str(dashboard_clip), microphone=None, checkpoint=str(dashboard_checkpoint)),
        real_engine, scan=NO_DEVICES, record_root=tmp_path,
    )
    qtbot.addWidget(window)
    window.show()
    window.source_bar.record.setChecked(True)
    window.start_live()
    qtbot.waitUntil(lambda: len(window.events) >= 3, timeout=60000)
    recorded_to = window.runner.settings.record_to
    window.stop()
    qtbot.waitUntil(lambda: window.runner.state == "idle", timeout=20000)
    assert is_session_folder(recorded_to)

    window.open_media(recorded_to)
    qtbot.waitUntil(lambda: len(window.events) >= 2 and window.video.frames_shown > 0, timeout=60000)
    assert window.runner.settings.media == recorded_to and window.runner.settings.record_to is None
    window.close()


@pytest.mark.slow
def test_pause_and_seek_from_the_window_move_the_real_replay(qtbot, dashboard_clip, dashboard_checkpoint):
    window = make_window(qtbot, EngineSettings(camera=None, microphone=None, checkpoint=str(dashboard_checkpoint)))
    window.open_media(dashboard_clip)
    qtbot.waitUntil(lambda: window.position > 0.5, timeout=60000)
    window.toggle_play()  # pause
    qtbot.wait(300)
    paused_at = window.position
    qtbot.wait(700)
    assert window.position == pytest.approx(paused_at, abs=0.1)
    after_seek: list[float] = []
    window.runner.position.connect(after_seek.append)
    window.seek_to(4.5)
    window.toggle_play()  # resume
    qtbot.waitUntil(lambda: window.position >= 5.0, timeout=10000)
    skipped = [p for p in after_seek if paused_at + 0.3 < p < 4.0]
    assert skipped == []  # it jumped to 4.5 s; it did not play through the middle
    assert window.replay_bar.slider.value() >= 40
    window.close()
