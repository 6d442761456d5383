"""Reproduce the words checkpoint (models/carat_words.safetensors): the words stream alone, trained on
XED + GoEmotions. The shipped default (scripts/train_default.py) reuses its prepared data and helpers.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_words.py [--work build/words] [--epochs 6]

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
Test lines are rebuilt from ../shared by the seed; nothing from the data is copied into models/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.words_corpora import (  # noqa: E402
    GOEMOTIONS_CREDIT,
    XED_CORPUS_NAME,
    XED_CREDIT,
    XED_SEED,
    goemotions_split,
    write_corpus,
    xed_lines,
)

CORPORA = ("xed", "goemotions")
CREDIT = f"{XED_CREDIT} {GOEMOTIONS_CREDIT}"


def prepare_words(work: Path, workers: int = 1) -> dict[str, Path]:
    """The prepared words datasets (resumable): {"xed": all three splits, "goemotions_<split>": one each}."""
    from trainer.prepare import prepare_dataset
    from trainer.presets import STREAMS_WINDOW

    corpora = work / "corpora"
    jobs = {"xed": (write_corpus(xed_lines(), corpora / XED_CORPUS_NAME), None)}
    for split in ("train", "valid", "test"):
        corpus = write_corpus(goemotions_split(split), corpora / f"goemotions_{split}.tsv")
        jobs[f"goemotions_{split}"] = (corpus, split)
    out = {}
    for name, (corpus, only_split) in jobs.items():
        out[name] = work / "prepared" / name
        summary = prepare_dataset(
            corpus, out[name], shape=STREAMS_WINDOW, seed=XED_SEED, only_split=only_split, workers=workers,
            chunk_size=1024,
        )
        print(f"prepared {name}: {summary.samples}, skipped {len(summary.failures)}", flush=True)
    return out


def words_splits(prepared: dict[str, Path]) -> dict[str, dict]:
    """{corpus: {split: FeatureSplit}} from the prepared folders."""
    from trainer.datasets import load_prepared_dataset

    xed = load_prepared_dataset(prepared["xed"])
    goemotions = {s: load_prepared_dataset(prepared[f"goemotions_{s}"]).split(s) for s in ("train", "valid", "test")}
    return {"xed": {s: xed.split(s) for s in ("train", "valid", "test")}, "goemotions": goemotions}


def joined(splits: list) -> object:
    from trainer.datasets import FeatureSplit, concatenate_padded

    return FeatureSplit(
        **{
            name: np.concatenate([vars(s)[name] for s in splits]) if name == "labels"
            else concatenate_padded([vars(s)[name] for s in splits])
            for name in vars(splits[0])
        }
    )


def training_dataset(splits: dict[str, dict], feature_spec: dict):
    """XED + GoEmotions train and valid in one dataset (no test: `fit` never sees a held-out line)."""
    from carat_model.config import MOSEI_LABELS
    from trainer.datasets import FeatureDataset

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
    from feature_extractors.spec import default_feature_spec
    from trainer.presets import streams_config

    return streams_config(default_feature_spec().dims)


def train_settings(epochs: int):
    from trainer.loop import TrainSettings

    return TrainSettings(
        epochs=epochs,
        batch_size=64,
        lr=1e-3,
        warmup=0.1,
        seed=XED_SEED,
        absent_modalities=("visual", "audio"),  # never trained: the predictor will not let them vote
        progress=True,
    )


def baseline_metrics(thresholds_and_scores, splits: dict[str, dict]) -> dict[str, dict]:
    from trainer.metrics import compute_metrics

    thresholds, scores = thresholds_and_scores
    result = {}
    for corpus in CORPORA:
        metrics = compute_metrics(splits[corpus]["test"].labels, scores[corpus] > np.asarray(thresholds))
        result[corpus] = {"thresholds": thresholds, **metrics.as_dict()}
    return result


def _row(name: str, carat: float, baseline: float) -> str:
    return f"| {name} | {carat:.3f} | {baseline:.3f} |"


def plot_per_label_f1(figures: dict, path: Path) -> None:
    """Held-out F1 per label and corpus, CARAT beside the baseline (models/words_metrics.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = figures["labels"] + ["micro", "macro"]
    figure, all_axes = plt.subplots(1, 2, figsize=(11, 3.2), dpi=100, sharey=True)
    for axes, corpus, title in zip(all_axes, CORPORA, ("XED held-out test", "GoEmotions test (Ekman six)")):
        result = figures[corpus]
        values = {}
        for side in ("carat", "baseline"):
            values[side] = result[side]["per_label_f1"] + [result[side]["micro_f1"], result[side]["macro_f1"]]
        x = np.arange(len(labels))
        axes.bar(x - 0.2, values["carat"], 0.4, label="CARAT (words checkpoint)")
        axes.bar(x + 0.2, values["baseline"], 0.4, label="LR on mean MiniLM sentence embedding")
        axes.set_xticks(x, labels)
        axes.set_title(title, fontsize=9)
        axes.set_ylim(0, 1)
    all_axes[0].set_ylabel("F1")
    all_axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _table(result: dict, labels: list[str], prefix: str) -> str:
    carat, baseline = result["carat"], result["baseline"]
    rows = [
        _row(f"{prefix}micro F1", carat["micro_f1"], baseline["micro_f1"]),
        _row(f"{prefix}macro F1", carat["macro_f1"], baseline["macro_f1"]),
        _row(f"{prefix}micro precision", carat["micro_precision"], baseline["micro_precision"]),
        _row(f"{prefix}micro recall", carat["micro_recall"], baseline["micro_recall"]),
        _row(f"{prefix}Acc (multi-label, Jaccard)", carat["accuracy"], baseline["accuracy"]),
        _row(f"{prefix}Hamming loss", carat["hamming_loss"], baseline["hamming_loss"]),
    ]
    rows += [
        _row(f"{prefix}F1 {label}", c, b)
        for label, c, b in zip(labels, carat["per_label_f1"], baseline["per_label_f1"])
    ]
    header = "| metric | CARAT (words) | baseline: logistic regression on mean sentence embeddings |\n|---|---|---|\n"
    return header + "\n".join(rows)


def write_model_card(figures: dict, path: Path) -> None:
    """models/WORDS_MODEL_CARD.md from the figures in words_metrics.json (three decimals: the test of the
    card compares `main.py evaluate` on XED's held-out lines with these within rounding)."""
    labels, samples, config = figures["labels"], figures["samples"], figures["config"]
    thresholds = ", ".join(f"{label} {t:.2f}" for label, t in zip(labels, figures["thresholds"]))
    text = f"""# Model card: `models/carat_words.safetensors` (words only)

A CARAT checkpoint whose **words** branch alone is trained (its header says `trained_modalities: ["text"]`,
so the predictor lets only the words vote; face and voice are shown but not scored). The shipped default
(`models/carat_default.safetensors`, `models/MODEL_CARD.md`) learns the words the same way together with
faces and voices; this one is its single-stream reference, and the words-only model to pick with
`--checkpoint` when only what is said should count.

## Model
- CARAT (Peng et al., AAAI 2024), our implementation in `carat_model/`, in the stream checkpoints' shared
  shape (`trainer/presets.py`): unaligned windows of up to {config["text_max_len"]} words of one utterance,
  hidden {config["hidden"]}, {config["text_layers"]} text layers, {config["heads"]} heads, projection
  {config["projection"]}, queue {config["queue_size"]} (visual/acoustic encoders exist with the live
  FeatureSpec's sizes but are untrained).
- Inputs: per-word vectors (384-d) from all-MiniLM-L6-v2 whose six transformer layers were fine-tuned for
  these labels on the same training lines (`models/words_encoder.safetensors`, float16,
  {figures["encoder_size_mb"]:.1f} MB, laid over the packaged base model; `scripts/finetune_words_encoder.py`),
  the words lower-cased and without punctuation (Whisper's casing and punctuation vary), word pieces
  averaged per word, exactly as `feature_extractors/text.py` makes them live; windows built by
  `feature_extractors/windows.py` through `main.py prepare`.
- Weights stored as float16 ({figures["size_mb"]:.1f} MB); all figures below are those of the float16 weights.
- Per-label thresholds tuned on the validation lines: {thresholds}.

## Data, licence and credit
- XED, English subtitle lines with human emotion annotations (Plutchik), plus XED's neutral English lines.
  Licence CC BY 4.0. Credit: {XED_CREDIT}
- GoEmotions, English Reddit comments (27 emotions + neutral, human-labelled), grouped into Ekman's six by
  the dataset's own mapping. Licence CC BY 4.0. Credit: {GOEMOTIONS_CREDIT}

Mapping to our labels: joy→happy, sadness→sad, anger→angry, fear→fear, disgust→disgust,
surprise→surprise; XED's anticipation and trust carry none of our labels, nor do neutral lines (so the
model also learns when to say nothing). XED has no split of its own: it is split at random per line by a
fixed seed ({XED_SEED}): train {samples["xed"]["train"]}, validation {samples["xed"]["valid"]}, test
{samples["xed"]["test"]}; GoEmotions keeps its own: train {samples["goemotions"]["train"]}, dev
{samples["goemotions"]["valid"]}, test {samples["goemotions"]["test"]}. The encoder and CARAT were trained
on the two train splits; the epoch and thresholds were chosen on XED validation + GoEmotions dev; the test
lines were never seen in training or tuning. No data is copied into the repository: the held-out lines are
rebuilt from the datasets by the seed (`trainer/words_corpora.py`).

## Held-out test results
CARAT (this checkpoint) against a simple baseline on the same lines in the same run: logistic regression
(scikit-learn, one per label) on the mean sentence embedding of the original (not fine-tuned)
all-MiniLM-L6-v2, trained on the same training lines, thresholds tuned on the same validation lines.

![per-label F1](words_metrics.png)

### XED held-out test ({samples["xed"]["test"]} lines)

{_table(figures["xed"], labels, "")}

### GoEmotions test, Ekman six ({samples["goemotions"]["test"]} comments)

{_table(figures["goemotions"], labels, "GoEmotions ")}

CARAT trained for {figures["epochs"]} epochs (best validation micro-F1 at epoch {figures["best_epoch"]});
preparing, training, export and scoring took {figures["minutes"]} minutes on one CPU thread (the encoder's
fine-tune, one epoch, took 42 minutes more). One run with one seed: other seeds may land a point or two
either way. `benchmarks/words_accuracy.py` measures the same figures again and also the plain-statements
set (`tests/data/plain_statements.tsv`). Reproduce the XED column (the test lines are rebuilt from
../shared/data/xed by the seed):

    python -c "from trainer.words_corpora import *; write_corpus(xed_split('test'), Path('build/xed_test.tsv'))"
    python main.py prepare build/xed_test.tsv --split test --unaligned --media-steps 64 --out build/xed_test
    python main.py evaluate --checkpoint models/carat_words.safetensors --data build/xed_test

and the whole checkpoint with `python scripts/finetune_words_encoder.py` then `python scripts/train_words.py`.
`tests/first_run/test_words_model.py` checks that `main.py evaluate` gives the XED table's CARAT figures.

## Limits
- **Words only.** No face or voice skill: use the default (all three streams) for those.
- Subtitle lines and Reddit comments are written text; live speech comes through Whisper tiny.en, which
  mishears words. Expect lower figures live than in the tables.
- The labels are noisy (annotators often disagree), fear and disgust are rare in GoEmotions, and GoEmotions'
  Ekman "joy" also holds approval, admiration and gratitude, so "happy" fires on polite praise. Read single
  decisions as hints, not verdicts. English only. Films, series and Reddit carry their own biases, and
  GoEmotions holds offensive language.
- The baseline columns show what the packaged encoder gives with a linear model; read the gap before
  trusting the fine-tuned encoder and the transformer's extra capacity.
"""
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "words")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--card-only", action="store_true", help="rewrite WORDS_MODEL_CARD.md from words_metrics.json")
    args = parser.parse_args()
    if args.card_only:
        figures = json.loads((args.out / "words_metrics.json").read_text(encoding="utf-8"))
        write_model_card(figures, args.out / "WORDS_MODEL_CARD.md")
        plot_per_label_f1(figures, args.out / "words_metrics.png")
        return 0
    import torch

    from carat_model import load_checkpoint, save_checkpoint
    from feature_extractors.spec import default_feature_spec
    from trainer.loop import fit, predict_scores
    from trainer.metrics import compute_metrics
    from trainer.words_baseline import corpora_baseline

    torch.set_num_threads(1)  # two threads on two busy shared cores ran up to 10x slower (measured)
    started = time.time()
    splits = words_splits(prepare_words(args.work, args.workers))
    print(f"prepared in {time.time() - started:.0f} s", flush=True)
    dataset = training_dataset(splits, default_feature_spec().to_dict())
    settings = train_settings(args.epochs)
    result = fit(dataset, words_config(), settings, args.work / "run")
    model, info = load_checkpoint(result.checkpoint)

    # Ship fp16; the card's figures are those of the shipped (fp16) weights.
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "carat_words.safetensors"
    save_checkpoint(target, model, feature_spec=info.feature_spec, extra=info.extra, dtype=torch.float16)
    shipped, _ = load_checkpoint(target)
    thresholds = np.asarray(shipped.config.thresholds())
    carat = {}
    for corpus in CORPORA:
        test = splits[corpus]["test"]
        carat[corpus] = compute_metrics(test.labels, predict_scores(shipped, test) > thresholds).as_dict()
    baseline = baseline_metrics(corpora_baseline(CORPORA), splits)
    samples = {corpus: {s: len(splits[corpus][s]) for s in ("train", "valid", "test")} for corpus in CORPORA}
    extra = dict(info.extra)
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
    save_checkpoint(target, shipped, feature_spec=info.feature_spec, extra=extra, dtype=torch.float16)
    figures = {
        corpus: {"carat": carat[corpus], "baseline": baseline[corpus]} for corpus in CORPORA
    } | {
        "thresholds": list(shipped.config.thresholds()),
        "labels": list(shipped.config.labels),
        "samples": samples,
        "best_epoch": result.best_epoch,
        "epochs": settings.epochs,
        "minutes": round((time.time() - started) / 60, 1),
        "config": shipped.config.to_dict(),
        "size_mb": round(target.stat().st_size / 1e6, 2),
        "encoder_size_mb": round((args.out / "words_encoder.safetensors").stat().st_size / 1e6, 2),
    }
    (args.out / "words_metrics.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    write_model_card(figures, args.out / "WORDS_MODEL_CARD.md")
    plot_per_label_f1(figures, args.out / "words_metrics.png")
    print(json.dumps({k: figures[k] for k in ("xed", "goemotions", "samples", "best_epoch")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
