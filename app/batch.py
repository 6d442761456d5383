"""Batch analysis: a whole study's recordings replayed exactly, one Dask task each, on this machine or a
cluster, with nothing lost to a crash, a corrupt file or Ctrl-C.

- `find_recordings` turns the inputs (files, folders searched for video and audio files and session
  folders, CSVs with a `path` column) into `Recording`s, each with its own results folder name.
- `replay_recording` is the task. It runs in a Dask worker process and replays one recording exactly as
  `main.py replay --exact --out FOLDER` does (the same `replay` and `EventFiles`, so the files are equal
  byte for byte); the checkpoint and the extractor models are loaded once per worker process (a set for each
  recording it runs at once, `_ModelSets`) and reused by every recording it runs after. A recording is done when its folder
  holds `DONE.json`, written last and atomically, with the settings it was made with and its summary;
  one that fails gets `FAILED.json` with the error instead, and the batch goes on.
- `run_batch` owns the cluster (a `LocalCluster` of worker processes on loopback, or the scheduler it is
  given), skips the recordings already done with the same settings, submits the rest, shows progress, and
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

import csv
import dataclasses
import hashlib
import json
import os
import queue
import signal
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carat_model.atomic import write_atomically, write_json_atomically

from .control import EngineOptions
from .events import MODALITY_NAMES, EmotionEvent

DONE_NAME = "DONE.json"
FAILED_NAME = "FAILED.json"
VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma"}
MEDIA_SUFFIXES = VIDEO_SUFFIXES | AUDIO_SUFFIXES
CUT_OFF_S = 1.0  # events ending this much before the file's stated duration: said in the summary
SUMMARY_COLUMNS = ("path", "name", "status", "error", "warnings", "duration_s", "windows", "words", "wall_s")


class BatchError(ValueError):
    """The batch cannot start: an input, the output folder or the cluster is not usable."""


@dataclass(frozen=True)
class Recording:
    path: str  # absolute: a media file or a session folder
    name: str  # its results folder under the output folder
    columns: dict[str, str] = field(default_factory=dict)  # carried from the input CSV into the summary


@dataclass
class RecordingResult:
    name: str
    path: str
    status: str  # "done" | "failed" | "pending" (not run: the batch was interrupted first)
    error: str = ""
    warnings: str = ""  # what the replay warned of (e.g. a file cut off part-way: the events stop there)
    duration_s: float | None = None
    windows: int | None = None
    words: int | None = None
    wall_s: float | None = None
    shares: dict[str, float] = field(default_factory=dict)  # {label}_passed, {label}_mean_score, {stream}_present
    worker: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class BatchReport:
    results: list[RecordingResult]
    skipped: int  # done before this run, with the same settings
    interrupted: bool = False
    summary_paths: tuple[Path, ...] = ()

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


# -- the inputs -------------------------------------------------------------------------------------


def find_recordings(inputs: Sequence[str | os.PathLike], *, skip: Path | None = None) -> list[Recording]:
    """Every recording the inputs name, in input order, each once. `skip`: a folder not to search (the
    output folder, when it lies inside an input folder)."""
    from .session import is_session_folder

    found: dict[str, Recording] = {}
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise BatchError(f"input {path} does not exist; give media files, folders or a CSV with a path column")
        if path.is_file() and path.suffix.lower() == ".csv":
            rows = _csv_rows(path)
        elif path.is_dir() and not is_session_folder(path):
            rows = [(media, {}) for media in _media_in(path, skip)]
            if not rows:
                raise BatchError(f"folder {path} holds no video or audio files ({', '.join(sorted(MEDIA_SUFFIXES))})")
        else:
            rows = [(path, {})]
        for media, columns in rows:
            key = str(media.resolve())
            found.setdefault(key, Recording(key, "", columns))
    return _named(list(found.values()))


def _csv_rows(path: Path) -> list[tuple[Path, dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if "path" not in fields:
            raise BatchError(f"{path} has no 'path' column (its columns: {', '.join(fields) or 'none'}); add one")
        clashing = sorted(set(fields) & set(SUMMARY_COLUMNS) - {"path"})
        if clashing:
            raise BatchError(f"{path}: columns {clashing} are the summary's own; rename them in the CSV")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not (row.get("path") or "").strip():
                raise BatchError(f"{path} line {number}: the path is empty")
            media = Path(row["path"].strip())
            media = media if media.is_absolute() else path.parent / media  # relative to the CSV, as prepare reads
            rows.append((media, {k: v or "" for k, v in row.items() if k != "path" and k is not None}))
    return rows


def _media_in(folder: Path, skip: Path | None) -> list[Path]:
    from .session import is_session_folder

    found = []
    for root, folders, files in os.walk(folder):
        here = Path(root)
        keep = []
        for name in sorted(folders):
            sub = here / name
            if skip is not None and sub.resolve() == skip.resolve():
                continue
            if is_session_folder(sub):
                found.append(sub)  # a recorded session is one recording; its own files are not searched
            else:
                keep.append(name)
        folders[:] = keep
        found += [here / name for name in sorted(files) if Path(name).suffix.lower() in MEDIA_SUFFIXES]
    return sorted(found)


def _named(recordings: list[Recording]) -> list[Recording]:
    """Results folders named by the file's stem; stems that clash get a hash of the full path, so a name
    never depends on which other inputs a run was given."""
    stems = [Path(r.path).stem if Path(r.path).suffix else Path(r.path).name for r in recordings]
    named = []
    for recording, stem in zip(recordings, stems):
        if stems.count(stem) > 1:
            stem = f"{stem}-{hashlib.sha256(recording.path.encode()).hexdigest()[:8]}"
        named.append(dataclasses.replace(recording, name=stem))
    return named


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

    from .engine import media_path
    from .replay import EventFiles, replay

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


def window_shares(events: Sequence[EmotionEvent]) -> dict[str, float]:
    """Per label: the share of windows where it passed its threshold and its mean (smoothed) score; per
    stream: the share of windows where it was present."""
    if not events:
        return {}
    count = len(events)
    shares = {}
    for index, label in enumerate(events[0].labels):
        shares[f"{label}_passed"] = sum(bool(e.decided[index]) for e in events) / count
        shares[f"{label}_mean_score"] = sum(e.scores[index] for e in events) / count
    for stream in MODALITY_NAMES:
        shares[f"{stream}_present"] = sum(bool(e.present.get(stream)) for e in events) / count
    return shares


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


@dataclass(frozen=True)
class ClusterSettings:
    scheduler: str | None = None  # an existing cluster's address; None: a LocalCluster on loopback
    workers: int | None = None  # local cluster: worker processes (None: half the cores, at least one)
    threads_per_worker: int = 1
    dashboard: bool = False
    connect_timeout_s: float = 5.0


def default_workers() -> int:
    """One worker process per two cores: one exact replay keeps about two cores busy (face, voice and
    speech recognition run side by side)."""
    return max(1, (os.cpu_count() or 2) // 2)


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

    from .engine import media_path

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


def connect(cluster: ClusterSettings, note=lambda text: None):
    """(a Client, the LocalCluster it owns or None). BatchError, in one line, when the scheduler at
    `cluster.scheduler` does not answer within the connect timeout."""
    import dask
    from distributed import Client, LocalCluster

    _quiet_dask_logs()
    if cluster.scheduler:
        try:
            client = Client(cluster.scheduler, timeout=cluster.connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise BatchError(
                f"no Dask scheduler answers at {cluster.scheduler} within {cluster.connect_timeout_s:g} s "
                f"({type(error).__name__}); start one (dask scheduler, dask-jobqueue) or leave out --scheduler "
                "to run on this machine"
            ) from None
        if not client.scheduler_info().get("workers"):
            note(f"the scheduler at {cluster.scheduler} has no workers yet: the recordings wait for them")
        if cluster.dashboard:
            note(f"dashboard: {client.dashboard_link}")
        return client, None
    workers = cluster.workers or default_workers()
    # Ctrl-C in a terminal reaches the whole process group; the worker processes ignore it (they inherit the
    # ignored signal) so that this process alone decides: cancel, close the cluster, keep what is done.
    ignoring = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if ignoring else None
    # One retry on a worker's death (a crash in native code can be chance); the same death twice fails it.
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            local = LocalCluster(
                n_workers=workers,
                threads_per_worker=cluster.threads_per_worker,
                processes=True,  # the engine runs native code with threads of its own: a process per worker
                host="127.0.0.1",  # loopback only: nothing of a local batch is reachable from the network
                dashboard_address="127.0.0.1:0" if cluster.dashboard else None,
                silence_logs=40,  # logging.ERROR: the progress bar and our notes are what the user reads
            )
    except (OSError, RuntimeError, TimeoutError) as error:
        raise BatchError(f"could not start {workers} Dask worker processes on this machine: {error}") from None
    finally:
        if ignoring:
            signal.signal(signal.SIGINT, previous)
    client = Client(local, set_as_default=False)
    if cluster.dashboard:
        note(f"dashboard: {client.dashboard_link}")
    return client, local


def _quiet_dask_logs() -> None:
    import logging

    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def close_cluster(client, local) -> None:
    if client is not None:
        client.close(timeout=10)
    if local is not None:
        local.close(timeout=10)  # the nannies end worker processes still busy in a replay


def write_summary(out: Path, recordings: Sequence[Recording], results: Sequence[RecordingResult]) -> tuple[Path, ...]:
    """`summary.csv` and `summary.parquet`: one row per recording, its carried columns after the path."""
    import pandas as pd

    carried: list[str] = []
    for recording in recordings:
        carried += [c for c in recording.columns if c not in carried]
    shares: list[str] = []
    for result in results:
        shares += [c for c in result.shares if c not in shares]
    rows = []
    for recording, result in zip(recordings, results):
        row = {"path": recording.path, **{c: recording.columns.get(c, "") for c in carried}}
        row.update({c: getattr(result, c) for c in SUMMARY_COLUMNS if c != "path"})
        row.update({c: result.shares.get(c) for c in shares})
        rows.append(row)
    columns = ["path", *carried, *SUMMARY_COLUMNS[1:], *shares]
    table = pd.DataFrame(rows, columns=columns)
    for name in ("duration_s", "wall_s", *shares):
        table[name] = table[name].astype("float64")
    for name in ("windows", "words"):
        table[name] = table[name].astype("Int64")
    paths = (out / "summary.csv", out / "summary.parquet")
    write_atomically(paths[0], lambda temporary: table.to_csv(temporary, index=False), suffix=".tmp.csv")
    write_atomically(paths[1], lambda temporary: table.to_parquet(temporary, index=False), suffix=".tmp.parquet")
    return paths
