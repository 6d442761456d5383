"""Events to CSV, the one writer (replay's events.csv and the dashboard's export): one row per
EmotionEvent; window times, when it was made and its latency; per label its smoothed score, raw score,
decision, threshold, deciding modality and the person's resting level (calibrated runs; empty otherwise);
which modalities were present and scored; the words."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from .events import MODALITY_NAMES, EmotionEvent


def event_columns(labels: tuple[str, ...]) -> list[str]:
    """The header; `labels` () gives the header of a file with no events."""
    columns = ["window_start", "window_end", "created_at", "latency_s"]
    for label in labels:
        columns += [f"{label}_score", f"{label}_raw", f"{label}_decided", f"{label}_threshold", f"{label}_modality",
                    f"{label}_rest"]  # fmt: skip
    columns += [f"{m}_present" for m in MODALITY_NAMES] + [f"{m}_scored" for m in MODALITY_NAMES]
    return columns + ["words"]


def event_row(event: EmotionEvent) -> list[object]:
    """One event's cells, in `event_columns(event.labels)` order (numbers as Python writes them: exact)."""
    row: list[object] = [event.window_start, event.window_end, event.created_at, event.latency_s]
    for i in range(len(event.labels)):
        row += [
            event.scores[i],
            event.raw_scores[i],
            int(event.decided[i]),
            event.thresholds[i],
            event.deciding_modality[i] or "",
            "" if event.rest is None else event.rest[i],
        ]
    row += [int(event.present.get(m, False)) for m in MODALITY_NAMES]
    row += [int(event.scored.get(m, False)) for m in MODALITY_NAMES]
    return row + [" ".join(word.text.strip() for word in event.words)]


def write_events_csv(events: Iterable[EmotionEvent], path: str | Path) -> int:
    """Write the events; returns how many rows were written. Refuses events whose labels differ
    from the first one's (the columns would not mean the same thing)."""
    events = list(events)
    if not events:
        raise ValueError("there are no events to export yet: start the camera or replay a file first")
    labels = events[0].labels
    for event in events:
        if event.labels != labels:
            raise ValueError(f"events mix label sets {list(labels)} and {list(event.labels)}; export them separately")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(event_columns(labels))
        for event in events:
            writer.writerow(event_row(event))
    return len(events)
