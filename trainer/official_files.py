"""The official data files: CMU-MOSEI's aligned `train_valid_test.pt` (and M3ED's, and our synthetic
data, in the same dict layout) and the unaligned `mosei_senti_data_noalign.pkl`, read into a
FeatureDataset with every damage named. `load_dataset` (datasets.py) is the entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from carat_model import MODALITIES
from carat_model.config import MOSEI_LABELS

from .feature_data import SPLITS, DatasetError, FeatureDataset, FeatureSplit, check_consistent_dims
from .safe_pickle import load_feature_file

FIRST_LABEL_ID = 4  # ids 0..3 are padding, unknown, start (2) and end (3)
# Keys of the official aligned layout, per modality.
_ALIGNED_KEYS = {"text": "src-text", "visual": "src-visual", "audio": "src-audio"}
UNALIGNED_KEYS = {"text": "text", "visual": "vision", "audio": "audio"}


def load_official_aligned(
    path: str | Path,
    *,
    labels: tuple[str, ...] = MOSEI_LABELS,
    name: str = "mosei-aligned",
    authors_masks: bool = False,
) -> FeatureDataset:
    """The aligned dict layout (CMU-MOSEI `train_valid_test.pt`, M3ED, our synthetic data)."""
    data = _load_dict(path)
    splits = {}
    for split_name in SPLITS:
        raw = _split_of(data, split_name, path, required=("src-text", "src-visual", "src-audio", "tgt"))
        splits[split_name] = _aligned_split(raw, split_name, path, len(labels), authors_masks)
    check_consistent_dims(splits, path)
    return FeatureDataset(name=name, labels=tuple(labels), aligned=True, splits=splits, source=str(path))


def load_mosei_unaligned(
    path: str | Path, labels_from: str | Path, *, authors_masks: bool = False
) -> FeatureDataset:
    """`mosei_senti_data_noalign.pkl`, with emotion labels from the aligned file's `tgt` (same order)."""
    data = _load_dict(path)
    label_data = _load_dict(labels_from)
    splits = {}
    for split_name in SPLITS:
        raw = _split_of(data, split_name, path, required=tuple(UNALIGNED_KEYS.values()))
        tgt = _split_of(label_data, split_name, labels_from, required=("tgt",))["tgt"]
        arrays: dict[str, np.ndarray] = {}
        for m, key in UNALIGNED_KEYS.items():
            values = np.asarray(raw[key], dtype=np.float32)
            if values.ndim != 3:
                raise DatasetError(
                    f"{path}: {split_name}/{key} should be an array [samples, steps, features], got shape {values.shape}"
                )
            arrays[m] = _clean_features(values, m, path, split_name)
            real = np.abs(values).sum(axis=2) > 0
            arrays[f"{m}_mask"] = (
                np.ones(real.shape, np.float32) if authors_masks else real.astype(np.float32)
            )
        count = {len(arrays[m]) for m in MODALITIES}
        if len(count) != 1 or count != {len(tgt)}:
            raise DatasetError(
                f"{path} split '{split_name}' has {sorted(count)} samples but {labels_from} lists {len(tgt)} labels; "
                "pass the aligned file of the same CMU-MOSEI release as --labels-from"
            )
        arrays["labels"] = _multi_hot(tgt, len(MOSEI_LABELS), labels_from, split_name)
        splits[split_name] = FeatureSplit(**arrays)
    check_consistent_dims(splits, path)
    return FeatureDataset(
        name="mosei-unaligned", labels=MOSEI_LABELS, aligned=False, splits=splits, source=str(path)
    )


def _load_dict(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no data file at {path}")
    try:
        data = load_feature_file(path)
    except (ValueError, OSError) as error:
        raise DatasetError(str(error)) from error
    if not isinstance(data, dict):
        raise DatasetError(
            f"{path} holds a {type(data).__name__}, expected a dict with splits {list(SPLITS)}"
        )
    return data


def _split_of(data: dict, split_name: str, path: str | Path, required: tuple[str, ...]) -> dict:
    if split_name not in data:
        raise DatasetError(
            f"{path} has no '{split_name}' split (it has {sorted(map(str, data))}); expected a dict with "
            f"splits {list(SPLITS)}: is this the right file for this --dataset kind?"
        )
    raw = data[split_name]
    missing = [key for key in required if not isinstance(raw, dict) or key not in raw]
    if missing:
        have = sorted(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
        raise DatasetError(
            f"{path} split '{split_name}' lacks {missing} (it has {have}); wrong file or --dataset kind?"
        )
    return raw


def _aligned_split(
    raw: dict, split_name: str, path: str | Path, num_labels: int, authors_masks: bool
) -> FeatureSplit:
    sequences = {m: raw[key] for m, key in _ALIGNED_KEYS.items()}
    count = len(raw["tgt"])
    for m, values in sequences.items():
        if len(values) != count:
            raise DatasetError(
                f"{path} split '{split_name}': {len(values)} {m} sequences but {count} label lists; the file is damaged"
            )
    if count == 0:
        raise DatasetError(f"{path} split '{split_name}' holds no samples")
    arrays: dict[str, np.ndarray] = {}
    lengths = None
    for m, values in sequences.items():
        samples = [np.asarray(v, dtype=np.float32) for v in values]
        bad = next((i for i, s in enumerate(samples) if s.ndim != 2), None)
        if bad is not None:
            raise DatasetError(
                f"{path} split '{split_name}' sample {bad}: {m} features should be [steps, features], "
                f"got shape {samples[bad].shape}"
            )
        dims = {s.shape[1] for s in samples}
        if len(dims) != 1:
            raise DatasetError(
                f"{path} split '{split_name}': {m} feature sizes differ between samples: {sorted(dims)}"
            )
        sample_lengths = np.array([len(s) for s in samples])
        if lengths is None:
            lengths = sample_lengths
        elif not np.array_equal(lengths, sample_lengths):
            first = int(np.flatnonzero(lengths != sample_lengths)[0])
            raise DatasetError(
                f"{path} split '{split_name}' sample {first}: aligned modalities must share one length, but text has "
                f"{lengths[first]} steps and {m} {sample_lengths[first]}; for unaligned data use --dataset mosei-unaligned"
            )
        arrays[m], real = _pad(samples, dims.pop())
        arrays[m] = _clean_features(arrays[m], m, path, split_name)
        arrays[f"{m}_mask"] = np.ones(real.shape, np.float32) if authors_masks else real
    arrays["labels"] = _multi_hot(raw["tgt"], num_labels, path, split_name)
    return FeatureSplit(**arrays)


def _pad(samples: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    steps = max(1, max(len(s) for s in samples))
    padded = np.zeros((len(samples), steps, dim), np.float32)
    mask = np.zeros((len(samples), steps), np.float32)
    for i, sample in enumerate(samples):
        padded[i, : len(sample)] = sample
        mask[i, : len(sample)] = 1.0
    return padded, mask


def _clean_features(values: np.ndarray, modality: str, path: str | Path, split_name: str) -> np.ndarray:
    """COVAREP audio holds -inf where a feature is undefined: read as 0, as the authors do. Any other
    non-finite value is damage we will not guess about."""
    if modality == "audio":
        values = np.where(np.isinf(values), 0.0, values).astype(np.float32)
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        sample, step, feature = bad[0].tolist()
        raise DatasetError(
            f"{path} split '{split_name}': {modality} features hold {len(bad)} NaN/inf values (first: sample {sample}, "
            f"step {step}, feature {feature}); repair the file or drop those samples"
        )
    return values


def _multi_hot(tgt: Any, num_labels: int, path: str | Path, split_name: str) -> np.ndarray:
    """`[2, ids..., 3]` per sample -> multi-hot [N, C]; ids FIRST_LABEL_ID.. are the labels in order."""
    labels = np.zeros((len(tgt), num_labels), np.float32)
    for i, ids in enumerate(tgt):
        for label_id in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if label_id < FIRST_LABEL_ID:
                continue  # start, end and padding ids
            if label_id >= FIRST_LABEL_ID + num_labels:
                raise DatasetError(
                    f"{path} split '{split_name}' sample {i} has label id {label_id}, but this dataset kind has "
                    f"{num_labels} labels (ids {FIRST_LABEL_ID}..{FIRST_LABEL_ID + num_labels - 1}); "
                    "wrong --dataset kind (m3ed has 7 labels)?"
                )
            labels[i, label_id - FIRST_LABEL_ID] = 1.0
    return labels
