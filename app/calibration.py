"""Per-person calibration: the person at rest, measured once, and every later score read relative to it.

Some faces read sad or angry at rest; with the checkpoint's thresholds such a person "passes" a label all
session long. Calibration records the person at rest (`--calibrate SECONDS`, or the dashboard's button:
a relaxed face towards the camera and a neutral sentence) and keeps a **baseline**: per stream and label,
the model's score at rest.

The rule (README "Calibration" says the same for users). For each label, with r the person's resting
level and s the model's score,

    calibrated = clip((s - r) / (1 - r), 0, 1)

so the person's rest reads 0 and certainty still reads 1, and the checkpoint's thresholds keep their
meaning ("this far from the person's rest towards certainty"): no per-person thresholds to carry around.
r is the resting level of the stream that decided the label in this window (CARAT's max-pool names it),
because a stream's own bias is what inflates a label: a face that looks sad at rest says nothing about
the person's words. Where a stream never decided that label at rest, r is the label's level over every
resting window. Each level is a median, so a blink or one word that lifts a few windows does not set
the rest; and only windows wholly inside the rest count (a window sees its last 3 s: the first seconds
of a recording only fill it), so a recording must be longer than a window (10 s is good). Raw model scores are calibrated before smoothing and deciding; events keep the model's raw
scores (`raw_scores`) and the levels applied (`rest`) beside the calibrated, smoothed `scores`.

A baseline is saved as a profile (`--profile NAME`, under the user's data folder, reusable across
sessions) and as `calibration.json` in the session (or replay results) folder, with the session time
after which it applies; replaying that session applies it from the same window, so a calibrated session
replays to the same scores. A baseline belongs to one checkpoint (its scores are what was measured): a
profile made with another is refused.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from carat_model.atomic import write_json_atomically
from carat_model.config import MODALITIES

from .defaults import user_data_folder

FORMAT = "carat-live-calibration"
FORMAT_VERSION = 1
SESSION_NAME = "calibration.json"  # the copy kept in a session or replay results folder
REST_INSTRUCTIONS = (
    "look at the camera with a relaxed face and say a neutral sentence, "
    "e.g. 'The train leaves at nine from platform two.'"
)
MIN_STREAM_WINDOWS = 4  # fewer resting windows decided by a stream: use the label's level over all windows
MAX_REST = 0.99  # a label that reads ~1 at rest leaves no room above it; keep the division finite


class CalibrationError(ValueError):
    """A profile that cannot be used (missing, damaged, from another checkpoint), with what to do."""


@dataclass(frozen=True)
class Baseline:
    """A person's resting scores for one checkpoint, and the rule that reads scores relative to them."""

    labels: tuple[str, ...]
    overall: tuple[float, ...]  # per label: the median over every resting window
    streams: dict[str, tuple[float | None, ...]]  # modality -> per label: the median where it decided, or None
    windows: int  # resting windows measured
    checkpoint: str  # file name, for messages
    checkpoint_sha256: str
    created_at: str = ""

    def levels(self, deciding: Sequence[str | None]) -> tuple[float, ...]:
        """Per label, the resting level of the stream that decided it (the label's overall one where that
        stream has none)."""
        levels = []
        for index, modality in enumerate(deciding):
            level = self.streams.get(modality, (None,) * len(self.labels))[index] if modality else None
            levels.append(self.overall[index] if level is None else level)
        return tuple(levels)

    def apply(self, scores: np.ndarray, levels: Sequence[float]) -> np.ndarray:
        """The module docstring's rule: rest -> 0, 1 stays 1."""
        rest = np.minimum(np.asarray(levels, np.float64), MAX_REST)
        return np.clip((np.asarray(scores, np.float64) - rest) / (1.0 - rest), 0.0, 1.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "rule": "calibrated = clip((score - rest) / (1 - rest), 0, 1); rest: the deciding stream's median "
            "at rest for that label, else the label's median over all resting windows",
            "labels": list(self.labels),
            "overall": list(self.overall),
            "streams": {m: list(levels) for m, levels in self.streams.items()},
            "windows": self.windows,
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Baseline:
        if data.get("format") != FORMAT or int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"it holds {data.get('format')!r} v{data.get('format_version')}, not {FORMAT} v1")
        labels = tuple(str(label) for label in data["labels"])

        def levels(values: Sequence[Any], optional: bool) -> tuple[Any, ...]:
            if len(values) != len(labels):
                raise ValueError(f"{len(values)} levels for {len(labels)} labels")
            out = tuple(None if v is None and optional else float(v) for v in values)
            if any(v is not None and not 0.0 <= v <= 1.0 for v in out):
                raise ValueError(f"levels must lie in [0, 1], got {list(values)}")
            return out

        streams = {str(m): levels(v, optional=True) for m, v in data["streams"].items()}
        unknown = sorted(set(streams) - set(MODALITIES))
        if unknown:
            raise ValueError(f"unknown streams {unknown}")
        return cls(
            labels=labels,
            overall=levels(data["overall"], optional=False),
            streams=streams,
            windows=int(data["windows"]),
            checkpoint=str(data["checkpoint"]),
            checkpoint_sha256=str(data["checkpoint_sha256"]),
            created_at=str(data.get("created_at", "")),
        )


def measure(
    labels: Sequence[str],
    resting: Sequence[tuple[Sequence[float], Sequence[str | None]]],
    *,
    checkpoint: str,
    checkpoint_sha256: str,
) -> Baseline:
    """The baseline from resting windows, each (the model's raw scores, the deciding stream per label).
    Windows where no stream was present carry nothing and are left out."""
    windows = [(np.asarray(raw, np.float64), tuple(deciding)) for raw, deciding in resting if any(deciding)]
    if not windows:
        raise CalibrationError(
            "calibration saw no face and heard no voice or words; scores stay as the model gives them. "
            f"Check the camera and microphone, then calibrate again: {REST_INSTRUCTIONS}"
        )
    scores = np.stack([raw for raw, _ in windows])  # [windows, labels]
    streams: dict[str, tuple[float | None, ...]] = {}
    for modality in MODALITIES:
        per_label: list[float | None] = []
        for index in range(len(labels)):
            decided = [raw[index] for raw, deciding in windows if deciding[index] == modality]
            per_label.append(float(np.median(decided)) if len(decided) >= MIN_STREAM_WINDOWS else None)
        if any(level is not None for level in per_label):
            streams[modality] = tuple(per_label)
    return Baseline(
        labels=tuple(labels),
        overall=tuple(float(v) for v in np.median(scores, axis=0)),
        streams=streams,
        windows=len(windows),
        checkpoint=checkpoint,
        checkpoint_sha256=checkpoint_sha256,
        created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


# -- files ----------------------------------------------------------------------------------------------


def profiles_folder() -> Path:
    return user_data_folder() / "profiles"


def profile_path(name: str) -> Path:
    """A profile's file: NAME under the user's data folder, or a .json file given by its path (a session's
    calibration.json)."""
    if name.endswith(".json") or os.sep in name or (os.altsep and os.altsep in name):
        return Path(name).expanduser()
    if not re.fullmatch(r"[\w][\w .-]*", name):
        raise CalibrationError(
            f"profile name {name!r} is not a plain name; use letters, digits, spaces, '-', '_' or '.' "
            "(or give the path of a .json file)"
        )
    return profiles_folder() / f"{name}.json"


def save(baseline: Baseline, path: Path, *, applies_after: float | None = None) -> Path:
    """Write a baseline; `applies_after` (session seconds, None = from the start) for a session's copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = baseline.to_json()
    if path.name == SESSION_NAME:
        data["applies_after"] = applies_after
    write_json_atomically(path, data)
    return path


def load(path: Path, *, labels: Sequence[str] | None = None, checkpoint_sha256: str | None = None) -> Baseline:
    """A saved baseline, checked against the run's labels and checkpoint."""
    return _load(path, labels, checkpoint_sha256)[0]


def load_session_copy(
    path: Path, *, labels: Sequence[str] | None = None, checkpoint_sha256: str | None = None
) -> tuple[Baseline, float]:
    """A session's calibration.json: its baseline and the session time after which it applies (-inf: all)."""
    return _load(path, labels, checkpoint_sha256)


def _load(path: Path, labels: Sequence[str] | None, checkpoint_sha256: str | None) -> tuple[Baseline, float]:
    if not path.is_file():
        raise CalibrationError(
            f"no calibration profile at {path}; make one with --calibrate 10 --profile NAME "
            "(or the dashboard's Calibrate button)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        baseline = Baseline.from_json(data)
        applies_after = -math.inf if data.get("applies_after") is None else float(data["applies_after"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:  # JSON and text errors are ValueErrors
        raise CalibrationError(
            f"calibration profile {path} is damaged ({type(error).__name__}: {error}); "
            "calibrate again with --calibrate 10 --profile NAME, or delete the file"
        ) from error
    if labels is not None and tuple(labels) != baseline.labels:
        raise CalibrationError(
            f"calibration profile {path} is for labels {list(baseline.labels)}, this checkpoint has "
            f"{list(labels)}; calibrate again with this checkpoint (--calibrate 10)"
        )
    if checkpoint_sha256 is not None and checkpoint_sha256 != baseline.checkpoint_sha256:
        raise CalibrationError(
            f"calibration profile {path} was measured with checkpoint {baseline.checkpoint} "
            f"(sha256 {baseline.checkpoint_sha256[:12]}), not the one in use (sha256 {checkpoint_sha256[:12]}); "
            "a baseline is a checkpoint's scores at rest: calibrate again (--calibrate 10)"
        )
    return baseline, applies_after


# -- one run's calibration --------------------------------------------------------------------------------


@dataclass
class Recording:
    """The rest being recorded: the windows lying wholly in [start, until]."""

    start: float
    until: float
    profile: str | None
    windows: list[tuple[tuple[float, ...], tuple[str | None, ...]]] = field(default_factory=list)


class RunCalibration:
    """One run's calibration state, used by the window loop (one thread; commands lock).

    A baseline applies to windows ending after `applies_after`; the first such window starts the smoother
    afresh (uncalibrated history would otherwise carry into calibrated scores). Recording the rest takes
    the windows lying wholly in [start, start + seconds]; the first window ending after that finishes it,
    and the new baseline applies from that window on. Replaying a calibrated session sets the same baseline and
    `applies_after`, so its windows go through the same steps.
    """

    def __init__(self, baseline: Baseline | None = None, applies_after: float = -math.inf) -> None:
        self._lock = threading.Lock()
        self.baseline = baseline
        self.applies_after = applies_after
        self._in_force = False  # a window has been calibrated with the current baseline
        self._last_end = 0.0  # the latest window's end: a recording asked for now starts after it
        self.recording: Recording | None = None

    def record(self, seconds: float, profile: str | None = None, *, start: float | None = None) -> None:
        """Take the windows wholly in [start, start + seconds] as the rest (start: the latest window's end)."""
        if not (isinstance(seconds, (int, float)) and 0 < seconds <= 600):
            raise ValueError(f"calibration takes from 0 to 600 seconds (e.g. 10), got {seconds!r}")
        with self._lock:
            start = self._last_end if start is None else start
            self.recording = Recording(start, start + seconds, profile)

    def due(self, end: float) -> Recording | None:
        """The finished recording, when the window ending at `end` is past it (taken: asked once)."""
        with self._lock:
            recording = self.recording
            if recording is None or end <= recording.until:
                return None
            self.recording = None
            return recording

    def use(self, baseline: Baseline, applies_after: float) -> None:
        with self._lock:
            self.baseline, self.applies_after, self._in_force = baseline, applies_after, False

    def rest_at(self, end: float) -> tuple[Baseline | None, bool]:
        """(the baseline for the window ending at `end`, whether it is the first window it applies to)."""
        with self._lock:
            self._last_end = end
            if self.baseline is None or end <= self.applies_after:
                return None, False
            first, self._in_force = not self._in_force, True
            return self.baseline, first

    def observe(self, start: float, end: float, raw: Sequence[float], deciding: Sequence[str | None]) -> None:
        """One window (from `start` to `end`) as predicted: kept when it lies wholly in the rest."""
        with self._lock:
            recording = self.recording
            if recording is not None and recording.start <= start and end <= recording.until:
                recording.windows.append((tuple(raw), tuple(deciding)))
