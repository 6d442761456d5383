"""Class-balanced sampling (trainer/balancing.py): each class, a window's strongest label or none, drawn
equally often, the same draws for the same seed and epoch; and a training run that uses it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from trainer.balancing import ClassBalancedSampler, window_classes
from trainer.emodb import CLASSES, LETTER_LABEL


def emodb_like_labels() -> np.ndarray:
    """EmoDB's shared copy's class counts (99 angry ... 34 disgust, 125 neutral or bored), one-hot."""
    counts = {"angry": 99, "disgust": 34, "fear": 58, "happy": 53, "neutral": 125, "sad": 46}
    labels = ("happy", "sad", "angry", "surprise", "disgust", "fear")
    rows = []
    for name, count in counts.items():
        row = np.zeros(len(labels), np.float32)
        if name != "neutral":
            row[labels.index(name)] = 1.0
        rows += [row] * count
    return np.stack(rows)


def test_every_class_is_drawn_about_equally_often() -> None:
    labels = emodb_like_labels()
    sampler = ClassBalancedSampler(labels, seed=3)
    drawn = window_classes(labels)[list(sampler)]
    assert len(drawn) == len(labels)
    shares = np.unique(drawn, return_counts=True)[1] / len(drawn)
    assert len(shares) == 6 and np.all(np.abs(shares - 1 / 6) < 0.05), shares  # uniform draws: 0.16-0.19 angry
    uniform_shares = np.unique(window_classes(labels), return_counts=True)[1] / len(labels)
    assert uniform_shares.max() > 0.29 and uniform_shares.min() < 0.1  # what balancing corrects


def test_the_draws_are_a_function_of_seed_and_epoch() -> None:
    labels = emodb_like_labels()
    first, again, other = (ClassBalancedSampler(labels, seed=s) for s in (3, 3, 4))
    first.set_epoch(2), again.set_epoch(2), other.set_epoch(2)
    assert list(first) == list(again) != list(other)
    again.set_epoch(3)
    assert list(first) != list(again)


def test_soft_targets_take_their_strongest_label_and_no_label_is_its_own_class() -> None:
    soft = np.array([[0.6, 0.3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0.1, 0, 0, 0, 0, 0.5]], np.float32)
    assert window_classes(soft).tolist() == [0, -1, 5]


def test_emodb_letters_map_onto_the_classes_balancing_counts() -> None:
    assert {LETTER_LABEL[letter] or "neutral" for letter in LETTER_LABEL} == set(CLASSES)


def test_a_class_balanced_run_resumed_midway_ends_with_the_same_weights(tiny_file, tmp_path: Path) -> None:
    import torch

    from trainer.datasets import load_dataset
    from trainer.loop import TrainSettings, config_for_dataset, default_small_config, fit

    dataset = load_dataset(tiny_file)
    config = config_for_dataset(dataset, default_small_config())
    settings = TrainSettings(epochs=2, batch_size=16, lr=3e-3, seed=7, balance_classes=True, progress=False)
    straight = fit(dataset, config, settings, tmp_path / "straight")
    plain = fit(dataset, config, dataclasses.replace(settings, balance_classes=False), tmp_path / "plain")
    fit(dataset, config, dataclasses.replace(settings, stop_after_epoch=1), tmp_path / "resumed")
    resumed = fit(dataset, config, settings, tmp_path / "resumed", resume=True)
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    assert not torch.equal(straight.model.state_dict()["queue"], plain.model.state_dict()["queue"])
