"""Synthetic calm voices (trainer/synthetic_speech.py): held-out voices and sentences stay out of training,
real espeak-ng speech becomes live windows with no label, and the false-alarm figure counts what passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feature_extractors.acoustic import SAMPLE_RATE
from trainer import synthetic_speech
from trainer.data_folders import corpus
from trainer.live_clips import LIVE_ENDS, cut_live_windows, live_clip

GOEMOTIONS = corpus("goemotions")


@pytest.mark.needs_data("goemotions")
def test_held_out_clips_share_no_voice_and_no_sentence_with_the_training_clips() -> None:
    train, held_out = synthetic_speech.clip_plans(False), synthetic_speech.clip_plans(True)
    assert len(train) == synthetic_speech.CLIPS[False] and len(held_out) == synthetic_speech.CLIPS[True]
    accent = lambda plan: plan["voice"].split("+")[0]
    assert {accent(p) for p in train}.isdisjoint({accent(p) for p in held_out})
    assert "en" in {accent(p) for p in held_out}, "espeak-ng's default voice (the tests' and sample's) is held out"
    assert {p["text"] for p in train}.isdisjoint({p["text"] for p in held_out})
    assert synthetic_speech.clip_plans(False) == train, "drawn from the seed alone"
    low, high = synthetic_speech.SPEED_WPM
    assert all(low <= int(p["speed"]) < high for p in train)


@pytest.mark.needs_data("goemotions")
def test_sentences_are_plain_lines_of_the_chosen_length() -> None:
    lines = synthetic_speech.sentences(False, 50)
    assert len(set(lines)) == 50
    assert all(synthetic_speech.WORDS[0] <= len(line.split()) <= synthetic_speech.WORDS[1] for line in lines)
    assert not any("[NAME]" in line or "http" in line for line in lines)
    with pytest.raises(FileNotFoundError, match="GoEmotions"):
        synthetic_speech.sentences(False, 5, goemotions=Path("/nonexistent"))


def test_a_plan_is_spoken_as_16_khz_speech_in_its_voice() -> None:
    plan = {"text": "The report has twelve pages.", "voice": "en-us+m3", "speed": "150", "pitch": "50"}
    samples = synthetic_speech.speak(plan)
    assert samples.dtype == np.float32 and 0.8 * SAMPLE_RATE < len(samples) < 4 * SAMPLE_RATE
    assert np.abs(samples).max() > 0.05
    higher = synthetic_speech.speak({**plan, "pitch": "90"})
    assert not np.array_equal(samples[: len(higher)], higher[: len(samples)]), "the pitch reaches espeak-ng"


def test_a_calm_clip_is_cut_into_the_live_windows_emodb_uses(tmp_path: Path) -> None:
    plan = {"text": "We walked to the shop.", "voice": "en-gb-x-rp", "speed": "160", "pitch": "40"}
    recording, start = live_clip(synthetic_speech.speak(plan), "train_000")
    rows = cut_live_windows(recording, start, "train_000", tmp_path)
    assert [float(r["window_end"]) - float(r["clip_start"]) for r in rows] == pytest.approx(list(LIVE_ENDS), abs=1e-3)
    assert all(Path(r["path"]).is_file() for r in rows)


def test_false_alarms_count_the_clips_and_windows_that_pass_a_threshold() -> None:
    windows = [{"file": f} for f in ("a", "a", "b", "b", "c")]
    scores = np.array([[0.9, 0.0], [0.1, 0.0], [0.1, 0.0], [0.0, 0.0], [0.0, 0.1]], np.float32)
    figures = synthetic_speech.false_alarms(scores, windows, [0.4, 0.4])
    # clip a: mean 0.5 passes; b: 0.1 (its silent window does not count) does not; c: 0.1 does not
    assert figures["clips"] == 3 and figures["clip_false_alarm"] == pytest.approx(1 / 3)
    assert figures["window_false_alarm"] == pytest.approx(1 / 4), "of the 4 windows that voted, one passes"
    assert figures["per_label_clip_share"] == pytest.approx([1 / 3, 0.0], abs=1e-3)
