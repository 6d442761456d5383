"""The voice recipe: the shipped voice checkpoints from EmoDB and RAVDESS, their epochs and threshold chosen by
the recipe's folds (trainer/recipes/voice_folds.py; the figures they wrote under the work folder are read
back, or the folds run first). scripts/train_voice.py is its command line.

Writes, as float16 with `trained_modalities: ["audio"]` (the predictor lets only the voice vote):
- carat_voice.safetensors: trained on every EmoDB speaker and RAVDESS actor 01-16 (with the calm
  synthetic voices and noise-only windows) for the folds' median epoch count, with their median threshold
  (nothing is tuned on it);
- carat_voice_heldout.safetensors: the folds' task that held out EmoDB speaker 10 (and a group of four
  RAVDESS actors), which never heard the speakers its header names (`held_out_speakers`,
  `held_out_ravdess_actors`): what the real-microphone tests and benchmarks/voice_robustness.py score;
- voice_metrics.json and VOICE_MODEL_CARD.md, from the folds' figures.

RAVDESS is CC BY-NC-SA 4.0, so these weights carry its terms. `ravdess=False` makes the same checkpoint from
EmoDB alone (CC0), with the epochs and threshold of the folds' EmoDB-only training.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import FeatureDataset
from ..voice_corpora import prepared_voice, split_dataset
from ..voice_training import voice_config, voice_settings, with_calm_voices, with_enough_voice
from .cards import write_card
from .cards.voice_card import data_terms
from .voice_folds import FoldSettings, recorded_or_run

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT_EMODB = "emodb:10"


@dataclass(frozen=True)
class VoiceSettings:
    """Where the voice windows and runs live, where the checkpoints go, and whether RAVDESS is trained on."""

    work: Path = ROOT / "build" / "voice"
    out: Path = ROOT / "models"
    ravdess: bool = True
    fold_epochs: int = FoldSettings.epochs  # the folds' trainings, when they have not run yet
    fold_jobs: int = FoldSettings.jobs


def save_fp16(model, path: Path, feature_spec: dict, extra: dict) -> None:
    import torch

    from carat_model import save_checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model, feature_spec=feature_spec, extra=extra, dtype=torch.float16)


def save_held_out(task: dict, work: Path, out: Path, feature_spec: dict) -> None:
    """The folds' task model, with the threshold chosen on its validation speakers, as carat_voice_heldout."""
    from carat_model import load_checkpoint

    model, _ = load_checkpoint(work / "cv" / task["name"] / "model.safetensors")
    model.set_label_thresholds([task["threshold"]] * len(model.config.labels))
    ids = {corpus: [s.split(":")[1] for s in task["test"] if s.startswith(corpus)] for corpus in ("emodb", "ravdess")}
    extra = {**data_terms(True), "held_out_speakers": ids["emodb"], "held_out_ravdess_actors": ids["ravdess"],
             "valid_speakers": task["valid"], "epoch": task["epoch"], "threshold": task["threshold"]}  # fmt: skip
    save_fp16(model, out / "carat_voice_heldout.safetensors", feature_spec, extra)


def final_model(work: Path, dataset, windows: list[dict], speakers: list[str], ravdess: bool, epochs: int,
                valid: list[str]):  # fmt: skip
    """The shipped recipe trained on `speakers` (every one of the prepared voice windows', or EmoDB's alone) for
    `epochs` epochs, its last epoch kept (a finished run in work/final is read back, an interrupted one
    resumes); returns (model, minutes of training)."""
    from ..loop import fit

    # Validation is only the loop's bookkeeping here (a few speakers, to keep it quick; they are trained on
    # too): the epoch count and threshold come from the folds, and the last epoch is kept.
    split = split_dataset(dataset, windows, speakers, valid, [])
    full = FeatureDataset("voice", split.labels, split.aligned, {"train": split.split("train"),
                          "valid": split.split("valid")}, split.feature_spec, split.source)  # fmt: skip
    run_dir = work / ("final" if ravdess else "final_no_ravdess")
    model = fit(with_enough_voice(with_calm_voices(full, work)), voice_config(dataset.feature_dims()),
                voice_settings(epochs), run_dir).model.eval()  # fmt: skip
    with (run_dir / "metrics.csv").open(newline="", encoding="utf-8") as handle:
        seconds = sum(float(row["seconds"]) for row in csv.DictReader(handle))
    return model, round(seconds / 60, 1)


def chosen_tasks(folds: dict, ravdess: bool) -> list[dict]:
    """The folds whose epochs and thresholds the shipped checkpoint takes: the speaker-independent folds, or
    with EmoDB alone, its training on EmoDB."""
    if ravdess:
        return [t for t in folds["tasks"] if t["name"].startswith("fold")]
    return [t for t in folds["tasks"] if t["name"] == "emodb_to_ravdess"]


def epochs_and_threshold(tasks: list[dict]) -> tuple[int, float]:
    """The chosen folds' median kept epoch and median threshold."""
    return int(np.median([t["epoch"] for t in tasks])), float(np.median([t["threshold"] for t in tasks]))


def train_voice(settings: VoiceSettings = VoiceSettings()) -> dict:
    """The held-out checkpoint (with RAVDESS) and the shipped one, saved into settings.out with the figures
    and the card; returns the figures."""
    import torch

    torch.set_num_threads(1)  # two threads on two busy shared cores ran up to 10x slower (measured)
    ravdess, out = settings.ravdess, settings.out
    benchmark = recorded_or_run(_folds(settings))
    chosen = chosen_tasks(benchmark, ravdess)
    epochs, threshold = epochs_and_threshold(chosen)
    dataset, windows = prepared_voice(work=settings.work)
    if ravdess:
        held_out = next(t for t in benchmark["tasks"] if t["name"].startswith("fold") and HELD_OUT_EMODB in t["test"])
        save_held_out(held_out, settings.work, out, dataset.feature_spec)
    speakers = sorted({w["speaker"] for w in windows if ravdess or w["corpus"] != "ravdess"})
    model, minutes = final_model(settings.work, dataset, windows, speakers, ravdess, epochs, chosen[0]["valid"])
    model.set_label_thresholds([threshold] * len(model.config.labels))
    save_fp16(model, out / "carat_voice.safetensors", dataset.feature_spec,
              {**data_terms(ravdess), "speakers": [s for s in speakers if s != "noise"], "epochs": epochs,
               "threshold": threshold})  # fmt: skip
    figures = {"epochs": epochs, "threshold": threshold, "ravdess": ravdess, "minutes": minutes,
               "benchmark": benchmark}  # fmt: skip
    if ravdess:
        figures["held_out"] = {"emodb": held_out["test"][:1], "ravdess": held_out["test"][1:], "task": held_out["name"]}
    (out / "voice_metrics.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    write_card("voice", figures, out)
    return figures


def _folds(settings: VoiceSettings) -> FoldSettings:
    return FoldSettings(work=settings.work, epochs=settings.fold_epochs, jobs=settings.fold_jobs)


def rewrite_card(out: Path) -> None:
    """VOICE_MODEL_CARD.md again from `out`/voice_metrics.json."""
    write_card("voice", json.loads((out / "voice_metrics.json").read_text(encoding="utf-8")), out)
