"""One guard for every thread the engine starts: a thread that raises is never a silent death.

Structured concurrency in miniature (trio's nurseries, asyncio.TaskGroup): the engine makes each of its
threads (start-up, sources, extractor workers, the window loop) through `Supervisor.thread`. An exception
that escapes a thread's own handling reaches `on_failure(stream, error)` once, on that thread; the engine
decides there what it means (the stream is `failed`, its consumers are told it ended, the run ends if
nothing more can come). No call site needs a `try` of its own for this.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

FailureHandler = Callable[[str, BaseException], None]


def describe_failure(stream: str, error: BaseException) -> str:
    """The one-line message a failed stream shows (dashboard health panel, headless stderr, exit line)."""
    return (
        f"{stream} stopped: {type(error).__name__}: {error} (an internal error; the other streams go on "
        "where they can; please report it with this message)"
    )


class Supervisor:
    """Makes guarded threads and remembers which streams failed."""

    def __init__(self, on_failure: FailureHandler) -> None:
        self._on_failure = on_failure
        self._lock = threading.Lock()
        self.failed: dict[str, str] = {}  # stream -> message, in the order they failed

    def thread(self, stream: str, target: Callable[[], object]) -> threading.Thread:
        """A daemon thread (not started) running `target` under the guard."""

        def guarded() -> None:
            try:
                target()
            except BaseException as error:  # noqa: BLE001 - the one place a thread's failure is caught
                self.fail(stream, error)

        return threading.Thread(target=guarded, name=f"engine-{stream}", daemon=True)

    def fail(self, stream: str, error: BaseException) -> None:
        with self._lock:
            first = stream not in self.failed
            self.failed.setdefault(stream, describe_failure(stream, error))
        if not first:
            return
        try:
            self._on_failure(stream, error)
        except BaseException as handler_error:  # noqa: BLE001 - the handler itself broke: say so at least
            print(
                f"error: {self.failed[stream]}; and reporting it failed too: {handler_error!r}",
                file=sys.stderr,
                flush=True,
            )
