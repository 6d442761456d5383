"""The engine as a pipeline of stages, in MediaPipe's manner: sources -> extractor workers -> the window
loop. Each stage is given what it reads and where it writes (its inbox, the buffer it fills, a health
reporter, the clock), never the engine, and every stage restarts the same way.

A seek is one operation, `restart(at)`, called on each stage in pipeline order: the engine asks the media
source to restart; the source jumps on its own thread and, before any packet from the new point, calls
`restart(at)` on its sink, which restarts every stage downstream (each worker and the window loop) as
one step no window sees half of.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .clock import SessionClock
from .events import StreamHealth

HealthReporter = Callable[[StreamHealth], None]


class Stage(Protocol):
    name: str

    def restart(self, at: float) -> None:
        """The media jumped to `at`: forget the stream so far and go on from there."""


@dataclass(frozen=True)
class StageContext:
    """What every worker shares: the clock, the run's mode, where it reports, how it is stopped and guarded."""

    clock: SessionClock
    exact: bool  # exact replay: media time is the clock, and nothing is dropped
    stop: threading.Event  # set when the run stops
    report: HealthReporter
    progress_made: Callable[[], None]  # wakes the window loop (exact replay waits on the watermarks)
    new_thread: Callable[[str, Callable[[], object]], threading.Thread]  # a guarded thread (Supervisor.thread)
