"""How a front end (the dashboard, the headless CLI, tests) drives the engine and hears from it.

The engine calls `EngineCallbacks` from its worker threads; a front end that must touch widgets
re-emits them as Qt signals (the dashboard's adapter does). Nothing here knows Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from feature_extractors.speech import MAX_UTTERANCE_S
from feature_extractors.utterances import UTTERANCE_PAUSE_S
from feature_extractors.windows import LIVE_WINDOW_S

from .events import EmotionEvent, StreamHealth, TimedWord
from .words_in_view import FADE_S, HOLD_S


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

    def calibrate(self, seconds: float, profile: str | None = None) -> None:
        """Record the person at rest from now for `seconds`, then read scores relative to it (saved under
        the profile name `profile`, when given; app/calibration.py)."""

    def set_lsl(self, lsl: LslSettings | None) -> None:
        """Publish events as Lab Streaming Layer streams from now on (None: stop publishing)."""


@dataclass(frozen=True)
class LslSettings:
    """Lab Streaming Layer outlets (app/lsl_output.py): the event stream's name; its markers stream is
    named '<name> Markers'."""

    name: str = "CARAT Live"
    # Replay: wait up to this long, before the media starts, for a consumer (LabRecorder) of both streams,
    # so that it receives the first event too.
    wait_s: float = 0.0


@dataclass(frozen=True)
class CalibrationSettings:
    """Per-person calibration (app/calibration.py). `seconds` > 0: record the person at rest for that long
    when the run starts, then save the baseline under `profile` (when named). `seconds` 0 with a profile:
    read scores relative to that saved profile from the start."""

    seconds: float = 0.0
    profile: str | None = None
    keep_in: str | None = None  # folder for the run's calibration.json (default: the recording's folder)


@dataclass
class EngineSettings:
    """What a user picks before starting (the dashboard's pickers, the CLI's options)."""

    camera: int | str | None = 0  # device index, file or URL; None = no camera
    microphone: int | str | None = "default"  # sounddevice device; None = no microphone
    media: str | None = None  # replay: a session folder or a video file
    checkpoint: str | None = None  # None = the bundled default
    record_to: str | None = None  # session folder to record into
    exact: bool = False  # replay: every frame, as fast as possible, deterministic
    lsl: LslSettings | None = None  # publish to Lab Streaming Layer
    calibration: CalibrationSettings | None = None  # None: a session folder's own calibration, if any
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class EngineOptions:
    """How the engine works (window, hop, queues, threads): `replay`'s options, one per field."""

    window_s: float = LIVE_WINDOW_S  # how much of each stream one prediction sees (3 s)
    # The words stream scores the current utterance (a sentence, or the words since a pause this long),
    # whole, as text models are trained: never a fragment, never two sentences mixed. It votes at full
    # strength until `text_window_s` after it is known, then fades out over `text_fade_s`
    # (app/words_in_view.py says why). utterance_pause_s 0: every word of that time, as one utterance.
    text_window_s: float = HOLD_S
    text_fade_s: float = FADE_S
    utterance_pause_s: float = UTTERANCE_PAUSE_S
    hop_s: float = 0.25  # a prediction every hop (4 a second)
    video_size: tuple[int, int] = (640, 480)
    fps: float = 30.0
    smoothing_s: float = 1.0  # see predictor.py for the smoothing rule
    audio_queue_s: float = 60.0  # bound on audio waiting for one worker (the producer waits beyond it)
    # Live, nothing waits behind speech recognition: audio waiting for it beyond this is skipped (oldest
    # first, counted in the asr health), so capture, recording, voice and face keep real time.
    asr_backlog_s: float = 4.0
    exact_video_queue: int = 16
    asr_threads: int = 2
    asr_pause_s: float = 0.3  # silence after which the words heard so far are given out
    # silence after which that pass starts, its words held until the pause is confirmed (0: at the pause).
    # Off by default: on 2 cores (benchmarks/pipeline_bench.py --early-pass 0 0.1, one run, 5 ends of
    # speech) words-in-event p95 was 1394 ms without it and 1661 ms with it; the passes it wastes when
    # speech comes back compete with the face worker. Try it on a machine with cores to spare.
    asr_early_pass_s: float = 0.0

    def __post_init__(self) -> None:
        """Refuse settings that would hang or mean nothing (a hop of 0 never ends), naming a sane value."""
        for label, value, low, high, example in (
            ("window", self.window_s, 0.1, 600.0, 3.0),
            ("hop", self.hop_s, 0.01, 60.0, 0.25),
            ("text window", self.text_window_s, 0.0, 600.0, HOLD_S),
            ("text fade", self.text_fade_s, 0.0, 600.0, FADE_S),
            ("utterance pause", self.utterance_pause_s, 0.0, 600.0, 1.0),
            ("smoothing", self.smoothing_s, 0.0, 600.0, 1.0),
            ("speech pause", self.asr_pause_s, 0.05, MAX_UTTERANCE_S / 2, 0.3),
            ("early speech pass", self.asr_early_pass_s, 0.0, self.asr_pause_s, 0.1),
        ):
            if not (isinstance(value, (int, float)) and low <= value <= high):
                raise ValueError(f"{label} must be from {low:g} to {high:g} seconds (e.g. {example:g}), got {value!r}")
