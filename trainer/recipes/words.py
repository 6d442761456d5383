"""The words recipe: the words checkpoint (models/carat_words.safetensors), the words stream alone, trained on
XED + GoEmotions. The default recipe (trainer/recipes/default.py) reuses its prepared data and helpers;
scripts/train_words.py is its command line.

Steps (the text encoder, models/words_encoder.safetensors, comes first from
scripts/finetune_words_encoder.py):
1. the corpora as `sentence<TAB>labels` files under `build/words/corpora/` (`trainer.words_corpora`: our six
   labels; XED's split drawn per line by seed 0, GoEmotions' own train/dev/test);
2. `main.py prepare`'s `prepare_dataset` on each, with the live text encoder and the stream window
   (`trainer.presets.STREAMS_WINDOW`: unaligned, 32 words) -> `build/words/prepared/{xed,goemotions_*}`,
   the words data the combined three-stream model reuses;
3. `main.py train`'s `fit` on train (XED train + GoEmotions train) with the words branch only, the epoch
   and per-label thresholds chosen on validation (XED valid + GoEmotions dev); saved as float16 into models/;
4. the held-out test lines of each corpus scored by the shipped (fp16) weights, beside logistic regression
   on the original MiniLM's mean sentence embeddings (`trainer.words_baseline`), same lines, same run;
   models/words_metrics.json, words_metrics.png and WORDS_MODEL_CARD.md are written from those figures.
Test lines are rebuilt from the data folder (trainer/data_folders.py) by the seed; nothing from the data is
copied into models/.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carat_model.config import MOSEI_LABELS
from feature_extractors.spec import default_feature_spec

from ..datasets import FeatureDataset, FeatureSplit, concatenate_padded, load_prepared_dataset
from ..metrics import compute_metrics
from ..prepare import prepare_dataset
from ..presets import STREAMS_WINDOW, streams_config
from ..settings import TrainSettings
from ..words_corpora import (
    GOEMOTIONS_CREDIT,
    XED_CORPUS_NAME,
    XED_CREDIT,
    XED_SEED,
    goemotions_split,
    write_corpus,
    xed_lines,
)
from .cards import write_card

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ("xed", "goemotions")
CREDIT = f"{XED_CREDIT} {GOEMOTIONS_CREDIT}"


@dataclass(frozen=True)
class WordsSettings:
    """What a words run is asked: where it works and ships, and how long and how fast it trains."""

    work: Path = ROOT / "build" / "words"
    out: Path = ROOT / "models"
    epochs: int = 6
    workers: int = 1
    batch_size: int = 64
    lr: float = 1e-3
    warmup: float = 0.1
    seed: int = XED_SEED
    progress: bool = True


def prepare_words(work: Path, workers: int = 1) -> dict[str, Path]:
    """The prepared words datasets (resumable): {"xed": all three splits, "goemotions_<split>": one each}."""
    corpora = work / "corpora"
    jobs = {"xed": (write_corpus(xed_lines(), corpora / XED_CORPUS_NAME), None)}
    for split in ("train", "valid", "test"):
        corpus = write_corpus(goemotions_split(split), corpora / f"goemotions_{split}.tsv")
        jobs[f"goemotions_{split}"] = (corpus, split)
    return {name: prepare_corpus(corpus, work / "prepared" / name, only_split, workers)
            for name, (corpus, only_split) in jobs.items()}  # fmt: skip


def prepare_corpus(corpus: Path, out: Path, only_split: str | None = None, workers: int = 1) -> Path:
    """One `sentence<TAB>labels` file prepared into `out` (resumable) in the stream window, XED's split seed."""
    summary = prepare_dataset(
        corpus, out, shape=STREAMS_WINDOW, seed=XED_SEED, only_split=only_split, workers=workers, chunk_size=1024,
    )  # fmt: skip
    print(f"prepared {out.name}: {summary.samples}, skipped {len(summary.failures)}", flush=True)
    return out


def words_splits(prepared: dict[str, Path]) -> dict[str, dict]:
    """{corpus: {split: FeatureSplit}} from the prepared folders."""
    xed = load_prepared_dataset(prepared["xed"])
    goemotions = {s: load_prepared_dataset(prepared[f"goemotions_{s}"]).split(s) for s in ("train", "valid", "test")}
    return {"xed": {s: xed.split(s) for s in ("train", "valid", "test")}, "goemotions": goemotions}


def joined(splits: list) -> object:
    return FeatureSplit(
        **{
            name: np.concatenate([vars(s)[name] for s in splits])
            if name == "labels"
            else concatenate_padded([vars(s)[name] for s in splits])
            for name in vars(splits[0])
        }
    )


def training_dataset(splits: dict[str, dict], feature_spec: dict):
    """XED + GoEmotions train and valid in one dataset (no test: `fit` never sees a held-out line)."""
    return FeatureDataset(
        name="words",
        labels=MOSEI_LABELS,
        aligned=False,
        splits={s: joined([splits[c][s] for c in CORPORA]) for s in ("train", "valid")},
        feature_spec=feature_spec,
        source="build/words/prepared (XED + GoEmotions)",
    )


def words_config():
    """The stream checkpoints' shared CARAT (trainer.presets) with the live FeatureSpec's sizes: visual and
    acoustic encoders exist but are never trained or used by this words-only checkpoint."""
    return streams_config(default_feature_spec().dims)


def train_settings(settings: WordsSettings) -> TrainSettings:
    return TrainSettings(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        lr=settings.lr,
        warmup=settings.warmup,
        seed=settings.seed,
        absent_modalities=("visual", "audio"),  # never trained: the predictor will not let them vote
        progress=settings.progress,
    )


def baseline_metrics(thresholds_and_scores, splits: dict[str, dict]) -> dict[str, dict]:
    thresholds, scores = thresholds_and_scores
    result = {}
    for corpus in CORPORA:
        metrics = compute_metrics(splits[corpus]["test"].labels, scores[corpus] > np.asarray(thresholds))
        result[corpus] = {"thresholds": thresholds, **metrics.as_dict()}
    return result


def train_words(settings: WordsSettings = WordsSettings()) -> dict:
    """Prepare, train, ship (float16 into settings.out) and measure the words checkpoint; writes
    words_metrics.json, the card and its plot beside it and returns the figures."""
    import torch

    from carat_model import load_checkpoint

    from ..loop import fit

    torch.set_num_threads(1)  # two threads on two busy shared cores ran up to 10x slower (measured)
    started = time.time()
    splits = words_splits(prepare_words(settings.work, settings.workers))
    print(f"prepared in {time.time() - started:.0f} s", flush=True)
    dataset = training_dataset(splits, default_feature_spec().to_dict())
    result = fit(dataset, words_config(), train_settings(settings), settings.work / "run")
    model, info = load_checkpoint(result.checkpoint)
    figures = ship_words(model, info, splits, settings.out)
    figures.update(best_epoch=result.best_epoch, epochs=settings.epochs, minutes=round((time.time() - started) / 60, 1))
    figures = {key: figures[key] for key in FIGURES_ORDER}
    write_shipped(figures, settings.out)
    return figures


# The keys of words_metrics.json in the order it has always been written.
FIGURES_ORDER = ("xed", "goemotions", "thresholds", "labels", "samples", "best_epoch", "epochs", "minutes", "config",
                 "size_mb", "encoder_size_mb")  # fmt: skip


def ship_words(model, info, splits: dict[str, dict], out: Path) -> dict:
    """The checkpoint saved as float16 into `out` with its header, and the figures of those fp16 weights on
    each corpus's test lines, beside the baseline's."""
    import torch

    from carat_model import load_checkpoint, save_checkpoint

    from ..words_baseline import corpora_baseline

    # Ship fp16; the card's figures are those of the shipped (fp16) weights.
    out.mkdir(parents=True, exist_ok=True)
    target = out / "carat_words.safetensors"
    save_checkpoint(target, model, feature_spec=info.feature_spec, extra=info.extra, dtype=torch.float16)
    shipped, _ = load_checkpoint(target)
    carat = held_out_metrics(shipped, splits)
    baseline = baseline_metrics(corpora_baseline(CORPORA), splits)
    save_checkpoint(target, shipped, feature_spec=info.feature_spec, extra=shipped_header(info.extra, carat, baseline),
                    dtype=torch.float16)  # fmt: skip
    return {corpus: {"carat": carat[corpus], "baseline": baseline[corpus]} for corpus in CORPORA} | {
        "thresholds": list(shipped.config.thresholds()),
        "labels": list(shipped.config.labels),
        "samples": {corpus: {s: len(splits[corpus][s]) for s in ("train", "valid", "test")} for corpus in CORPORA},
        "config": shipped.config.to_dict(),
        "size_mb": round(target.stat().st_size / 1e6, 2),
        "encoder_size_mb": round((out / "words_encoder.safetensors").stat().st_size / 1e6, 2),
    }


def held_out_metrics(model, splits: dict[str, dict]) -> dict[str, dict]:
    """The model's metrics on each corpus's test lines at its own thresholds."""
    from ..loop import predict_scores

    thresholds = np.asarray(model.config.thresholds())
    return {
        corpus: compute_metrics(
            splits[corpus]["test"].labels, predict_scores(model, splits[corpus]["test"]) > thresholds
        ).as_dict()
        for corpus in CORPORA
    }


def shipped_header(fit_extra: dict, carat: dict, baseline: dict) -> dict:
    """The shipped checkpoint's header: fit's, with the data's terms and the test figures."""
    extra = dict(fit_extra)
    extra.update(
        trained_modalities=["text"],
        data="XED English subtitle lines (annotated + neutral) and GoEmotions (Ekman six), text only",
        data_license="CC BY 4.0",
        data_credit=CREDIT,
        split={"xed_seed": XED_SEED, "xed_valid_fraction": 0.1, "xed_test_fraction": 0.1, "goemotions": "its own"},
        text_encoder="models/words_encoder.safetensors over all-MiniLM-L6-v2",
        test_metrics_fp16=carat["xed"],
        goemotions_test_metrics_fp16=carat["goemotions"],
        baseline_test_metrics=baseline["xed"],
    )
    extra.pop("dataset_source", None)  # a path on the training machine
    return extra


def write_shipped(figures: dict, out: Path) -> None:
    """words_metrics.json, and the card and plot made from it."""
    (out / "words_metrics.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    write_card("words", figures, out)


def rewrite_card(out: Path) -> None:
    """The card and plot again from `out`/words_metrics.json."""
    write_card("words", json.loads((out / "words_metrics.json").read_text(encoding="utf-8")), out)
