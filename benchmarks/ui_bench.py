"""How long the dashboard's UI thread stalls while the engine's output arrives (target: under 50 ms).

A synthetic engine thread sends what the real one does, at its rates: 10 EmotionEvents a second
(more than the engine's 4), 30 preview frames a second (640x480 with a face box and 468 landmarks),
words every second and every stream's health every second. A 5 ms heartbeat timer on the UI thread
measures the gaps between its ticks: a gap beyond 5 ms is time the UI thread could not answer.
The real main window (offscreen platform: every widget paints) shows it all.

    .venv/bin/python benchmarks/ui_bench.py [--seconds 20] [--events-per-s 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.control import EngineCallbacks, EngineSettings, PreviewFrame
from app.events import EmotionEvent, StreamHealth, TimedWord

LABELS = ("happy", "sad", "angry", "surprise", "disgust", "fear")
HEARTBEAT_MS = 5
TARGET_MS = 50.0


class SyntheticEngine:
    """Sends engine-shaped output from its own thread, at the given rates."""

    def __init__(self, callbacks: EngineCallbacks, events_per_s: float, fps: float) -> None:
        self.callbacks = callbacks
        self.events_per_s, self.fps = events_per_s, fps
        self.duration = None
        self.sent = {"events": 0, "frames": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="synthetic-engine", daemon=True)
        rng = np.random.default_rng(0)
        self._images = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(4)]
        self._landmarks = rng.uniform((200, 120), (440, 380), size=(468, 2))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def seek(self, seconds: float) -> None: ...
    def set_speed(self, factor: float) -> None: ...

    def _run(self) -> None:
        start = time.monotonic()
        next_event = next_frame = next_second = start
        rng = np.random.default_rng(1)
        while not self._stop.is_set():
            now = time.monotonic()
            t = now - start
            if now >= next_frame:
                image = self._images[self.sent["frames"] % len(self._images)]
                self.callbacks.on_frame(PreviewFrame(image, t, (200, 120, 440, 380), self._landmarks))
                self.sent["frames"] += 1
                next_frame += 1 / self.fps
            if now >= next_event:
                self.callbacks.on_event(self._event(t, rng))
                self.sent["events"] += 1
                next_event += 1 / self.events_per_s
            if now >= next_second:
                self.callbacks.on_words([TimedWord("word", t, t + 0.3), TimedWord("after", t + 0.35, t + 0.7)])
                for name in ("camera", "microphone", "face", "voice", "asr", "model"):
                    self.callbacks.on_health(StreamHealth(name, "running", fps=30.0, dropped=int(t), lag_s=0.1))
                next_second += 1.0
            time.sleep(max(0.0, min(next_frame, next_event, next_second) - time.monotonic()))

    @staticmethod
    def _event(t: float, rng: np.random.Generator) -> EmotionEvent:
        scores = tuple(float(s) for s in rng.uniform(0, 1, len(LABELS)))
        return EmotionEvent(
            window_start=t - 3, window_end=t, labels=LABELS, scores=scores, raw_scores=scores,
            decided=tuple(s > 0.5 for s in scores), thresholds=(0.5,) * 6,
            deciding_modality=tuple(rng.choice(["text", "visual", "audio"]) for _ in LABELS),
            present={"text": True, "visual": True, "audio": True},
            scored={"text": True, "visual": False, "audio": False},
            words=(TimedWord("word", t - 1, t - 0.7),), latency_s=0.1, created_at=t,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events-per-s", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()

    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from app.dashboard.devices import DeviceChoice, DeviceScan
    from app.dashboard.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    engines: list[SyntheticEngine] = []

    def factory(settings: EngineSettings, callbacks: EngineCallbacks) -> SyntheticEngine:
        engines.append(SyntheticEngine(callbacks, args.events_per_s, args.fps))
        return engines[-1]

    scan = DeviceScan([DeviceChoice("Camera 0", 0)], [DeviceChoice("System default", "default")], [])
    window = MainWindow(EngineSettings(), factory, scan=scan)
    window.resize(1280, 720)
    window.show()

    ticks: list[float] = []
    cpu: list[float] = []  # the UI thread's own CPU time at each tick

    def tick() -> None:
        ticks.append(time.perf_counter())
        cpu.append(time.thread_time())

    heartbeat = QTimer(interval=HEARTBEAT_MS, timeout=tick)
    heartbeat.start()
    window.start_live()
    QTimer.singleShot(int(args.seconds * 1000), app.quit)
    app.exec()
    window.close()

    gaps_ms = np.diff(np.array(ticks)) * 1000
    cpu_ms = np.diff(np.array(cpu)) * 1000
    stalls_ms = np.maximum(0.0, gaps_ms - HEARTBEAT_MS)
    engine = engines[0]
    print(f"UI thread under load for {args.seconds:.0f} s: {args.events_per_s:g} events/s, {args.fps:g} frames/s, "
          f"words and 6 health rows every second (platform {app.platformName()})")
    print(f"  events sent {engine.sent['events']}, shown {len(window.events)}; "
          f"frames sent {engine.sent['frames']}, drawn {window.video.frames_shown} (the rest replaced by newer ones)")
    print(f"  heartbeat gaps: median {np.median(gaps_ms):.1f} ms, p99 {np.percentile(gaps_ms, 99):.1f} ms")
    worst = int(np.argmax(stalls_ms))
    longest = float(stalls_ms[worst])
    verdict = "OK" if longest < TARGET_MS else "OVER TARGET"
    print(f"  longest UI stall: {longest:.1f} ms (target < {TARGET_MS:.0f} ms) {verdict}; the UI thread ran "
          f"{cpu_ms[worst]:.1f} ms of it (the rest it waited for a CPU core or the GIL)")
    print(f"  longest UI thread work between two ticks: {cpu_ms.max():.1f} ms; "
          f"UI thread busy {100 * cpu_ms.sum() / gaps_ms.sum():.0f}% of the run")
    return 0 if longest < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
