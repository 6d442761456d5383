"""Replay a session folder or any video file through the engine, headless, and keep the results:
events as JSONL and CSV, and a PNG of the emotion timeline.

Real-time mode paces by the file's timestamps, like live; exact mode processes every frame as fast as
it can, and the same input and checkpoint always give the same events.
"""

from __future__ import annotations

import csv
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .control import EngineCallbacks, EngineSettings
from .events import MODALITY_NAMES, EmotionEvent, StreamHealth, TimedWord
from .pipeline import Engine, EngineOptions, Extractors, media_path
from .predictor import Predictor
from .sources import MediaError, probe_media


@dataclass
class ReplayResult:
    events: list[EmotionEvent]
    words: list[TimedWord]
    duration: float | None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


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
) -> ReplayResult:
    """Run the whole file through the engine and return its events (in window order)."""
    source_path = media_path(path)
    info = probe_media(source_path)  # a clear MediaError before any model loads
    events: list[EmotionEvent] = []
    words: list[TimedWord] = []
    warnings: list[str] = []
    errors: list[str] = []
    done = threading.Event()
    bar = None

    def on_position(seconds: float) -> None:
        if bar is not None and info.duration:
            bar.n = round(min(seconds, info.duration), 2)
            bar.refresh()

    def on_health(health: StreamHealth) -> None:
        if health.name == "media" and health.state == "stopped" and health.message:
            warnings.append(health.message)
        if health.state == "retrying" and health.message:
            warnings.append(f"{health.name}: {health.message}")

    callbacks = EngineCallbacks(
        on_event=events.append,
        on_words=words.extend,
        on_error=errors.append,
        on_position=on_position,
        on_health=on_health,
        on_finished=done.set,
    )
    settings = EngineSettings(
        camera=None, microphone=None, media=str(path), checkpoint=checkpoint, exact=exact
    )
    engine = Engine(settings, callbacks, options=options, predictor=predictor, extractors=extractors)
    bar = _progress_bar(info.duration) if progress else None  # after the checkpoint loaded (or was refused)
    engine.start()
    try:
        finished = done.wait(timeout_s)
    finally:
        engine.stop()
        if bar is not None:
            bar.close()
    if not finished:
        errors.append(f"replay did not finish within {timeout_s} s")
    media_errors = [e for e in errors if "not a readable media file" in e]
    if media_errors:
        raise MediaError(media_errors[0])
    return ReplayResult(
        events=sorted(events, key=lambda e: e.window_end),
        words=words,
        duration=info.duration,
        warnings=warnings,
        error="; ".join(errors) or None,
    )


def _progress_bar(duration: float | None):
    from tqdm import tqdm

    return tqdm(total=round(duration, 2) if duration else None, unit="s", desc="replay", bar_format=None)


def write_events_jsonl(events: list[EmotionEvent], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(event.to_json(), separators=(",", ":")) + "\n" for event in events)
    return path


def write_events_csv(events: list[EmotionEvent], path: Path) -> Path:
    """One row per event: window times, each label's smoothed score, decision and deciding modality,
    which modalities were present, and the words."""
    labels = events[0].labels if events else ()
    header = ["window_start", "window_end"]
    header += [f"{label}_score" for label in labels] + [f"{label}_raw" for label in labels]
    header += [f"{label}_decided" for label in labels] + [f"{label}_modality" for label in labels]
    header += [f"{m}_present" for m in MODALITY_NAMES] + ["words"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for e in events:
            writer.writerow(
                [f"{e.window_start:.3f}", f"{e.window_end:.3f}"]
                + [f"{s:.5f}" for s in e.scores]
                + [f"{s:.5f}" for s in e.raw_scores]
                + [int(d) for d in e.decided]
                + [m or "" for m in e.deciding_modality]
                + [int(e.present.get(m, False)) for m in MODALITY_NAMES]
                + [" ".join(w.text.strip() for w in e.words)]
            )
    return path


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
    presence_axis.set_yticks([0.4, 1.4, 2.4], ["words", "face", "voice"])
    presence_axis.set_xlabel("time (s)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_outputs(result: ReplayResult, folder: Path, stem: str = "events") -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "jsonl": write_events_jsonl(result.events, folder / f"{stem}.jsonl"),
        "csv": write_events_csv(result.events, folder / f"{stem}.csv"),
        "png": plot_timeline(result.events, folder / f"{stem}_timeline.png"),
    }
