"""Synthetic data in the official aligned CMU-MOSEI layout, for tests and benchmarks only.

Each sample has two hidden bits per modality. A set bit adds that bit's fixed pattern vector to a
random 40 % of the modality's steps, over Gaussian noise. The six labels read the bits so that a model
must use every modality, and combine them:

    happy = text0            sad = visual0            angry = audio0          (one modality each)
    surprise = text1 & visual1   disgust = visual1 & audio1   fear = text1 & audio1   (combinations)

`best_micro_f1_without` gives the best micro-F1 any predictor that ignores a modality can reach on a
split (it knows the other modalities' bits exactly), so a test bar above it means the model used all three.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from carat_model import MODALITIES
from carat_model.atomic import write_atomically
from carat_model.config import MOSEI_LABELS

from .feature_data import SPLITS
from .metrics import compute_metrics
from .official_files import FIRST_LABEL_ID, UNALIGNED_KEYS

BITS_PER_MODALITY = 2
SINGLE_BIT_RATE = 0.3  # bit 0 of each modality: a label of its own
PAIR_BIT_RATE = 0.5  # bit 1: enters two combination labels
# label -> the (modality, bit) pairs it is the AND of, in MOSEI's label order.
LABEL_RULES: dict[str, tuple[tuple[str, int], ...]] = {
    "happy": (("text", 0),),
    "sad": (("visual", 0),),
    "angry": (("audio", 0),),
    "surprise": (("text", 1), ("visual", 1)),
    "disgust": (("visual", 1), ("audio", 1)),
    "fear": (("text", 1), ("audio", 1)),
}


@dataclass(frozen=True)
class SyntheticSizes:
    train: int = 1200
    valid: int = 300
    test: int = 600
    text_dim: int = 16
    visual_dim: int = 12
    audio_dim: int = 12
    min_steps: int = 8
    max_steps: int = 20
    signal: float = 2.0  # pattern amplitude along its direction, relative to unit noise per feature
    inf_rate: float = 0.05  # share of samples with a -inf audio value (as in the real file)

    @classmethod
    def mosei_sized(cls) -> SyntheticSizes:
        """CMU-MOSEI's aligned split sizes, feature sizes and sequence lengths."""
        return cls(
            train=16326,
            valid=1871,
            test=4659,
            text_dim=300,
            visual_dim=35,
            audio_dim=74,
            min_steps=10,
            max_steps=60,
        )

    def dim(self, modality: str) -> int:
        return getattr(self, f"{modality}_dim")


@dataclass
class SyntheticData:
    layout: dict  # the official aligned layout, ready for torch.save
    bits: dict[str, dict[str, np.ndarray]]  # split -> modality -> [N, BITS_PER_MODALITY] bool
    labels: dict[str, np.ndarray]  # split -> [N, 6] multi-hot


def labels_from_bits(bits: dict[str, np.ndarray]) -> np.ndarray:
    columns = [np.logical_and.reduce([bits[m][:, b] for m, b in LABEL_RULES[name]]) for name in MOSEI_LABELS]
    return np.stack(columns, axis=1).astype(np.float32)


def generate_synthetic(sizes: SyntheticSizes = SyntheticSizes(), seed: int = 0) -> SyntheticData:
    rng = np.random.default_rng(seed)
    patterns = {  # [bits, D]: random directions of norm signal * sqrt(D), the noise vector's typical norm
        m: _unit_rows(rng.standard_normal((BITS_PER_MODALITY, sizes.dim(m))))
        * np.sqrt(sizes.dim(m))
        * sizes.signal
        for m in MODALITIES
    }
    layout: dict = {
        "dict": {
            "tgt": {
                "<blank>": 0,
                "<unk>": 1,
                "<s>": 2,
                "</s>": 3,
                **{n: FIRST_LABEL_ID + i for i, n in enumerate(MOSEI_LABELS)},
            }
        },
        "settings": {"generator": "carat-live synthetic", "seed": seed},
    }
    all_bits, all_labels = {}, {}
    for split in SPLITS:
        count = getattr(sizes, split)
        rates = np.array([SINGLE_BIT_RATE, PAIR_BIT_RATE])
        bits = {m: rng.random((count, BITS_PER_MODALITY)) < rates for m in MODALITIES}
        labels = labels_from_bits(bits)
        lengths = rng.integers(sizes.min_steps, sizes.max_steps + 1, size=count)
        sequences: dict[str, list[np.ndarray]] = {m: [] for m in MODALITIES}
        for i, steps in enumerate(lengths):
            for m in MODALITIES:
                x = rng.standard_normal((steps, sizes.dim(m))).astype(np.float32)
                for b in np.flatnonzero(bits[m][i]):
                    carrying = rng.random(steps) < 0.4
                    carrying[rng.integers(steps)] = True  # at least one step shows it
                    x[carrying] += patterns[m][b]
                sequences[m].append(x)
            if rng.random() < sizes.inf_rate:
                sequences["audio"][i][rng.integers(steps), 0] = -np.inf
        layout[split] = {
            "src-text": sequences["text"],
            "src-visual": sequences["visual"],
            "src-audio": sequences["audio"],
            "tgt": [[2, *(FIRST_LABEL_ID + np.flatnonzero(row)).tolist(), 3] for row in labels],
        }
        all_bits[split], all_labels[split] = bits, labels
    return SyntheticData(layout=layout, bits=all_bits, labels=all_labels)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def write_official_aligned(path: str | Path, layout: dict) -> Path:
    """torch.save the layout as the official file is stored (numpy arrays in lists), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: torch.save(layout, temporary))
    return path


def unaligned_layout(aligned_layout: dict, steps: dict[str, int]) -> dict:
    """The same samples in the unaligned pickle's layout (`text`, `vision`, `audio` arrays of fixed
    lengths, zero padded or cut; `labels` holds sentiment there, zeros here)."""
    result = {}
    for split in ("train", "valid", "test"):
        result[split] = {}
        for m in MODALITIES:
            samples = aligned_layout[split][f"src-{m}"]
            array = np.zeros((len(samples), steps[m], samples[0].shape[1]), np.float32)
            for i, sample in enumerate(samples):
                kept = min(len(sample), steps[m])
                array[i, :kept] = sample[:kept]
            result[split][UNALIGNED_KEYS[m]] = array
        result[split]["labels"] = np.zeros((len(samples), 1, 1), np.float32)  # sentiment, unused
    return result


def best_micro_f1_without(data: SyntheticData, split: str, ignored: str) -> float:
    """The best micro-F1 on `split` of any predictor that never sees `ignored` but knows the other
    modalities' bits exactly: each label it cannot see fully is predicted by the best boolean function
    of the bits it can see (all combinations of those choices are tried)."""
    bits, labels = data.bits[split], data.labels[split]
    choices_per_label = []
    for column, name in enumerate(MOSEI_LABELS):
        seen = [bits[m][:, b] for m, b in LABEL_RULES[name] if m != ignored]
        if len(seen) == len(LABEL_RULES[name]):
            choices_per_label.append([labels[:, column].astype(bool)])
            continue
        # Every boolean function of the seen bits: one output per combination of their values.
        keys = sum((s.astype(int) << k for k, s in enumerate(seen)), np.zeros(len(labels), int))
        options = []
        for table in itertools.product([False, True], repeat=2 ** len(seen)):
            options.append(np.array(table)[keys])
        choices_per_label.append(options)
    best = 0.0
    for predicted in itertools.product(*choices_per_label):
        metrics = compute_metrics(labels, np.stack(predicted, axis=1))
        best = max(best, metrics.micro_f1)
    return best
