"""The words checkpoint's card (models/WORDS_MODEL_CARD.md) and its plot (models/words_metrics.png), from the
figures the words recipe (trainer/recipes/words.py) measures (models/words_metrics.json).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...words_corpora import GOEMOTIONS_CREDIT, XED_CREDIT, XED_SEED

CORPORA = ("xed", "goemotions")


def _row(name: str, carat: float, baseline: float) -> str:
    return f"| {name} | {carat:.3f} | {baseline:.3f} |"


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


def render(figures: dict) -> str:
    """The card's Markdown (three decimals: the test of the card compares `main.py evaluate` on XED's
    held-out lines with these within rounding)."""
    return _model_text(figures) + _data_text(figures["samples"]) + _results_text(figures) + LIMITS


def _model_text(figures: dict) -> str:
    labels, config = figures["labels"], figures["config"]
    thresholds = ", ".join(f"{label} {t:.2f}" for label, t in zip(labels, figures["thresholds"]))
    return f"""# Model card: `models/carat_words.safetensors` (words only)

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

"""


def _data_text(samples: dict) -> str:
    return f"""## Data, licence and credit
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

"""


def _results_text(figures: dict) -> str:
    labels, samples = figures["labels"], figures["samples"]
    return f"""## Held-out test results
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

"""


LIMITS = """## Limits
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


def plot(figures: dict, path: Path) -> None:
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
