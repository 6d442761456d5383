"""What the camera and microphone pickers offer: devices found by probing (app.devices), never a crash.

Probing runs once when the window opens and when the user asks to refresh. Failures (no OpenCV
backend, no PortAudio, no sound server) become an empty list and a message saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.devices import list_cameras, list_microphones


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
        cameras = list_cameras(max_index)
    except ImportError as error:  # pragma: no cover - cv2 is a pinned dependency
        return [], f"OpenCV is not importable ({error}); reinstall with scripts/setup.sh"
    found = [DeviceChoice(f"Camera {c.id} ({c.width}x{c.height})", c.id) for c in cameras]
    problem = None if found else "No camera found: plug one in and press Refresh, or open a video file to replay."
    return found, problem


def find_microphones() -> tuple[list[DeviceChoice], str | None]:
    try:
        microphones = list_microphones()
    except (ImportError, OSError) as error:
        return [], f"Cannot list microphones ({error}); install PortAudio (libportaudio2) and restart."
    except Exception as error:  # noqa: BLE001 - PortAudio raises its own error types
        return [], f"Cannot list microphones ({error}); check the sound server, then press Refresh."
    found = [DeviceChoice(f"{m.name} (#{m.id})", m.id) for m in microphones]
    if any(m.name == "default" for m in microphones):
        # The sound server's default source: follows the system's choice (DESIGN: more reliable than "pulse").
        found.insert(0, DeviceChoice("System default", "default"))
    problem = None if found else "No microphone found: plug one in and press Refresh; words and voice stay empty."
    return found, problem


def scan_devices() -> DeviceScan:
    cameras, camera_problem = find_cameras()
    microphones, microphone_problem = find_microphones()
    problems = [p for p in (camera_problem, microphone_problem) if p]
    return DeviceScan(cameras + [NO_CAMERA], microphones + [NO_MICROPHONE], problems)
