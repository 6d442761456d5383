"""Replay a session folder or any video file through the engine, headless, and keep the results:
events as JSONL and CSV, and a PNG of the emotion timeline.

Real-time mode paces by the file's timestamps, like live; exact mode processes every frame as fast as
it can, and the same input and checkpoint always give the same events.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from carat_model.atomic import replace_atomically, write_atomically
from feature_extractors.media import MediaError, probe_media

from .control import CalibrationSettings, EngineCallbacks, EngineOptions, EngineSettings, LslSettings
from .engine import Engine
from .events import MODALITY_NAMES, MODALITY_WORDS, EmotionEvent, StreamHealth, TimedWord
from .events_csv import event_columns, event_row
from .predictor import Predictor
from .sources import media_path
from .workers import Extractors


@dataclass
class ReplayResult:
    events: list[EmotionEvent]
    words: list[TimedWord]
    duration: float | None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    interrupted: bool = False  # `stop` was set (a signal): the events are those made until then


def replay(
    path: str | Path,
    *,
    checkpoint: str | None = None,
    exact: bool = True,
    options: EngineOptions | None = None,
    predictor: Predictor | None = None,
    extractors: Extractors | None = None,
    progress: bool = False,
    timeout_s: float | None = None,
    out: EventFiles | None = None,
    stop: threading.Event | None = None,
    lsl: LslSettings | None = None,
    calibration: CalibrationSettings | None = None,
    on_note: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Run the whole file through the engine and return its events (in window order). With `out`, each
    event is also appended to its files as it is made; setting `stop` (a signal handler does) ends the
    replay within a second, keeping the events so far. `lsl`: publish the events as LSL streams;
    `calibration`: calibrate to the person (None: a session folder's own calibration applies, if it has
    one); the baseline in use is kept as calibration.json beside the `out` files. `on_note(text)` hears
    what LSL and calibration say as they go (waiting for a consumer, calibrated)."""
    source_path = media_path(path)
    info = probe_media(source_path)  # a clear MediaError before any model loads
    heard = _Heard(info.duration, out, on_note)
    if out is not None:
        calibration = replace(calibration or CalibrationSettings(), keep_in=str(out.folder))
    settings = EngineSettings(
        camera=None, microphone=None, media=str(path), checkpoint=checkpoint, exact=exact, lsl=lsl,
        calibration=calibration,
    )  # fmt: skip
    engine = Engine(settings, heard.callbacks(), options=options, predictor=predictor, extractors=extractors)
    heard.bar = _progress_bar(info.duration) if progress else None  # after the checkpoint loaded (or was refused)
    engine.start()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    interrupted = finished = False
    try:
        while not (finished := heard.done.wait(0.1)):  # short waits: a signal's handler runs, `stop` is seen
            interrupted = stop is not None and stop.is_set()
            if interrupted or (deadline is not None and time.monotonic() > deadline):
                break
    finally:
        engine.stop(timeout=1.0 if interrupted else 10.0)  # interrupted: threads still busy are daemons
        if heard.bar is not None:
            heard.bar.close()
    errors = heard.errors
    if not finished and not interrupted:
        errors.append(f"replay did not finish within {timeout_s} s")
    media_errors = [e for e in errors if "not a readable media file" in e]
    if media_errors:
        raise MediaError(media_errors[0])
    return ReplayResult(
        events=sorted(heard.events, key=lambda e: e.window_end),
        words=heard.words,
        duration=info.duration,
        warnings=heard.warnings,
        error="; ".join(errors) or None,
        interrupted=interrupted and not finished,
    )


class _Heard:
    """What the engine tells a replay: its events (also appended to `out`), words, warnings and errors;
    its position moves the progress bar."""

    def __init__(self, duration: float | None, out: EventFiles | None, on_note: Callable[[str], None] | None) -> None:
        self.duration, self.out, self.on_note = duration, out, on_note
        self.events: list[EmotionEvent] = []
        self.words: list[TimedWord] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.done = threading.Event()
        self.bar = None

    def callbacks(self) -> EngineCallbacks:
        return EngineCallbacks(
            on_event=self.on_event,
            on_words=self.words.extend,
            on_error=self.errors.append,
            on_position=self.on_position,
            on_health=self.on_health,
            on_finished=self.done.set,
        )

    def on_position(self, seconds: float) -> None:
        if self.bar is not None and self.duration:
            self.bar.n = round(min(seconds, self.duration), 2)
            self.bar.refresh()

    def on_health(self, health: StreamHealth) -> None:
        if health.name == "media" and health.state == "stopped" and health.message:
            self.warnings.append(health.message)
        if health.name in ("lsl", "calibration") and health.message:
            if health.state == "stopped":
                self.warnings.append(f"{health.name}: {health.message}")
            elif self.on_note is not None:
                self.on_note(f"{health.name}: {health.message}")
        if health.state == "retrying" and health.message:
            self.warnings.append(f"{health.name}: {health.message}")

    def on_event(self, event: EmotionEvent) -> None:
        self.events.append(event)
        if self.out is not None:
            self.out.write(event)


def _progress_bar(duration: float | None):
    from tqdm import tqdm

    return tqdm(total=round(duration, 2) if duration else None, unit="s", desc="replay", bar_format=None)


def _json_line(event: EmotionEvent) -> str:
    return json.dumps(event.to_json(), separators=(",", ":")) + "\n"


def read_events_jsonl(path: Path) -> list[EmotionEvent]:
    """The events of a JSONL file; a last line cut off by a kill is skipped."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(EmotionEvent.from_json(json.loads(line)))
        except (json.JSONDecodeError, TypeError, KeyError):
            continue
    return events


class EventFiles:
    """A replay's results, on disk as they are made, so that no signal or crash loses them.

    During the run, events are appended to `events.partial.jsonl` and `events.partial.csv` and flushed
    line by line (like the session recorder): a SIGKILL loses nothing but a line being written. `finish`
    moves them over `events.jsonl` / `events.csv` (each an atomic rename: an old result is replaced whole
    or not at all) and then draws `events_timeline.png` from what was written. Thread-safe.
    """

    def __init__(self, folder: Path, stem: str = "events") -> None:
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"--out {folder} is a file; give a folder for the results (it is created if new)")
        self._made_folder = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.paths = {
            "jsonl": folder / f"{stem}.jsonl",
            "csv": folder / f"{stem}.csv",
            "png": folder / f"{stem}_timeline.png",
        }
        self._partial = {kind: folder / f"{stem}.partial.{kind}" for kind in ("jsonl", "csv")}
        self._jsonl = open(self._partial["jsonl"], "w", encoding="utf-8")
        self._csv_handle = open(self._partial["csv"], "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._csv_handle)
        self._lock = threading.Lock()
        self._closed = False
        self.count = 0

    def write(self, event: EmotionEvent) -> None:
        with self._lock:
            if self._closed:
                return  # an event made while the run was being stopped
            if self.count == 0:
                self._csv.writerow(event_columns(event.labels))
            self._jsonl.write(_json_line(event))
            self._csv.writerow(event_row(event))
            self._jsonl.flush()
            self._csv_handle.flush()
            self.count += 1

    def discard(self) -> None:
        """The replay could not run at all: leave any old results, and the folder, as they were."""
        with self._lock:
            self._closed = True
            for handle in (self._jsonl, self._csv_handle):
                handle.close()
            for partial in self._partial.values():
                partial.unlink(missing_ok=True)
        if self._made_folder and not any(self.folder.iterdir()):
            self.folder.rmdir()

    def finish(self, *, timeline: bool = True, title: str = "") -> dict[str, Path]:
        """Close, put the files in place, and (with `timeline`) draw the PNG from the JSONL as written.
        Without it (a signal asked for a quick exit), an old PNG is removed rather than left beside
        results it does not show."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if self.count == 0:
                    self._csv.writerow(event_columns(()))
                for handle in (self._jsonl, self._csv_handle):
                    handle.close()
                for kind, partial in self._partial.items():
                    replace_atomically(partial, self.paths[kind])
        written = {kind: self.paths[kind] for kind in ("jsonl", "csv")}
        if not timeline:
            self.paths["png"].unlink(missing_ok=True)
            return written
        events = read_events_jsonl(self.paths["jsonl"])
        write_atomically(
            self.paths["png"], lambda drawing: plot_timeline(events, Path(drawing), title=title), suffix=".tmp.png"
        )
        return {**written, "png": self.paths["png"]}


def plot_timeline(events: list[EmotionEvent], path: Path, title: str = "") -> Path:
    """Each label's smoothed score over time, its threshold dashed, and which streams were present."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (scores_axis, presence_axis) = plt.subplots(
        2, 1, figsize=(11, 5.5), sharex=True, gridspec_kw={"height_ratios": [4, 1]}
    )
    if events:
        times = [e.window_end for e in events]
        for index, label in enumerate(events[0].labels):
            line = scores_axis.plot(times, [e.scores[index] for e in events], label=label)[0]
            scores_axis.axhline(
                events[0].thresholds[index], color=line.get_color(), linestyle=":", linewidth=0.8
            )
        for row, modality in enumerate(MODALITY_NAMES):
            present = [1 if e.present.get(modality) else 0 for e in events]
            presence_axis.fill_between(times, row, [row + 0.8 * p for p in present], step="pre", alpha=0.6)
    scores_axis.set_ylabel("score (smoothed)")
    scores_axis.set_ylim(0, 1)
    scores_axis.legend(loc="upper right", ncol=6, fontsize=8)
    scores_axis.set_title(title or "emotion timeline")
    presence_axis.set_yticks([0.4, 1.4, 2.4], [MODALITY_WORDS[m] for m in MODALITY_NAMES])
    presence_axis.set_xlabel("time (s)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
