"""Batch analysis: a whole study's recordings replayed exactly, one Dask task each, on this machine or a
cluster, with nothing lost to a crash, a corrupt file or Ctrl-C.

- `find_recordings` (app/batch_inputs.py) turns the inputs (files, folders searched for video and audio
  files and session folders, CSVs with a `path` column) into `Recording`s, each with its own results
  folder name.
- `replay_recording` is the task. It runs in a Dask worker process and replays one recording exactly as
  `main.py replay --exact --out FOLDER` does (the same `replay` and `EventFiles`, so the files are equal
  byte for byte); the checkpoint and the extractor models are loaded once per worker process (a set for each
  recording it runs at once, `_ModelSets`) and reused by every recording it runs after. A recording is done when its folder
  holds `DONE.json`, written last and atomically, with the settings it was made with and its summary;
  one that fails gets `FAILED.json` with the error instead, and the batch goes on.
- `run_batch` owns the cluster (app/batch_cluster.py: a `LocalCluster` of worker processes on loopback,
  or the scheduler it is given), skips the recordings already done with the same settings, submits the rest, shows progress, and
  writes `summary.csv` and `summary.parquet` (one row per recording) however the run ends.

Recordings are not split into chunks. The engine carries state across a recording: score smoothing
(a score falls over seconds), a sentence held and faded over several seconds after it is heard, and speech
recognition that waits for a pause, so a chunk started part-way would give other events near its start
than the unsplit replay does, and no overlap makes that exact (a sentence can span any length). One task
per recording keeps every event equal to `main.py replay --exact`; the cost is that one long recording
is one worker's work (order the work longest first, which `run_batch` does, so it starts early).

Retries: a task catches its recording's own errors (corrupt, no streams, unreadable) and reports them; the
same file would fail the same way again, so none is retried. A worker process that dies (a crash in
native code, out of memory) makes the scheduler run its task once more elsewhere
(`distributed.scheduler.allowed-failures` = 1 on the local cluster); a second death fails the recording.
A rerun redoes every recording not done.

Ctrl-C: on this machine the worker processes ignore SIGINT and this process cancels what is pending and
closes the cluster, which ends the replays still running (their folders have no DONE marker, so a rerun
redoes them). On a remote cluster the pending tasks are cancelled; a replay already running there runs to
its end, and marks itself done if it gets there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carat_model.atomic import write_json_atomically

from .batch_cluster import ClusterSettings, close_cluster, connect
from .batch_inputs import BatchError, Recording, find_recordings
from .batch_summary import RecordingResult, window_shares, write_summary
from .control import EngineOptions

DONE_NAME = "DONE.json"
FAILED_NAME = "FAILED.json"
CUT_OFF_S = 1.0  # events ending this much before the file's stated duration: said in the summary



@dataclass
class BatchReport:
    results: list[RecordingResult]
    skipped: int  # done before this run, with the same settings
    interrupted: bool = False
    summary_paths: tuple[Path, ...] = ()

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


# -- one recording, in a worker ---------------------------------------------------------------------


class _ModelSets:
    """The loaded checkpoint and extractors of one worker process, reused by every recording it replays.
    A Predictor holds per-run state (its smoother), so two tasks running at once in one process
    (--threads-per-worker > 1) each borrow a set of their own; a set is loaded only when none is free."""

    def __init__(self) -> None:
        self._free: dict[tuple, queue.SimpleQueue] = {}
        self._lock = threading.Lock()
        self.load_s: list[float] = []  # seconds each set took to load, for the benchmark

    @contextmanager
    def borrow(self, checkpoint: str, options: EngineOptions) -> Iterator[tuple[Any, Any]]:
        key = (checkpoint, options.smoothing_s, options.asr_threads)
        with self._lock:
            free = self._free.setdefault(key, queue.SimpleQueue())
        try:
            models = free.get_nowait()
        except queue.Empty:
            models = self._load(checkpoint, options)
        try:
            yield models
        finally:
            free.put(models)

    def _load(self, checkpoint: str, options: EngineOptions) -> tuple[Any, Any]:
        from .predictor import Predictor
        from .workers import Extractors

        started = time.perf_counter()
        models = Predictor(checkpoint, smoothing_s=options.smoothing_s), Extractors.load(options.asr_threads)
        self.load_s.append(time.perf_counter() - started)
        return models


MODEL_SETS = _ModelSets()  # one per worker process


def preload_models(checkpoint: str, options: EngineOptions) -> float:
    """Load one model set in this worker process (if none is loaded); returns the seconds loading took."""
    with MODEL_SETS.borrow(checkpoint, options):
        pass
    return MODEL_SETS.load_s[-1] if MODEL_SETS.load_s else 0.0


def replay_recording(
    recording: Recording, out: str, checkpoint: str, options: EngineOptions, settings: dict[str, Any]
) -> RecordingResult:
    """The task: replay one recording into `out`/<name>/ and mark it done, or record why it failed.
    Errors of the recording itself come back as a failed result, never as an exception."""
    from feature_extractors.media import probe_media

    from .replay import EventFiles, replay
    from .sources import media_path

    folder = Path(out) / recording.name
    started = time.perf_counter()
    result = RecordingResult(recording.name, recording.path, "failed", worker=_worker_name())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for marker in (DONE_NAME, FAILED_NAME):  # first: a crash below must not leave an old marker standing
            (folder / marker).unlink(missing_ok=True)
        for stray in folder.glob(".*.tmp*"):  # a temporary file of an atomic write a kill cut short
            stray.unlink(missing_ok=True)
        duration = probe_media(media_path(recording.path)).duration
        result.duration_s = duration
        with MODEL_SETS.borrow(checkpoint, options) as (predictor, extractors):
            files = EventFiles(folder)
            try:
                replayed = replay(
                    recording.path, checkpoint=checkpoint, exact=True, options=options, predictor=predictor,
                    extractors=extractors, out=files, timeout_s=_time_limit(duration),
                )  # fmt: skip
            except BaseException:
                files.discard()
                raise
        files.finish(title=Path(recording.path).name)
        if replayed.error:
            raise RuntimeError(replayed.error)
        if not replayed.events:
            raise RuntimeError("the replay gave no events: the recording holds no usable face, voice or words")
        result.status, result.windows, result.words = "done", len(replayed.events), len(replayed.words)
        warnings = list(replayed.warnings)
        last = replayed.events[-1].window_end
        if duration and last < duration - CUT_OFF_S:  # e.g. a truncated MKV: decoding just ends, no error
            warnings.append(f"the events end at {last:.1f} s of {duration:.1f} s: the file may be cut off")
        result.warnings = "; ".join(warnings)
        result.shares = window_shares(replayed.events)
        result.wall_s = round(time.perf_counter() - started, 3)
        write_json_atomically(folder / DONE_NAME, {"settings": settings, "result": result.to_json()})  # last
    except Exception as error:  # noqa: BLE001 - a recording's failure is reported, the batch goes on
        result.status, result.error = "failed", f"{type(error).__name__}: {error}"
        result.wall_s = round(time.perf_counter() - started, 3)
        try:
            write_json_atomically(folder / FAILED_NAME, {"settings": settings, "result": result.to_json()})
        except OSError:
            pass  # the result still reaches the summary through the scheduler
    return result


def _time_limit(duration: float | None) -> float:
    """Long enough for any healthy replay on a loaded machine; a replay that hangs fails instead of holding
    its worker forever."""
    return 600.0 + 20.0 * (duration or 3600.0)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return ""


# -- the batch --------------------------------------------------------------------------------------


def batch_settings(checkpoint: str | os.PathLike | None, options: EngineOptions) -> tuple[str, dict[str, Any]]:
    """(the checkpoint's path, the settings a DONE marker must match to count): the checkpoint's content
    and every engine option, so that results made otherwise are redone rather than mixed in."""
    from .predictor import Predictor, resolve_checkpoint
    from .session import file_sha256

    path = resolve_checkpoint(checkpoint).resolve()
    if not path.is_file():
        raise BatchError(f"no checkpoint at {path}; check --checkpoint")
    # A checkpoint the workers would refuse (not a checkpoint, made for other extractors) is refused here
    # with the same message, once, instead of failing every recording.
    Predictor(path, warm_up=False)
    settings = {"checkpoint_sha256": file_sha256(path), "options": dataclasses.asdict(options)}
    return str(path), json.loads(json.dumps(settings))  # as read back from JSON (tuples become lists)


def read_marker(folder: Path, name: str = DONE_NAME) -> dict[str, Any] | None:
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # none, or a marker cut off by a crash: not done


def done_before(out: Path, recording: Recording, settings: dict[str, Any]) -> RecordingResult | None:
    """The recording's result when its folder holds a DONE marker made with these settings."""
    marker = read_marker(out / recording.name)
    if marker is None or marker.get("settings") != settings:
        return None
    return RecordingResult(**marker["result"])


def run_batch(
    recordings: Sequence[Recording],
    out: str | os.PathLike,
    *,
    checkpoint: str | os.PathLike | None = None,
    options: EngineOptions | None = None,
    cluster: ClusterSettings | None = None,
    progress: bool = True,
    on_note=None,
) -> BatchReport:
    """Replay every recording not yet done into `out`, and write the summary. Ctrl-C (KeyboardInterrupt)
    cancels what is pending, closes the cluster and returns with `interrupted` set; finished recordings
    stay done. BatchError when the cluster cannot be reached or started."""
    from feature_extractors.media import MediaError, probe_media

    from .sources import media_path

    options = options or EngineOptions()
    cluster = cluster or ClusterSettings()
    note = on_note or (lambda text: None)
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise BatchError(f"--out {out} is a file; give a folder for the results (it is created if new)")
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path, settings = batch_settings(checkpoint, options)

    results: dict[str, RecordingResult] = {}
    pending: list[tuple[Recording, float]] = []
    redo = 0
    for recording in recordings:
        done = done_before(out, recording, settings)
        if done is not None:
            results[recording.name] = done
            continue
        redo += read_marker(out / recording.name) is not None
        try:  # a file that cannot even be opened fails here, without a worker
            duration = probe_media(media_path(recording.path)).duration or 0.0
        except MediaError as error:
            results[recording.name] = _failed(recording, out, settings, f"MediaError: {error}")
            note(f"failed: {recording.path}: {results[recording.name].error}")
            continue
        pending.append((recording, duration))
    skipped = len(results) - sum(r.status == "failed" for r in results.values())
    if skipped:
        note(f"{skipped} recordings already done in {out}: skipped")
    if redo:
        note(f"{redo} recordings were done with another checkpoint or other options: redoing them")

    report = BatchReport([], skipped)
    client, local = connect(cluster, note) if pending else (None, None)  # BatchError: nothing written yet
    try:
        if pending:
            report.interrupted = _run_tasks(client, pending, out, checkpoint_path, options, settings, results,
                                            progress)  # fmt: skip
    finally:
        close_cluster(client, local)
        for recording in recordings:  # interrupted: some may have been finished since they were last heard of
            if recording.name not in results:
                why = "not run: the batch was interrupted first"
                done = done_before(out, recording, settings)
                results[recording.name] = done or RecordingResult(recording.name, recording.path, "pending", why)
        report.results = [results[r.name] for r in recordings]
        report.summary_paths = write_summary(out, recordings, report.results)
    return report


def _failed(recording: Recording, out: Path, settings: dict[str, Any], error: str) -> RecordingResult:
    result = RecordingResult(recording.name, recording.path, "failed", error)
    folder = out / recording.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DONE_NAME).unlink(missing_ok=True)
    write_json_atomically(folder / FAILED_NAME, {"settings": settings, "result": result.to_json()})
    return result


def _run_tasks(
    client,
    pending: list[tuple[Recording, float]],
    out: Path,
    checkpoint: str,
    options: EngineOptions,
    settings: dict[str, Any],
    results: dict[str, RecordingResult],
    progress: bool,
) -> bool:
    """Submit the pending recordings, longest first, and gather their results; True when interrupted."""
    from distributed import as_completed
    from tqdm import tqdm

    pending = sorted(pending, key=lambda item: -item[1])  # a long one starts early instead of ending last
    hours = {recording.name: duration / 3600 for recording, duration in pending}
    bar = tqdm(
        total=sum(hours.values()), unit="media h", disable=not progress, desc="batch", dynamic_ncols=True,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.3f}/{total:.3f} media h [{elapsed}<{remaining}]{postfix}",
    )  # fmt: skip
    failed = done = 0
    bar.set_postfix_str(f" 0/{len(pending)} recordings")
    futures = []
    try:
        for recording, _ in pending:
            future = client.submit(
                replay_recording, recording, str(out), checkpoint, options, settings,
                key=f"replay-{recording.name}-{uuid.uuid4().hex[:8]}",  # its name on the dashboard; unique per run
            )  # fmt: skip
            futures.append(future)
        by_key = {future.key: recording for future, (recording, _) in zip(futures, pending)}
        for future in as_completed(futures, loop=client.loop):
            recording = by_key[future.key]
            if future.status == "finished":
                result = future.result()
            else:  # the task itself failed: its worker died (twice), or it could not be run there
                error = future.exception()
                why = "its worker process died while replaying it (a crash in native code, or out of memory)"
                text = why if type(error).__name__ == "KilledWorker" else f"{type(error).__name__}: {error}"
                result = _failed(recording, out, settings, text)
            results[recording.name] = result
            done += result.status == "done"
            failed += result.status == "failed"
            if result.status == "failed":
                bar.write(f"failed: {recording.path}: {result.error}")
            bar.update(hours[recording.name])
            bar.set_postfix_str(
                f" {done + failed}/{len(pending)} recordings" + (f", {failed} failed" if failed else "")
            )
        return False
    except KeyboardInterrupt:
        if futures:
            client.cancel(futures, force=True)
        return True
    finally:
        bar.close()


# The batch's whole interface, wherever each piece lives (app/cli/batch.py, tests and benchmarks import it here).
__all__ = [
    "BatchError", "BatchReport", "ClusterSettings", "Recording", "RecordingResult", "batch_settings", "close_cluster",
    "connect", "find_recordings", "preload_models", "read_marker", "replay_recording", "run_batch", "write_summary",
]  # fmt: skip
