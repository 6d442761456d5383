"""Batch analysis's results: one RecordingResult per recording, and `summary.csv` and `summary.parquet`
with one row each (the input CSV's carried columns after the path, then the result and its shares)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carat_model.atomic import write_atomically

from .batch_inputs import SUMMARY_COLUMNS, Recording
from .events import MODALITY_NAMES, EmotionEvent


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
