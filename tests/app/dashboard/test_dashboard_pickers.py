"""The checkpoint picker shows labels and FeatureSpec from a real checkpoint; the device pickers
list what probing finds and turn failures into advice."""

from __future__ import annotations

from app.dashboard.checkpoints import describe_checkpoint, summarize_checkpoint
from app.dashboard.devices import NO_CAMERA, NO_MICROPHONE, find_microphones, scan_devices


def test_checkpoint_summary_lists_labels_thresholds_and_feature_spec(dashboard_checkpoint):
    from carat_model import read_checkpoint_info

    info = read_checkpoint_info(dashboard_checkpoint)
    summary = summarize_checkpoint(dashboard_checkpoint)
    assert summary.labels == tuple(info.config.labels)
    assert info.feature_spec, "the engine's untrained checkpoint records its FeatureSpec"
    for key in info.feature_spec:
        assert f"  {key}: " in summary.text
    for label, threshold in zip(info.config.labels, info.config.thresholds()):
        assert f"{label} {threshold:.2f}" in summary.text


def test_checkpoint_picker_in_the_window_shows_the_summary(window, dashboard_checkpoint):
    window.set_checkpoint(dashboard_checkpoint)
    assert window.source_bar.checkpoint.currentData() == str(dashboard_checkpoint)
    text = window.model_info.toPlainText()
    assert "Labels and thresholds: happy" in text and "FeatureSpec:" in text
    assert not window.banner.text()  # a usable checkpoint is no error


def test_a_corrupt_checkpoint_is_described_not_raised(tmp_path):
    corrupt = tmp_path / "broken.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    text, usable = describe_checkpoint(corrupt)
    assert not usable and "corrupt or truncated" in text


def test_device_scan_always_offers_running_without_each_device():
    scan = scan_devices()  # this machine: no /dev/video*, maybe no sound server
    assert scan.cameras[-1] == NO_CAMERA and scan.microphones[-1] == NO_MICROPHONE
    if len(scan.cameras) == 1:
        assert any("No camera found" in problem for problem in scan.problems)


def test_a_failing_sound_library_becomes_advice(monkeypatch):
    import sounddevice

    def broken():
        raise sounddevice.PortAudioError("Error querying device -1")

    monkeypatch.setattr(sounddevice, "query_devices", broken)  # PortAudio is the edge here
    found, problem = find_microphones()
    assert found == [] and "Cannot list microphones" in problem and "Refresh" in problem
