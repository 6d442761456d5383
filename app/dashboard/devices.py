"""What the camera and microphone pickers offer: devices found by probing, never a crash.

Probing runs once when the window opens and when the user asks to refresh. Failures (no OpenCV
backend, no PortAudio, no sound server) become an empty list and a message saying what to do.
"""

from __future__ import annotations

import glob
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceChoice:
    label: str  # what the picker shows
    value: int | str | None  # what goes into EngineSettings (None = do not use this stream)


@dataclass
class DeviceScan:
    cameras: list[DeviceChoice]
    microphones: list[DeviceChoice]
    problems: list[str]  # what went wrong while looking, and what to do


NO_CAMERA = DeviceChoice("No camera", None)
NO_MICROPHONE = DeviceChoice("No microphone", None)


def find_cameras(max_index: int = 4) -> tuple[list[DeviceChoice], str | None]:
    try:
        import cv2
    except ImportError as error:  # pragma: no cover - cv2 is a pinned dependency
        return [], f"OpenCV is not importable ({error}); reinstall with scripts/setup.sh"
    if sys.platform.startswith("linux"):
        # Probing an index with no device node only prints warnings; look at the nodes first.
        indices = sorted(int(path.removeprefix("/dev/video")) for path in glob.glob("/dev/video[0-9]*"))
        indices = [i for i in indices if i <= max_index * 4]
    else:
        indices = list(range(max_index))
    found = []
    for index in indices:
        capture = None
        try:
            capture = cv2.VideoCapture(index)
            if capture.isOpened():
                width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
                height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
                found.append(DeviceChoice(f"Camera {index} ({width}x{height})", index))
        except Exception:  # noqa: BLE001 - a broken driver must not stop the window from opening
            continue
        finally:
            if capture is not None:
                capture.release()
    problem = None if found else "No camera found: plug one in and press Refresh, or open a video file to replay."
    return found, problem


def find_microphones() -> tuple[list[DeviceChoice], str | None]:
    try:
        import sounddevice
    except (ImportError, OSError) as error:
        return [], f"Cannot list microphones ({error}); install PortAudio (libportaudio2) and restart."
    try:
        devices = sounddevice.query_devices()
    except Exception as error:  # noqa: BLE001 - PortAudio raises its own error types
        return [], f"Cannot list microphones ({error}); check the sound server, then press Refresh."
    found = []
    names = set()
    for index, device in enumerate(devices):
        if int(device.get("max_input_channels", 0)) <= 0:
            continue
        name = str(device.get("name", f"device {index}"))
        names.add(name)
        found.append(DeviceChoice(f"{name} (#{index})", index))
    if "default" in names:
        # The sound server's default source: follows the system's choice (DESIGN: more reliable than "pulse").
        found.insert(0, DeviceChoice("System default", "default"))
    problem = None if found else "No microphone found: plug one in and press Refresh; words and voice stay empty."
    return found, problem


def scan_devices() -> DeviceScan:
    cameras, camera_problem = find_cameras()
    microphones, microphone_problem = find_microphones()
    problems = [p for p in (camera_problem, microphone_problem) if p]
    return DeviceScan(cameras + [NO_CAMERA], microphones + [NO_MICROPHONE], problems)
