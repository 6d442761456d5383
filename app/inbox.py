"""Hand-overs between the engine's threads: bounded inboxes (with their in-band end and seek markers)
and the time-indexed buffers of feature rows the window loop cuts windows from."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

import numpy as np

END = object()  # end of a stream, never dropped


@dataclass(frozen=True)
class Restart:
    """In-band marker (never dropped): the media jumped to `at` (a seek). Everything after it in an
    inbox comes from the new point, so a worker resets its stream state exactly between the two."""

    at: float


class Inbox:
    """A bounded hand-over between two threads. `keep_newest` drops the oldest item when full (live
    video); otherwise `put` waits for room (audio, exact replay), giving up only when stopping."""

    def __init__(self, capacity: int, *, keep_newest: bool, stop: threading.Event) -> None:
        self._items: collections.deque = collections.deque()
        self._capacity, self._keep_newest, self._stop = capacity, keep_newest, stop
        self._condition = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: object) -> None:
        with self._condition:
            if self._closed:
                return
            if self._keep_newest:
                while len(self._items) >= self._capacity:
                    oldest = next((i for i, x in enumerate(self._items) if not isinstance(x, Restart)), None)
                    if oldest is None:
                        break
                    del self._items[oldest]
                    self.dropped += 1
            else:
                while len(self._items) >= self._capacity and not self._stop.is_set() and not self._closed:
                    self._condition.wait(0.1)
                if self._closed:  # its reader is gone (ended or failed): waiting would hang the producer
                    return
            self._items.append(item)
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def clear(self) -> None:
        with self._condition:
            self._items.clear()
            self._condition.notify_all()

    def get(self, timeout: float = 0.1) -> object | None:
        """The next item, END once closed and empty, or None on timeout."""
        with self._condition:
            if not self._items and not self._closed:
                self._condition.wait(timeout)
            if self._items:
                item = self._items.popleft()
                self._condition.notify_all()
                return item
            return END if self._closed else None


class StreamBuffer:
    """Feature rows of one modality in time, each chunk with the time it became available."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._chunks: collections.deque = collections.deque()  # (times [N,2], values [N,D], available_at)
        self._lock = threading.Lock()

    def add(self, times: np.ndarray, values: np.ndarray, available_at: float) -> None:
        if len(values):
            with self._lock:
                self._chunks.append(
                    (np.asarray(times, np.float64), np.asarray(values, np.float32), available_at)
                )

    def rows(self, start: float, end: float, available_by: float) -> tuple[np.ndarray, np.ndarray]:
        times, values = [np.zeros((0, 2))], [np.zeros((0, self.dim), np.float32)]
        with self._lock:
            for chunk_times, chunk_values, available_at in self._chunks:
                if available_at > available_by:
                    continue
                keep = (chunk_times[:, 1] > start) & (chunk_times[:, 0] < end)
                keep |= (
                    (chunk_times[:, 0] == chunk_times[:, 1])
                    & (chunk_times[:, 0] >= start)
                    & (chunk_times[:, 0] < end)
                )
                if keep.any():
                    times.append(chunk_times[keep])
                    values.append(chunk_values[keep])
        return np.concatenate(times), np.concatenate(values)

    def prune(self, before: float) -> None:
        with self._lock:
            while self._chunks and self._chunks[0][0][:, 1].max() < before:
                self._chunks.popleft()

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
