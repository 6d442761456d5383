"""The shipped default checkpoint: what it was trained on, what it may score, and that `main.py evaluate`
on its held-out XED lines gives the figures its model card states."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from app.defaults import default_checkpoint, held_out_test_corpus, model_card
from carat_model import read_checkpoint_info

CARD_ROW = re.compile(r"^\| (micro F1|macro F1|F1 \w+) \| ([0-9.]+) \| ([0-9.]+) \|$", re.M)


def card_figures() -> dict[str, tuple[float, float]]:
    """metric -> (CARAT, baseline) as printed in the model card."""
    return {name: (float(a), float(b)) for name, a, b in CARD_ROW.findall(model_card().read_text("utf-8"))}


def test_default_checkpoint_is_fp16_words_only_and_credits_its_data() -> None:
    info = read_checkpoint_info(default_checkpoint())
    assert info.extra["trained_modalities"] == ["text"]
    assert "Öhman" in info.extra["data_credit"] and info.extra["data_license"] == "CC BY 4.0"
    with safe_open(str(default_checkpoint()), framework="pt") as handle:
        floats = [handle.get_slice(k).get_dtype() for k in handle.keys()]
    assert floats.count("F16") > 0.9 * len(floats)
    assert default_checkpoint().stat().st_size < 10e6
    card = model_card().read_text("utf-8")
    assert "Öhman" in card and "CC BY 4.0" in card and "Words only" in card


def test_the_predictor_lets_only_words_vote(default_predictor) -> None:
    assert default_predictor.trained == {"text": True, "visual": False, "audio": False}
    steps = default_predictor.lengths
    window = {
        "text": np.zeros((steps[0], 384), np.float32),
        "visual": np.ones((steps[1], 17), np.float32),
        "audio": np.ones((steps[2], 26), np.float32),
        "text_mask": np.zeros(steps[0], np.float32),
        "visual_mask": np.ones(steps[1], np.float32),
        "audio_mask": np.ones(steps[2], np.float32),
    }
    faces_only = default_predictor.predict(window, 1.0)
    assert faces_only.present == {"text": False, "visual": True, "audio": True}
    assert not any(faces_only.scored.values()), "face and voice are shown but not scored"
    assert not any(faces_only.decided), "no words: the model claims no emotion"


def test_card_figures_are_the_recorded_ones() -> None:
    figures = json.loads((model_card().parent / "default_metrics.json").read_text("utf-8"))
    card = card_figures()
    labels = figures["labels"]
    assert card["micro F1"] == pytest.approx((figures["carat"]["micro_f1"], figures["baseline"]["micro_f1"]), abs=5e-4)
    for label, carat, baseline in zip(labels, figures["carat"]["per_label_f1"], figures["baseline"]["per_label_f1"]):
        assert card[f"F1 {label}"] == pytest.approx((carat, baseline), abs=5e-4)
    extra = read_checkpoint_info(default_checkpoint()).extra
    assert extra["test_metrics_fp16"]["micro_f1"] == pytest.approx(figures["carat"]["micro_f1"])


def test_evaluate_on_the_held_out_lines_reproduces_the_model_card(tmp_path: Path, cli) -> None:
    lines = held_out_test_corpus().read_text("utf-8").splitlines()
    data = tmp_path / "xed_test"
    code, out, err = cli(["prepare", held_out_test_corpus(), "--split", "test", "--out", data, "--quiet"])
    assert code == 0, err
    assert f"'test': {len(lines)}" in out and "0 samples skipped" in out
    code, out, err = cli(
        ["evaluate", "--checkpoint", default_checkpoint(), "--data", data, "--split", "test", "--json"]
    )
    assert code == 0, err
    measured = json.loads(out.strip().splitlines()[-1])
    card = card_figures()
    assert measured["samples"] == len(lines)
    assert measured["micro_f1"] == pytest.approx(card["micro F1"][0], abs=5e-4)
    assert measured["macro_f1"] == pytest.approx(card["macro F1"][0], abs=5e-4)
    labels = read_checkpoint_info(default_checkpoint()).config.labels
    for label, value in zip(labels, measured["per_label_f1"]):
        assert value == pytest.approx(card[f"F1 {label}"][0], abs=5e-4), label
