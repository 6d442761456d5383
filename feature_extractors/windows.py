"""Timestamped feature rows, and one CARAT input window cut from the three streams.

Every extractor gives `TimedRows`: one (start, end) time span in seconds and one feature vector per row.
`build_window` turns the rows of a time window into the model's input:

- *unaligned*: each modality keeps its own sequence (words, video frames, audio frames) in time order,
  cut to the model's length for it (the most recent rows are kept: live analysis cares about "now")
  and padded with zeros after the real rows;
- *aligned*: one step per word for all three modalities; each word's visual and acoustic vectors are the
  plain mean of the rows whose span overlaps the word's span (as CMU-MOSEI's aligned features are made).
  A word with no overlapping visual (or audio) row gets zeros and mask 0 at that step.

A stream with no row in the window gives all-zero features and an all-zero mask, which carat_model
treats as a missing modality; nothing here ever produces NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import MODALITY_NAMES

# Seconds of face and voice one live prediction sees: the engine's default (app EngineOptions.window_s), and
# the span of the training windows made to look like live ones (trainer: EmoDB clips, still face photos).
LIVE_WINDOW_S = 3.0


@dataclass
class TimedRows:
    """Feature rows with time spans: times [N, 2] float64 (start, end) seconds, values [N, D] float32."""

    times: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1, 2)
        self.values = np.asarray(self.values, dtype=np.float32)
        if self.values.ndim != 2:
            raise ValueError(f"TimedRows values must be [N, D], got shape {self.values.shape}")
        if len(self.times) != len(self.values):
            raise ValueError(f"TimedRows has {len(self.times)} time spans but {len(self.values)} rows")
        if not np.isfinite(self.times).all():
            raise ValueError("TimedRows times must be finite")
        if np.any(self.times[:, 1] < self.times[:, 0]):
            raise ValueError("TimedRows has a row that ends before it starts")

    @classmethod
    def empty(cls, dim: int) -> TimedRows:
        return cls(np.zeros((0, 2), np.float64), np.zeros((0, dim), np.float32))

    @property
    def dim(self) -> int:
        return self.values.shape[1]

    def __len__(self) -> int:
        return len(self.values)

    def concat(self, other: TimedRows) -> TimedRows:
        if other.dim != self.dim:
            raise ValueError(f"cannot join rows of size {self.dim} and {other.dim}")
        return TimedRows(
            np.concatenate([self.times, other.times]), np.concatenate([self.values, other.values])
        )

    def between(self, start: float, end: float) -> TimedRows:
        """Rows whose span overlaps [start, end); a zero-length row counts when its instant lies inside."""
        keep = _overlaps(self.times, start, end)
        return TimedRows(self.times[keep], self.values[keep])


def _overlaps(times: np.ndarray, start: float, end: float) -> np.ndarray:
    row_start, row_end = times[:, 0], times[:, 1]
    instant = row_start == row_end
    return np.where(instant, (row_start >= start) & (row_start < end), (row_end > start) & (row_start < end))


def build_window(
    text: TimedRows,
    visual: TimedRows,
    audio: TimedRows,
    start: float,
    end: float,
    *,
    aligned: bool,
    lengths: tuple[int, int, int],
) -> dict[str, np.ndarray]:
    """One CARAT input (no batch dimension) from the rows overlapping [start, end).

    Returns text, text_mask, visual, visual_mask, audio, audio_mask: features [L, D] float32 and masks [L]
    float32 (1 = real step). `lengths` = (text, visual, audio) steps; aligned windows use lengths[0] for all.
    """
    if not end > start:
        raise ValueError(f"window end ({end}) must be after its start ({start})")
    if len(lengths) != 3 or any(int(n) < 1 for n in lengths):
        raise ValueError(f"lengths must be three positive step counts (text, visual, audio), got {lengths}")
    streams = {"text": text, "visual": visual, "audio": audio}
    for name, rows in streams.items():
        if not np.isfinite(rows.values).all():
            raise ValueError(f"{name} rows hold NaN or infinite values; the extractor output is broken")
    inside = {name: rows.between(start, end) for name, rows in streams.items()}
    if aligned:
        return _aligned_window(inside, int(lengths[0]))
    window: dict[str, np.ndarray] = {}
    for name, steps in zip(MODALITY_NAMES, lengths):
        rows = inside[name].values[-int(steps) :]  # the most recent rows
        window[name], window[f"{name}_mask"] = _pad(rows, int(steps))
    return window


def _pad(rows: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    features = np.zeros((steps, rows.shape[1]), np.float32)
    mask = np.zeros(steps, np.float32)
    features[: len(rows)] = rows
    mask[: len(rows)] = 1.0
    return features, mask


def _aligned_window(inside: dict[str, TimedRows], steps: int) -> dict[str, np.ndarray]:
    words = inside["text"]
    order = np.argsort(words.times[:, 0], kind="stable")[-steps:]  # most recent words, in time order
    word_times = words.times[order]
    window: dict[str, np.ndarray] = {}
    window["text"], window["text_mask"] = _pad(words.values[order], steps)
    for name in ("visual", "audio"):
        rows = inside[name]
        features = np.zeros((steps, rows.dim), np.float32)
        mask = np.zeros(steps, np.float32)
        for step, (word_start, word_end) in enumerate(word_times):
            overlapping = _overlaps(rows.times, word_start, word_end)
            if word_start == word_end:  # an instantaneous word takes the rows around its instant
                overlapping = (rows.times[:, 0] <= word_start) & (rows.times[:, 1] >= word_start)
            if overlapping.any():
                features[step] = rows.values[overlapping].mean(axis=0)
                mask[step] = 1.0
        window[name], window[f"{name}_mask"] = features, mask
    return window
