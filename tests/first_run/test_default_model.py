"""The shipped default: trained on faces, voices and words together, so all three vote; its header and
card credit every source and name what was held out; `main.py evaluate` on its held-out XED lines (rebuilt
from the xed corpus by the split's seed) gives the words figure its card states."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open

from app.defaults import default_checkpoint, model_card
from carat_model import read_checkpoint_info

CREDITS = ("Öhman", "Demszky", "Barsoum", "Goodfellow", "Burkhardt", "espeak-ng", "CC BY 4.0", "MIT", "CC0")


def recorded_figures() -> dict:
    return json.loads((model_card().parent / "default_metrics.json").read_text("utf-8"))


def test_the_default_is_a_small_fp16_three_stream_model_that_credits_every_source() -> None:
    info = read_checkpoint_info(default_checkpoint())
    assert set(info.extra["trained_modalities"]) == {"text", "visual", "audio"}
    assert info.extra["held_out"]["ferplus_halves_seed"] == 12
    assert info.extra["held_out"]["emodb_test_speakers"] == ["10", "12"]
    with safe_open(str(default_checkpoint()), framework="pt") as handle:
        floats = [handle.get_slice(k).get_dtype() for k in handle.keys()]
    assert floats.count("F16") > 0.9 * len(floats)
    assert default_checkpoint().stat().st_size <= 20e6
    card = model_card().read_text("utf-8")
    missing = [credit for credit in CREDITS if credit not in card]
    assert not missing, f"the card does not credit {missing}"
    for licence in ("CC BY 4.0", "MIT", "CC0", "research use"):
        assert licence in info.extra["data_license"], licence


def test_the_predictor_lets_every_stream_vote(default_predictor, model_window) -> None:
    assert default_predictor.trained == {"text": True, "visual": True, "audio": True}
    rng = np.random.default_rng(0)
    window = model_window(default_predictor, visual=lambda shape: rng.normal(size=shape))
    face_only = default_predictor.predict(window, 1.0)
    assert face_only.present == {"text": False, "visual": True, "audio": False}
    assert face_only.scored == {"text": False, "visual": True, "audio": False}


def test_the_card_states_the_recorded_figures_of_every_stream() -> None:
    figures, card = recorded_figures(), model_card().read_text("utf-8")
    default, single = figures["default"], figures["single_stream"]
    for value in (
        default["words"]["goemotions"]["macro_f1"], default["words"]["xed"]["micro_f1"],
        default["face"]["accuracy"], default["face"]["uar"], default["voice"]["uar"],
    ):  # fmt: skip
        assert f"**{value:.3f}**" in card, value
    for value in (single["words"]["goemotions"]["macro_f1"], single["face"]["accuracy"], single["voice"]["uar"]):
        assert f"{value:.3f}" in card, value
    for calm in (default["calm_voice"], single["voice"]["calm_voice"]):  # held-out voices with no emotion
        assert f"| {calm['clip_false_alarm']:.3f} | {calm['window_false_alarm']:.3f} |" in card, calm
    assert figures["thresholds"] == pytest.approx(read_checkpoint_info(default_checkpoint()).config.thresholds())


def test_evaluate_on_the_held_out_xed_lines_gives_the_cards_words_figure(evaluate_on_held_out_xed) -> None:
    lines, _, measured = evaluate_on_held_out_xed(default_checkpoint())
    recorded = recorded_figures()["default"]["words"]["xed"]
    assert measured["samples"] == len(lines)
    assert measured["micro_f1"] == pytest.approx(recorded["micro_f1"], abs=5e-4)
    assert measured["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=5e-4)
