"""Source: one capture thread (open, read packets, close), with its health and retries.

A source that fails (device unplugged, read error, no device at all) reports its state through
`on_health` and retries with exponential back-off; a file that cannot be read at all (corrupt,
truncated header) fails once with a message saying what to do. The other sources go on either way.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from feature_extractors.media import MediaError

from .clock import SessionClock
from .events import StreamHealth
from .packets import AudioPacket, VideoPacket


class SourceError(RuntimeError):
    """A failure worth retrying (device busy, unplugged, read error)."""


class EndOfStream(Exception):
    """The source has nothing more to give (a file ended)."""


@dataclass
class RetryPolicy:
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, failures: int) -> float:
        return min(self.max_delay_s, self.first_delay_s * 2 ** max(failures - 1, 0))


HealthCallback = Callable[[StreamHealth], None]


class PacketSink(Protocol):
    """Where a source delivers. `put_*` may block (exact replay applies back-pressure that way)."""

    def put_video(self, packet: VideoPacket) -> None: ...

    def put_audio(self, packet: AudioPacket) -> None: ...

    def end_of_stream(self, source: Source) -> None: ...

    def restart(self, at: float) -> None:
        """The source jumped to `at` (a seek), before any packet from there: every stage downstream restarts."""


class Source:
    """One capture thread: open, read packets until the end or a failure, close; on a failure report
    "retrying" and try again after a back-off. Subclasses implement `open`, `read` and `close`."""

    has_video = False
    has_audio = False

    def __init__(self, name: str, retry: RetryPolicy | None = None) -> None:
        self.name = name
        self.retry = retry or RetryPolicy()
        self.clock = SessionClock()
        self.health = StreamHealth(name=name, state="idle")
        self._sink: PacketSink | None = None
        self._on_health: HealthCallback = lambda _h: None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count_times: collections.deque = collections.deque()

    # -- what a subclass provides --------------------------------------------------------------
    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> list[VideoPacket | AudioPacket]:
        """The next packets; raises EndOfStream at the end, SourceError (or anything) on failure."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, object]:
        """What this source is, for session.json."""
        return {"kind": type(self).__name__}

    def restart(self, at: float) -> None:
        """A seek (app/stage.py): a device has no past to go back to, so nothing happens; a file jumps."""

    # -- the thread ------------------------------------------------------------------------------
    def start(
        self, clock: SessionClock, sink: PacketSink, on_health: HealthCallback, supervisor: Any = None
    ) -> None:
        """`supervisor` (app.supervisor.Supervisor): the engine's guard, so this thread never dies silently."""
        self.clock, self._sink, self._on_health = clock, sink, on_health
        self._stop.clear()
        if supervisor is not None:
            self._thread = supervisor.thread(self.name, self._run)
        else:
            self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5.0) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        """The thread is still reading (a file source ends at the end of the file)."""
        return self._thread is not None and self._thread.is_alive()

    def report(self, state: str, message: str = "", **details: object) -> None:
        self.health.state, self.health.message = state, message
        self.health.details.update(details)
        self._on_health(StreamHealth(**{**self.health.to_json(), "details": dict(self.health.details)}))

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.report("starting")
            try:
                self.open()
            except MediaError as error:
                self.report("failed", str(error))
                self._finish()
                return
            except Exception as error:  # noqa: BLE001 - any device error is reported and retried
                failures += 1
                self._wait_before_retry(failures, error)
                continue
            self.report("running")
            try:
                while not self._stop.is_set():
                    for packet in self.read():
                        self._deliver(packet)
                    if failures and self.health.state == "running":
                        failures = 0
            except EndOfStream:
                self.close()
                self.report("stopped", self.health.message)
                self._finish()
                return
            except MediaError as error:
                self.close()
                self.report("failed", str(error))
                self._finish()
                return
            except Exception as error:  # noqa: BLE001
                self.close()
                failures += 1
                self._wait_before_retry(failures, error)
                continue
            self.close()
        self.report("stopped")

    def _finish(self) -> None:
        if self._sink is not None:
            self._sink.end_of_stream(self)

    def _wait_before_retry(self, failures: int, error: BaseException) -> None:
        delay = self.retry.delay(failures)
        self.report("retrying", f"{error} (retry {failures} in {delay:.1f} s)", failures=failures)
        self._stop.wait(delay)

    def _deliver(self, packet: VideoPacket | AudioPacket) -> None:
        assert self._sink is not None
        if isinstance(packet, VideoPacket):
            self._sink.put_video(packet)
            self._count_frame()
        else:
            self._sink.put_audio(packet)

    def _count_frame(self) -> None:
        now = time.monotonic()
        self._count_times.append(now)
        while self._count_times and self._count_times[0] < now - 1.0:
            self._count_times.popleft()
        self.health.fps = float(len(self._count_times))
