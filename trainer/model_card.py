"""The card of a trained checkpoint, and the refusal of a model that tells nothing apart.

The card scores the new checkpoint beside another on the user's held-out split (test; validation when the
data has none): the checkpoint it started from (`main.py train --from`), or, for a run from scratch, the
shipped default it could have started from. Each at its own thresholds, over the labels that split has
samples of: per-label F1 and their mean (macro-F1), micro-F1, and where every sample has at most one label,
the seven-class view (the six labels and neutral, neutral = no label): a sample's class is its best-scoring
label above its threshold, or neutral when none passes; accuracy and UAR (the mean of the classes' recalls).

The rule for "better": the new checkpoint's macro-F1 on that split is higher than the other's by at least
BETTER_MARGIN, and where labels are single its seven-class UAR is not lower by BETTER_MARGIN or more.
Anything else is said plainly: "NOT better". The card goes into the checkpoint's header
(`extra["card"]`, which the dashboard's model picker shows) and beside it as Markdown and JSON
(`card_paths`).

A model whose thresholds predict every one of the data's labels for nearly every held-out sample, or no
label for any, is refused before it is saved (`refusal`), with the data's likely reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from carat_model.atomic import write_json_atomically

from .metrics import compute_metrics, hard_targets

BETTER_MARGIN = 0.01
# "Predicts every label": every one of the data's labels raised for at least this share of held-out samples.
EVERY_LABEL_SHARE = 0.9
NEUTRAL = "neutral"


class DegenerateModelError(ValueError):
    """A trained model whose thresholds predict every label or none: not saved as the result."""


class Baseline(NamedTuple):
    """The checkpoint a card compares the new one with, and its role in the user's words."""

    path: Path
    role: str  # "started from", or "the shipped default" (a run from scratch could have started from it)


def card_paths(checkpoint: str | Path) -> tuple[Path, Path]:
    """(Markdown, JSON) beside a checkpoint: runs/mine/model.safetensors -> model_card.md, model_card.json."""
    checkpoint = Path(checkpoint)
    stem = checkpoint.name.removesuffix(".safetensors")
    return checkpoint.with_name(f"{stem}_card.md"), checkpoint.with_name(f"{stem}_card.json")


# -- figures ------------------------------------------------------------------------------------------------


def single_label_classes(targets: np.ndarray, labels: Sequence[str]) -> np.ndarray | None:
    """Each sample's class (its one label, or neutral), or None when some sample has two labels or more."""
    present = hard_targets(targets)
    if (present.sum(axis=1) > 1).any():
        return None
    names = np.array(list(labels))
    return np.where(present.any(axis=1), names[present.argmax(axis=1)], NEUTRAL)


def decide_classes(scores: np.ndarray, labels: Sequence[str], thresholds: Sequence[float]) -> np.ndarray:
    """Each sample's class: the best-scoring label above its threshold, or neutral when none passes."""
    passing = scores > np.asarray(thresholds)
    best = np.where(passing, scores, -np.inf).argmax(axis=1)
    return np.where(passing.any(axis=1), np.array(list(labels))[best], NEUTRAL)


def figures(
    targets: np.ndarray, scores: np.ndarray, labels: Sequence[str], thresholds: Sequence[float], scored: Sequence[str]
) -> dict[str, Any]:
    """One model's figures on one split: per-label F1 and macro/micro-F1 over the `scored` labels; the
    seven-class accuracy and UAR where labels are single (else None)."""
    columns = [list(labels).index(label) for label in scored]
    predicted = scores > np.asarray(thresholds)
    result: dict[str, Any] = {"thresholds": {label: float(t) for label, t in zip(labels, thresholds)}}
    if columns:
        metrics = compute_metrics(targets[:, columns], predicted[:, columns])
        result |= {
            "per_label_f1": {label: f1 for label, f1 in zip(scored, metrics.per_label_f1)},
            "macro_f1": metrics.macro_f1,
            "micro_f1": metrics.micro_f1,
        }
    else:
        result |= {"per_label_f1": {}, "macro_f1": 0.0, "micro_f1": 0.0}
    truth = single_label_classes(targets, labels)
    result["seven_class"] = None
    if truth is not None:
        chosen = decide_classes(scores, labels, thresholds)
        recalls = {c: float((chosen[truth == c] == c).mean()) for c in (NEUTRAL, *labels) if (truth == c).any()}
        result["seven_class"] = {
            "accuracy": float((chosen == truth).mean()),
            "uar": float(np.mean(list(recalls.values()))),
            "recalls": recalls,
        }
    return result


def verdict(new: dict[str, Any], other: dict[str, Any]) -> tuple[bool, str]:
    """(whether the new checkpoint is better, the sentence that says so or says plainly that it is not)."""
    ours, theirs = new["macro_f1"], other["macro_f1"]
    figures_text = f"macro-F1 {ours:.3f} against {theirs:.3f}"
    if new["seven_class"] is not None and other["seven_class"] is not None:
        uar, their_uar = new["seven_class"]["uar"], other["seven_class"]["uar"]
        figures_text += f", 7-class UAR {uar:.3f} against {their_uar:.3f}"
        if uar - their_uar <= -BETTER_MARGIN:
            return False, f"The new checkpoint is NOT better: its 7-class UAR is lower ({figures_text})."
    if ours - theirs >= BETTER_MARGIN:
        return True, f"The new checkpoint is better: {figures_text}."
    if ours - theirs > -BETTER_MARGIN:
        return False, f"The new checkpoint is NOT better: {figures_text}, within {BETTER_MARGIN} of it."
    return False, f"The new checkpoint is NOT better: it is worse, {figures_text}; keep using the other."


def build_card(
    *,
    checkpoint: Path,
    dataset_facts: dict[str, Any],
    split: str,
    targets: np.ndarray,
    labels: Sequence[str],
    new_scores: np.ndarray,
    new_thresholds: Sequence[float],
    other: Baseline | None = None,
    other_scores: np.ndarray | None = None,
    other_thresholds: Sequence[float] = (),
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The card (a JSON-ready dict). `other`: the checkpoint compared with, whose scores on the same samples
    at its thresholds are `other_scores`, `other_thresholds`."""
    scored = [label for label in labels if hard_targets(targets)[:, list(labels).index(label)].any()]
    card: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "data": dataset_facts,
        "split": split,
        "samples": len(targets),
        "labels_scored": scored,
        "new": figures(targets, new_scores, labels, new_thresholds, scored),
        **(facts or {}),
    }
    if other is not None and other_scores is not None:
        card["compared_with"] = {"path": str(other.path), "role": other.role}
        card["other"] = figures(targets, other_scores, labels, other_thresholds, scored)
        card["better"], card["verdict"] = verdict(card["new"], card["other"])
    else:
        card["better"], card["verdict"] = None, "Compared with no other checkpoint (none reads this data)."
    if len(targets) < 50:
        card["caution"] = (
            f"{len(targets)} {split} samples: one sample more or less right moves a label's F1 by several points; "
            "treat differences under 0.05 as chance"
        )
    return card


# -- the refusal ----------------------------------------------------------------------------------------------


def refusal(
    targets: np.ndarray, predicted: np.ndarray, labels: Sequence[str], data_labels: Sequence[str]
) -> str | None:
    """Why a model tells nothing apart on these held-out samples, or None when it does: it raises every
    one of the data's labels for nearly every sample (where the samples do not all carry them all), or no
    label for any sample where some carry one."""
    if not len(targets) or not data_labels:
        return None
    columns = [list(labels).index(label) for label in data_labels]
    raised, carried = predicted[:, columns], hard_targets(targets)[:, columns]
    every = raised.all(axis=1).mean()
    if every >= EVERY_LABEL_SHARE and carried.all(axis=1).mean() < 0.5:
        return (
            f"with its tuned thresholds it predicts every label of the data ({', '.join(data_labels)}) for "
            f"{every:.0%} of the {len(targets)} held-out samples"
        )
    if not raised.any() and carried.any():
        return f"with its tuned thresholds it predicts no label for any of the {len(targets)} held-out samples"
    return None


# -- writing ---------------------------------------------------------------------------------------------------


def write_card(card: dict[str, Any]) -> tuple[Path, Path]:
    """The card as Markdown and JSON beside its checkpoint."""
    markdown, data = card_paths(card["checkpoint"])
    write_json_atomically(data, card)
    markdown.write_text(card_markdown(card), encoding="utf-8")
    return markdown, data


def card_markdown(card: dict[str, Any]) -> str:
    name = Path(card["checkpoint"]).name
    data = card["data"]
    lines = [f"# {name}", ""]
    lines.append(f"**{card['verdict']}**")
    lines.append("")
    if card.get("caution"):
        lines += [f"Caution: {card['caution']}.", ""]
    lines.append("## Data")
    lines.append("")
    lines.append(f"- source: `{data.get('source')}`")
    lines.append(f"- samples: {_counts(data.get('samples', {}))}; streams: {data.get('streams')}")
    per_label = data.get("labels", {})
    if per_label:
        lines.append(
            "- per label (train / valid / test): "
            + "; ".join(f"{label} {_counts(counts, bare=True)}" for label, counts in per_label.items())
        )
    started = card.get("started_from")
    if started:
        lines.append(f"- started from: `{started['path']}` (sha256 {started['sha256'][:12]}…)")
        frozen = card.get("frozen_streams")
        if frozen:
            lines.append(f"- kept as they were (no data for them): {frozen}")
    else:
        lines.append("- started from: fresh weights")
    if card.get("epochs"):
        lines.append(f"- epochs: {card['epochs']}, chosen: {card.get('best_epoch')}")
    lines.append("")
    other = card.get("other")
    heading = f"## On the {card['split']} split ({card['samples']} samples)"
    lines += [heading, ""]
    if other is not None:
        lines.append(f"Compared with `{card['compared_with']['path']}` ({card['compared_with']['role']}).")
        lines.append("")
        lines += ["| | new | other |", "|---|---|---|"]
    else:
        lines += ["| | new |", "|---|---|"]

    def row(name: str, pick) -> None:
        values = [pick(card["new"])] + ([pick(other)] if other is not None else [])
        lines.append(f"| {name} | " + " | ".join("n/a" if v is None else f"{v:.3f}" for v in values) + " |")

    for label in card["labels_scored"]:
        row(f"F1 {label}", lambda f, label=label: f["per_label_f1"].get(label))
    row("macro-F1", lambda f: f["macro_f1"])
    row("micro-F1", lambda f: f["micro_f1"])
    if card["new"]["seven_class"] is not None:
        row("7-class accuracy", lambda f: f["seven_class"]["accuracy"])
        row("7-class UAR", lambda f: f["seven_class"]["uar"])
    lines.append("")
    lines.append(
        "Each checkpoint at its own thresholds; macro-F1 is the mean F1 of the labels this split has samples of. "
        f"'Better' means a macro-F1 higher by at least {BETTER_MARGIN}, and no 7-class UAR lower by as much. "
        "Thresholds of the new one: "
        + ", ".join(f"{label} {t:.3f}" for label, t in card["new"]["thresholds"].items())
        + "."
    )
    return "\n".join(lines) + "\n"


def card_summary(card: dict[str, Any]) -> list[str]:
    """A few lines for a terminal or the model picker: the verdict and the figures side by side."""
    other = card.get("other")
    lines = [card["verdict"]]
    where = f"{card['split']} split, {card['samples']} samples"
    if other is not None:
        lines.append(f"On your {where}; new vs {card['compared_with']['role']} ({card['compared_with']['path']}):")
    else:
        lines.append(f"On your {where}:")
    for label in card["labels_scored"]:
        lines.append(
            f"  F1 {label}: " + _pair(card["new"]["per_label_f1"][label], other and other["per_label_f1"][label])
        )
    lines.append("  macro-F1: " + _pair(card["new"]["macro_f1"], other and other["macro_f1"]))
    if card["new"]["seven_class"] is not None:
        for key, name in (("accuracy", "7-class accuracy"), ("uar", "7-class UAR")):
            theirs = other["seven_class"][key] if other is not None else None
            lines.append(f"  {name}: " + _pair(card["new"]["seven_class"][key], theirs))
    if card.get("caution"):
        lines.append(f"Caution: {card['caution']}.")
    return lines


def _pair(new: float, other: float | None) -> str:
    return f"{new:.3f}" if other is None else f"{new:.3f} vs {other:.3f}"


def _counts(counts: dict[str, int], bare: bool = False) -> str:
    if bare:
        return " / ".join(str(counts.get(split, 0)) for split in ("train", "valid", "test"))
    return ", ".join(f"{split} {count}" for split, count in counts.items())
