"""The cameras and microphones this machine offers: the one device lister (`main.py devices`, the
first-run check of `live`, and the dashboard's pickers all use it)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "camera" | "microphone"
    id: int | str
    name: str
    details: str = ""
    width: int | None = None  # cameras: the size the device opens at
    height: int | None = None


def camera_indices(max_index: int = 8) -> list[int]:
    """The indices worth trying: OpenCV has no enumeration API, and probing an index with no device
    node only prints warnings, so on Linux the /dev/video* nodes say which to try."""
    if sys.platform.startswith("linux"):
        return sorted(int(p.name[5:]) for p in Path("/dev").glob("video*") if p.name[5:].isdigit())
    return list(range(max_index))


def list_cameras(max_index: int = 8) -> list[DeviceInfo]:
    """Cameras OpenCV can open, by index; one whose driver fails is left out, never raised."""
    import cv2

    found = []
    for index in camera_indices(max_index):
        capture = None
        try:
            capture = cv2.VideoCapture(index)
            if capture.isOpened():
                width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
                height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
                fps = capture.get(cv2.CAP_PROP_FPS)
                name = f"/dev/video{index}" if sys.platform.startswith("linux") else f"camera {index}"
                found.append(
                    DeviceInfo("camera", index, name, f"{width}x{height} @ {fps:.0f} fps", width, height)
                )
        except Exception:  # noqa: BLE001 - a broken driver must not stop the listing
            continue
        finally:
            if capture is not None:
                capture.release()
    return found


def list_microphones() -> list[DeviceInfo]:
    """Input devices PortAudio offers. Raises OSError when PortAudio itself is missing, and
    sounddevice.PortAudioError when it cannot list devices (no sound server)."""
    import sounddevice as sd

    found = []
    for index, device in enumerate(sd.query_devices()):
        channels = int(device.get("max_input_channels", 0))
        if channels > 0:
            details = f"{channels} ch, {float(device.get('default_samplerate', 0)):.0f} Hz"
            found.append(DeviceInfo("microphone", index, str(device.get("name", f"device {index}")), details))
    return found
