"""What the checkpoint picker shows about a checkpoint: its labels, thresholds, the FeatureSpec it
was trained on and the modalities it scores, and for a checkpoint trained with `main.py train` its card (the
data, what it started from, its figures on the user's test split beside that start's; trainer/model_card.py),
read from the header alone (no weights loaded)."""

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
    card: dict | None  # from `extra`, for checkpoints trained by main.py train
    text: str  # the whole description, for the Model tab


def summarize_checkpoint(path: str | Path) -> CheckpointSummary:
    """Raises CheckpointError with what to do when the file is missing, corrupt or not ours."""
    info = read_checkpoint_info(path)
    config = info.config
    trained = info.extra.get("trained_modalities") or info.extra.get("modalities")
    trained_modalities = tuple(trained) if isinstance(trained, (list, tuple)) else None
    card = info.extra.get("card") if isinstance(info.extra.get("card"), dict) else None
    lines = [
        f"Checkpoint: {path}",
        *(card_lines(card) if card else []),
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
    other = {k: v for k, v in info.extra.items() if k not in ("trained_modalities", "modalities", "card")}
    if other:
        lines.append("Extra: " + _compact(other))
    return CheckpointSummary(
        path=str(path),
        labels=tuple(config.labels),
        thresholds=tuple(config.thresholds()),
        feature_spec=info.feature_spec,
        trained_modalities=trained_modalities,
        card=card,
        text="\n".join(lines),
    )


def card_lines(card: dict) -> list[str]:
    """The card of a trained checkpoint in a few lines: the verdict, the data, the start, the figures."""
    data = card.get("data") or {}
    samples = ", ".join(f"{split} {count}" for split, count in (data.get("samples") or {}).items())
    started = (card.get("started_from") or {}).get("path") or "fresh weights"
    lines = [
        f"Card: {card.get('verdict', '')}",
        f"  Trained on: {data.get('source')} ({samples}; streams: {data.get('streams')})",
        f"  Started from: {started}",
    ]
    new, other = card.get("new") or {}, card.get("other")
    if new:
        compared = (card.get("compared_with") or {}).get("path")
        against = f" (vs {compared}: {other['macro_f1']:.3f})" if other and compared else ""
        lines.append(
            f"  On the {card.get('split')} split ({card.get('samples')} samples): macro-F1 {new['macro_f1']:.3f}{against}"
        )
        per_label = new.get("per_label_f1") or {}
        theirs = (other or {}).get("per_label_f1") or {}
        lines.append(
            "  F1: "
            + ", ".join(
                f"{label} {f1:.2f}" + (f" (vs {theirs[label]:.2f})" if label in theirs else "")
                for label, f1 in per_label.items()
            )
        )
        seven, their_seven = new.get("seven_class"), (other or {}).get("seven_class")
        if seven:
            against = f" (vs {their_seven['accuracy']:.3f} / {their_seven['uar']:.3f})" if their_seven else ""
            lines.append(f"  7-class accuracy / UAR: {seven['accuracy']:.3f} / {seven['uar']:.3f}{against}")
    return lines


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
