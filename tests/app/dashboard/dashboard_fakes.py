"""Fakes at the edge of the dashboard (the engine) and synthetic engine output, for the dashboard tests."""

from __future__ import annotations

import threading

import numpy as np

from app.control import EngineCallbacks, EngineSettings, PreviewFrame
from app.events import EmotionEvent, StreamHealth, TimedWord

LABELS = ("happy", "sad", "angry", "surprise", "disgust", "fear")


class FakeEngine:
    """Records the commands the window sends; tests call its callbacks from their own threads."""

    def __init__(self, settings: EngineSettings, callbacks: EngineCallbacks, duration: float | None) -> None:
        self.settings = settings
        self.callbacks = callbacks
        self.duration = duration
        self.calls: list[tuple] = []
        self.stopped = threading.Event()

    def start(self) -> None:
        self.calls.append(("start",))

    def stop(self) -> None:
        self.calls.append(("stop",))
        self.stopped.set()

    def pause(self) -> None:
        self.calls.append(("pause",))

    def resume(self) -> None:
        self.calls.append(("resume",))

    def seek(self, seconds: float) -> None:
        self.calls.append(("seek", seconds))

    def set_speed(self, factor: float) -> None:
        self.calls.append(("set_speed", factor))

    def calibrate(self, seconds: float, profile: str | None = None) -> None:
        self.calls.append(("calibrate", seconds, profile))

    def set_lsl(self, lsl) -> None:
        self.calls.append(("set_lsl", lsl))

    def from_thread(self, function, *args) -> None:
        """Call a callback on a separate thread, as the engine's workers do."""
        thread = threading.Thread(target=function, args=args)
        thread.start()
        thread.join()


class FakeEngineFactory:
    def __init__(self, duration: float | None = 20.0) -> None:
        self.duration = duration
        self.engines: list[FakeEngine] = []

    def __call__(self, settings: EngineSettings, callbacks: EngineCallbacks) -> FakeEngine:
        engine = FakeEngine(settings, callbacks, self.duration if settings.media else None)
        self.engines.append(engine)
        return engine

    @property
    def last(self) -> FakeEngine:
        return self.engines[-1]


def make_event(
    end: float,
    scores: tuple[float, ...] = (0.8, 0.1, 0.2, 0.6, 0.05, 0.3),
    *,
    deciding: tuple[str | None, ...] = ("visual", None, "text", "audio", None, "visual"),
    present: dict[str, bool] | None = None,
    scored: dict[str, bool] | None = None,
    words: tuple[TimedWord, ...] = (),
) -> EmotionEvent:
    thresholds = (0.5,) * len(LABELS)
    return EmotionEvent(
        window_start=end - 3.0,
        window_end=end,
        labels=LABELS,
        scores=scores,
        raw_scores=scores,
        decided=tuple(s > t for s, t in zip(scores, thresholds)),
        thresholds=thresholds,
        deciding_modality=deciding,
        present=present or {"text": True, "visual": True, "audio": True},
        scored=scored or {"text": True, "visual": True, "audio": True},
        words=words,
        latency_s=0.12,
        created_at=end + 0.12,
    )


def make_frame(time: float = 1.0, with_face: bool = True) -> PreviewFrame:
    image = np.full((480, 640, 3), 60, np.uint8)
    image[100:380, 200:440] = (90, 140, 200)  # something face-coloured where the box goes
    landmarks = np.array([[220 + 10 * i, 200 + 5 * (i % 7)] for i in range(20)], float) if with_face else None
    return PreviewFrame(image=image, time=time, face_box=(200, 100, 440, 380) if with_face else None,
                        landmarks=landmarks)


def health(name: str, state: str = "running", **fields) -> StreamHealth:
    return StreamHealth(name=name, state=state, **fields)
