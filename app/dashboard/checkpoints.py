"""What the checkpoint picker shows about a checkpoint: its labels, thresholds, the FeatureSpec it
was trained on and the modalities it scores, read from the header alone (no weights loaded)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from carat_model import CheckpointError, read_checkpoint_info


@dataclass(frozen=True)
class CheckpointSummary:
    path: str
    labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    feature_spec: dict | None
    trained_modalities: tuple[str, ...] | None  # from `extra`, when the trainer recorded it
    text: str  # the whole description, for the Model tab


def summarize_checkpoint(path: str | Path) -> CheckpointSummary:
    """Raises CheckpointError with what to do when the file is missing, corrupt or not ours."""
    info = read_checkpoint_info(path)
    config = info.config
    trained = info.extra.get("trained_modalities") or info.extra.get("modalities")
    trained_modalities = tuple(trained) if isinstance(trained, (list, tuple)) else None
    lines = [
        f"Checkpoint: {path}",
        "Labels and thresholds: "
        + ", ".join(f"{label} {threshold:.2f}" for label, threshold in zip(config.labels, config.thresholds())),
        f"Inputs: words {config.text_dim}-d, face {config.visual_dim}-d, voice {config.audio_dim}-d, "
        + ("aligned to words" if config.aligned else "unaligned"),
    ]
    if trained_modalities is not None:
        lines.append("Trained on: " + ", ".join(trained_modalities))
    if info.feature_spec:
        lines.append("FeatureSpec:")
        lines += [f"  {key}: {_compact(value)}" for key, value in info.feature_spec.items()]
    else:
        lines.append("FeatureSpec: none recorded (made before FeatureSpecs, e.g. imported from the authors)")
    other = {k: v for k, v in info.extra.items() if k not in ("trained_modalities", "modalities")}
    if other:
        lines.append("Extra: " + _compact(other))
    return CheckpointSummary(
        path=str(path),
        labels=tuple(config.labels),
        thresholds=tuple(config.thresholds()),
        feature_spec=info.feature_spec,
        trained_modalities=trained_modalities,
        text="\n".join(lines),
    )


def describe_checkpoint(path: str | Path | None) -> tuple[str, bool]:
    """(text for the Model tab, whether the checkpoint is usable)."""
    if path is None:
        text = "The bundled default checkpoint (chosen by the engine). Pick a file to see its labels and FeatureSpec."
        return text, True
    try:
        return summarize_checkpoint(path).text, True
    except CheckpointError as error:
        return f"Cannot use this checkpoint: {error}", False


def _compact(value: object, limit: int = 300) -> str:
    text = json.dumps(value, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"
