"""What the engine emits: the contract between the pipeline, the session files and the dashboard.

Plain dataclasses with JSON round trips; no Qt, no torch. Times are seconds on the session clock
(monotonic seconds since the session started), so live and replay read the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from carat_model.config import MODALITIES

MODALITY_NAMES = MODALITIES  # CARAT's order (the engine's name for it)

# The user-facing word for each modality.
MODALITY_WORDS = {"text": "words", "visual": "face", "audio": "voice"}


@dataclass(frozen=True)
class TimedWord:
    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class EmotionEvent:
    """One prediction over one window of the three streams."""

    window_start: float
    window_end: float
    labels: tuple[str, ...]  # label names, in score order
    scores: tuple[float, ...]  # smoothed probabilities, one per label
    raw_scores: tuple[float, ...]  # the model's scores for this window alone
    decided: tuple[bool, ...]  # score above the label's threshold
    thresholds: tuple[float, ...]
    deciding_modality: tuple[str | None, ...]  # per label: "text" | "visual" | "audio" | None
    present: dict[str, bool]  # modality -> had data in the window
    scored: dict[str, bool]  # modality -> allowed to vote (trained in the checkpoint and present)
    words: tuple[TimedWord, ...] = ()
    latency_s: float | None = None  # newest capture in the window -> event, seconds
    created_at: float = 0.0  # session clock when the event was made
    # Calibrated runs (app/calibration.py): the person's resting level each label's score was read from;
    # `scores` are then relative to it, `raw_scores` stay the model's. None: not calibrated.
    rest: tuple[float, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmotionEvent:
        data = dict(data)
        data["words"] = tuple(TimedWord(**w) for w in data.get("words", ()))
        for key in ("labels", "scores", "raw_scores", "decided", "thresholds", "deciding_modality"):
            data[key] = tuple(data[key])
        if data.get("rest") is not None:
            data["rest"] = tuple(data["rest"])
        return cls(**data)


@dataclass
class StreamHealth:
    """The state of one stream, for the dashboard's health panel and the logs."""

    name: str  # "camera", "microphone", "face", "voice", "asr", "model", ...
    state: str  # "starting" | "running" | "retrying" | "stopped" | "failed" | "idle"
    fps: float = 0.0
    dropped: int = 0
    lag_s: float | None = None
    message: str = ""  # what went wrong and what to do, when state is retrying/failed
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
