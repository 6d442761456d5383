"""How a front end (the dashboard, the headless CLI, tests) drives the engine and hears from it.

The engine calls `EngineCallbacks` from its worker threads; a front end that must touch widgets
re-emits them as Qt signals (the dashboard's adapter does). Nothing here knows Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from .events import EmotionEvent, StreamHealth, TimedWord


@dataclass(frozen=True)
class PreviewFrame:
    """The newest processed video frame, for display."""

    image: np.ndarray  # H x W x 3, BGR, uint8
    time: float  # session clock, seconds
    face_box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in pixels
    landmarks: np.ndarray | None = None  # [N, 2] pixels


def _ignore(*_args: object) -> None:
    return None


@dataclass
class EngineCallbacks:
    on_event: Callable[[EmotionEvent], None] = _ignore
    on_health: Callable[[StreamHealth], None] = _ignore
    on_frame: Callable[[PreviewFrame], None] = _ignore
    on_words: Callable[[list[TimedWord]], None] = _ignore
    on_error: Callable[[str], None] = _ignore  # what went wrong and what to do, for a message box
    on_position: Callable[[float], None] = _ignore  # replay: seconds played so far
    on_finished: Callable[[], None] = _ignore  # replay reached the end, or the engine stopped


class EngineControl(Protocol):
    """Commands a front end sends. Every method returns at once; work happens on engine threads."""

    duration: float | None  # replay: length of the media in seconds; live: None

    def start(self) -> None: ...

    def stop(self) -> None:
        """Stop every thread and close every device; returns when they are gone."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def seek(self, seconds: float) -> None:
        """Replay only: continue from this media time."""

    def set_speed(self, factor: float) -> None:
        """Replay only, real-time mode: 1.0 = as recorded."""


@dataclass
class EngineSettings:
    """What a user picks before starting (the dashboard's pickers, the CLI's options)."""

    camera: int | str | None = 0  # device index, file or URL; None = no camera
    microphone: int | str | None = "default"  # sounddevice device; None = no microphone
    media: str | None = None  # replay: a session folder or a video file
    checkpoint: str | None = None  # None = the bundled default
    record_to: str | None = None  # session folder to record into
    exact: bool = False  # replay: every frame, as fast as possible, deterministic
    extra: dict[str, object] = field(default_factory=dict)
