"""The words-only checkpoint (the default's single-stream reference for words): what it was trained on,
what it may score, that `main.py evaluate` on its held-out XED lines (rebuilt from the xed corpus by the split's seed) gives the figures its model card
states, and that it reads plain emotional statements."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from app.defaults import REPO_ROOT, words_checkpoint, words_model_card
from carat_model import load_checkpoint, read_checkpoint_info

PLAIN_STATEMENTS = REPO_ROOT / "tests" / "data" / "plain_statements.tsv"

CARD_ROW = re.compile(r"^\| (micro F1|macro F1|F1 \w+) \| ([0-9.]+) \| ([0-9.]+) \|$", re.MULTILINE)


def card_figures() -> dict[str, tuple[float, float]]:
    """metric -> (CARAT, baseline) as printed in the model card."""
    return {name: (float(a), float(b)) for name, a, b in CARD_ROW.findall(words_model_card().read_text("utf-8"))}


def test_words_checkpoint_is_fp16_words_only_and_credits_its_data() -> None:
    info = read_checkpoint_info(words_checkpoint())
    assert info.extra["trained_modalities"] == ["text"]
    assert "Öhman" in info.extra["data_credit"] and "Demszky" in info.extra["data_credit"]
    assert info.extra["data_license"] == "CC BY 4.0"
    with safe_open(str(words_checkpoint()), framework="pt") as handle:
        floats = [handle.get_slice(k).get_dtype() for k in handle.keys()]
    assert floats.count("F16") > 0.9 * len(floats)
    assert words_checkpoint().stat().st_size < 10e6
    card = words_model_card().read_text("utf-8")
    assert "Öhman" in card and "Demszky" in card and "CC BY 4.0" in card and "Words only" in card


def test_no_dataset_lines_are_shipped_in_models() -> None:
    assert not list((REPO_ROOT / "models").glob("*.tsv")), "held-out lines are rebuilt from the data folder, not copied"


def test_the_predictor_lets_only_words_vote(model_window) -> None:
    from app.predictor import Predictor

    words_predictor = Predictor(words_checkpoint(), smoothing_s=0)
    assert words_predictor.trained == {"text": True, "visual": False, "audio": False}
    window = model_window(words_predictor, visual=np.ones, audio=np.ones)
    faces_only = words_predictor.predict(window, 1.0)
    assert faces_only.present == {"text": False, "visual": True, "audio": True}
    assert not any(faces_only.scored.values()), "face and voice are shown but not scored"
    assert not any(faces_only.decided), "no words: the model claims no emotion"


def test_card_figures_are_the_recorded_ones() -> None:
    figures = json.loads((words_model_card().parent / "words_metrics.json").read_text("utf-8"))
    card = card_figures()
    labels = figures["labels"]
    xed = figures["xed"]
    assert card["micro F1"] == pytest.approx((xed["carat"]["micro_f1"], xed["baseline"]["micro_f1"]), abs=5e-4)
    for label, carat, baseline in zip(labels, xed["carat"]["per_label_f1"], xed["baseline"]["per_label_f1"]):
        assert card[f"F1 {label}"] == pytest.approx((carat, baseline), abs=5e-4)
    goemotions = figures["goemotions"]
    text = words_model_card().read_text("utf-8")
    for metric in ("micro_f1", "macro_f1"):
        name = metric.replace("_f1", " F1")
        row = f"| GoEmotions {name} | {goemotions['carat'][metric]:.3f} | {goemotions['baseline'][metric]:.3f} |"
        assert row in text
    extra = read_checkpoint_info(words_checkpoint()).extra
    assert extra["test_metrics_fp16"]["micro_f1"] == pytest.approx(xed["carat"]["micro_f1"])
    assert extra["goemotions_test_metrics_fp16"]["macro_f1"] == pytest.approx(goemotions["carat"]["macro_f1"])


def test_evaluate_on_the_held_out_lines_reproduces_the_model_card(evaluate_on_held_out_xed) -> None:
    lines, prepared, measured = evaluate_on_held_out_xed(words_checkpoint())
    assert f"'test': {len(lines)}" in prepared and "0 samples skipped" in prepared
    card = card_figures()
    assert measured["samples"] == len(lines)
    assert measured["micro_f1"] == pytest.approx(card["micro F1"][0], abs=5e-4)
    assert measured["macro_f1"] == pytest.approx(card["macro F1"][0], abs=5e-4)
    labels = read_checkpoint_info(words_checkpoint()).config.labels
    for label, value in zip(labels, measured["per_label_f1"]):
        assert value == pytest.approx(card[f"F1 {label}"][0], abs=5e-4), label


def test_plain_emotional_statements_rank_their_emotion_first(tmp_path: Path, prepare_words) -> None:
    """The plain-statements set as text: 10 per emotion + 10 neutral (neutral: no label passes)."""
    lines = PLAIN_STATEMENTS.read_text("utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]
    corpus = tmp_path / "plain.tsv"
    corpus.write_text("".join(f"{s}\t{'' if label == 'neutral' else label}\n" for s, label in rows), "utf-8")
    prepare_words(corpus, tmp_path / "plain")
    from trainer.datasets import load_prepared_dataset
    from trainer.loop import predict_scores

    model, _ = load_checkpoint(words_checkpoint())
    scores = predict_scores(model, load_prepared_dataset(tmp_path / "plain").split("test"))
    labels, thresholds = list(model.config.labels), np.asarray(model.config.thresholds())
    right = [
        not (row > thresholds).any() if label == "neutral" else labels[int(np.argmax(row))] == label
        for row, (_, label) in zip(scores, rows)
    ]
    assert len(rows) == 70 and np.mean(right) >= 0.85, [s for (s, _), ok in zip(rows, right) if not ok]
