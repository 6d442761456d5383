"""The window's lab row: the LSL toggle and the Calibrate button send their commands to the engine, a saved
profile is used from Start, and what the engine says about calibration and LSL is shown."""

from __future__ import annotations

from dashboard_fakes import health

from app import calibration
from app.control import CalibrationSettings, LslSettings
from app.dashboard.main_window import CALIBRATION_S
from app.dashboard.runner import RUNNING


def start_live(qtbot, window, factory):
    window.start_live()
    qtbot.waitUntil(lambda: window.runner.state == RUNNING, timeout=3000)
    return factory.last


def test_the_lsl_toggle_opens_the_streams_with_start_and_switches_them_while_running(qtbot, window, factory):
    window.lab_bar.lsl.setChecked(True)
    engine = start_live(qtbot, window, factory)
    assert engine.settings.lsl == LslSettings()
    window.lab_bar.lsl.setChecked(False)
    window.lab_bar.lsl.setChecked(True)
    assert [call for call in engine.calls if call[0] == "set_lsl"] == [("set_lsl", None), ("set_lsl", LslSettings())]


def test_calibrate_asks_the_person_to_rest_and_shows_when_it_is_done(qtbot, window, factory):
    window.lab_bar.calibrate.click()
    assert window.banner.level == "warning" and "Start live analysis first" in window.banner.text()
    engine = start_live(qtbot, window, factory)
    window.lab_bar.profile.setEditText("Ada")
    window.lab_bar.calibrate.click()
    assert ("calibrate", CALIBRATION_S, "Ada") in engine.calls
    assert "look at the camera" in window.banner.text() and "neutral sentence" in window.banner.text()
    assert window.lab_bar.calibration.text().startswith("calibrating")
    done = "calibrated on 40 windows at rest: scores are now relative to your rest"
    engine.from_thread(engine.callbacks.on_health, health("calibration", "running", message=done))
    qtbot.waitUntil(lambda: window.lab_bar.calibration.text() == "calibrated", timeout=3000)
    assert window.banner.level == "info" and done in window.banner.text()


def test_a_saved_profile_is_used_from_start(qtbot, window, factory, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    baseline = calibration.Baseline(("happy",), (0.1,), {}, 5, "c.safetensors", "00" * 32)
    calibration.save(baseline, calibration.profile_path("Ada"))
    window.lab_bar.profile.setEditText("Ada")
    engine = start_live(qtbot, window, factory)
    assert engine.settings.calibration == CalibrationSettings(profile="Ada")
    window.stop()
    window.lab_bar.profile.setEditText("not saved yet")  # a new name only names the next calibration
    engine = start_live(qtbot, window, factory)
    assert engine.settings.calibration is None


def test_lsl_that_cannot_start_is_shown_as_a_warning(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    message = "the LSL streams are off: liblsl could not be loaded (...); the run goes on without them"
    engine.from_thread(engine.callbacks.on_health, health("lsl", "stopped", message=message))
    qtbot.waitUntil(lambda: window.banner.text() == f"lsl: {message}", timeout=3000)
    assert window.banner.level == "warning"


def test_the_command_lines_lsl_and_profile_show_in_the_window_and_apply_at_start(qtbot, factory, tmp_path):
    from app.control import EngineSettings
    from app.dashboard.devices import DeviceChoice, DeviceScan
    from app.dashboard.main_window import MainWindow

    scan = DeviceScan(cameras=[DeviceChoice("Camera 0", 0)], microphones=[DeviceChoice("No microphone", None)],
                      problems=[])  # fmt: skip
    settings = EngineSettings(camera=0, microphone=None, lsl=LslSettings("Lab A"),
                              calibration=CalibrationSettings(seconds=10, profile="Ada"))  # fmt: skip
    window = MainWindow(settings, factory, scan=scan, record_root=tmp_path)
    qtbot.addWidget(window)
    assert window.lab_bar.lsl.isChecked() and window.lab_bar.profile.currentText() == "Ada"
    assert not window.banner.isVisible(), "no advice about a toggle nobody pressed"
    engine = start_live(qtbot, window, factory)
    assert engine.settings.lsl == LslSettings("Lab A") and engine.settings.calibration == settings.calibration
