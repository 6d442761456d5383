"""The session clock: seconds since the session started, or in replay the media's time."""

from __future__ import annotations

import threading
import time


class SessionClock:
    """Seconds since the session started; in replay, the media's time, which pause, seek and
    speed control. Thread-safe; `wait_until` wakes early on stop, pause, seek or speed change."""

    def __init__(self, start_at: float = 0.0, speed: float = 1.0) -> None:
        self._condition = threading.Condition()
        self._base_time = start_at
        self._base_monotonic = time.monotonic()
        self._speed = speed
        self._paused = False
        self._jumps = 0  # jump_to calls so far: a waiter wakes on a jump

    def now(self) -> float:
        with self._condition:
            return self._now_locked()

    def _now_locked(self) -> float:
        if self._paused:
            return self._base_time
        return self._base_time + (time.monotonic() - self._base_monotonic) * self._speed

    def _rebase(self, new_time: float) -> None:
        self._base_time, self._base_monotonic = new_time, time.monotonic()
        self._condition.notify_all()

    def pause(self) -> None:
        with self._condition:
            if not self._paused:
                self._rebase(self._now_locked())
                self._paused = True

    def resume(self) -> None:
        with self._condition:
            if self._paused:
                self._paused = False
                self._rebase(self._base_time)

    @property
    def paused(self) -> bool:
        return self._paused

    def set_speed(self, factor: float) -> None:
        if not factor > 0:
            raise ValueError(f"speed must be positive, got {factor}")
        with self._condition:
            self._rebase(self._now_locked())
            self._speed = factor

    def nudge(self) -> None:
        """Wake every `wait_until` now, so it looks at its `wake` event."""
        with self._condition:
            self._condition.notify_all()

    def jump_to(self, seconds: float) -> None:
        with self._condition:
            self._jumps += 1
            self._rebase(seconds)

    def wait_until(
        self, target: float, stop: threading.Event, max_wait: float = 0.1, wake: threading.Event | None = None
    ) -> bool:
        """Sleep until the clock reaches `target`, or it jumps (a seek: the caller looks at the time
        again), or `wake` is set (and `nudge` called); False if `stop` was set first."""
        jumps = self._jumps
        while not stop.is_set():
            with self._condition:
                now = self._now_locked()
                if now >= target or self._jumps != jumps or (wake is not None and wake.is_set()):
                    return True
                delay = max_wait if self._paused else min(max_wait, (target - now) / self._speed)
                self._condition.wait(max(delay, 0.0005))
        return False
