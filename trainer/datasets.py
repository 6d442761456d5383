"""Datasets for the trainer: our prepared datasets and `load_dataset`, the one entry point for every kind
(FeatureSplit/FeatureDataset are in feature_data.py, the official files' readers in official_files.py,
batching in batching.py).

Every reader returns a `FeatureDataset`: per split, padded arrays `[N, L, D]` per modality with masks
`[N, L]` (1 = real step) and multi-hot labels `[N, C]`. One training loop reads them all.

Official files (official_files.py; see shared/spec/carat.md, "Reading the benchmark files"):
- aligned dict layout (`train_valid_test.pt`; M3ED the same with 7 labels): splits `train`/`valid`/`test`,
  each with `src-text`, `src-visual`, `src-audio` (per sample `[L, D]`) and `tgt` (`[2, ids..., 3]`,
  emotion ids from 4). Audio -inf is read as 0.
- unaligned MOSEI pickle (`mosei_senti_data_noalign.pkl`): `text`, `vision`, `audio` arrays per split;
  the emotion labels come from the aligned file's `tgt`, matched by index.
The authors never mask zero padding; `authors_masks=True` does the same (to reproduce their numbers);
by default padding is masked.

Prepared datasets (ours, written by `write_prepared_dataset`): a folder with `index.json` (format,
labels, FeatureSpec as a dict, alignment, feature sizes, shards per split) and safetensors shards
holding `text`, `text_mask`, `visual`, `visual_mask`, `audio`, `audio_mask`, `labels`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from carat_model import MODALITIES
from carat_model.atomic import write_json_atomically

from .feature_data import (  # the readers' one entry point: what callers import from here
    SPLITS,  # noqa: F401  (importers of the readers take it from here too)
    DatasetError,
    FeatureDataset,
    FeatureSplit,
    check_consistent_dims,
    check_feature_dims,
    concatenate_padded,
)
from .official_files import load_mosei_unaligned, load_official_aligned

M3ED_LABELS = ("happy", "neutral", "sad", "disgust", "anger", "fear", "surprise")  # file ids 4..10
MOSEI_FEATURE_DIMS = {"text": 300, "visual": 35, "audio": 74}
PREPARED_FORMAT = "carat-live-dataset"
PREPARED_VERSION = 1
INDEX_FILE = "index.json"


# -- prepared datasets ------------------------------------------------------------------------------


def write_prepared_dataset(
    path: str | Path,
    splits: dict[str, FeatureSplit],
    *,
    labels: tuple[str, ...],
    aligned: bool,
    feature_spec: dict[str, Any] | None,
    shard_samples: int = 4096,
) -> Path:
    """Write splits as safetensors shards plus `index.json`. The index is written last (atomically),
    so a folder whose writing was cut off has no index and is never mistaken for a dataset."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    dims: dict[str, int] | None = None
    index: dict[str, Any] = {
        "format": PREPARED_FORMAT,
        "format_version": PREPARED_VERSION,
        "labels": list(labels),
        "aligned": aligned,
        "feature_spec": feature_spec,
        "splits": {},
    }
    for split_name, split in splits.items():
        _check_split_shapes(split, split_name, len(labels), str(path))
        split_dims = {m: int(split.features(m).shape[2]) for m in MODALITIES}
        if dims is not None and split_dims != dims:
            raise DatasetError(f"split '{split_name}' has feature sizes {split_dims}, other splits {dims}")
        dims = split_dims
        shards = []
        for number, start in enumerate(range(0, max(len(split), 1), shard_samples)):
            part = split.subset(np.arange(start, min(start + shard_samples, len(split))))
            file_name = f"{split_name}-{number:05d}.safetensors"
            arrays = compact_absent_modalities(vars(part))
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path / file_name))
            shards.append({"file": file_name, "samples": len(part)})
        index["splits"][split_name] = {"samples": len(split), "shards": shards}
    index["feature_dims"] = dims
    write_json_atomically(path / INDEX_FILE, index)
    return path


def load_prepared_dataset(path: str | Path) -> FeatureDataset:
    path = Path(path)
    index_path = path / INDEX_FILE
    if not index_path.is_file():
        raise DatasetError(
            f"{path} is not a prepared dataset: it has no {INDEX_FILE} (was its writing interrupted? "
            "run main.py prepare again)"
        )
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DatasetError(f"{index_path} is not valid JSON ({error}); the dataset is damaged") from error
    if index.get("format") != PREPARED_FORMAT or int(index.get("format_version", 0)) > PREPARED_VERSION:
        raise DatasetError(
            f"{index_path} has format {index.get('format')} v{index.get('format_version')}; this version reads "
            f"{PREPARED_FORMAT} up to v{PREPARED_VERSION}"
        )
    labels = tuple(index["labels"])
    splits = {}
    for split_name, entry in index["splits"].items():
        parts = []
        for shard in entry["shards"]:
            shard_path = path / shard["file"]
            try:
                parts.append(load_file(str(shard_path)))
            except (SafetensorError, OSError) as error:
                raise DatasetError(
                    f"cannot read shard {shard_path} ({error}); the dataset is incomplete or damaged"
                ) from error
        split = _concatenate_shards(parts, path, split_name)
        if len(split) != entry["samples"]:
            raise DatasetError(
                f"{path} split '{split_name}': index says {entry['samples']} samples, shards hold {len(split)}"
            )
        _check_split_shapes(split, split_name, len(labels), str(path))
        splits[split_name] = split
    if "train" not in splits:
        raise DatasetError(f"{path} has no 'train' split (it has {sorted(splits)})")
    dataset = FeatureDataset(
        name=path.name,
        labels=labels,
        aligned=bool(index["aligned"]),
        splits=splits,
        feature_spec=index.get("feature_spec"),
        source=str(path),
    )
    declared = index.get("feature_dims")
    if declared:
        check_feature_dims(dataset, declared, f"its {INDEX_FILE}")
    check_consistent_dims(splits, path)
    return dataset


def compact_absent_modalities(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Samples stacked as {modality: [N, L, D], modality_mask: [N, L], ...}, with every modality that no
    sample has (an all-zero mask) cut to one step. A words-only set then stores no face or voice
    padding (at 64 steps of wide voice features that padding would be most of the file), and nothing
    changes for the model: a missing modality's features are never read (carat_model replaces them).
    Present modalities keep their length, padding included (the soft aligner sees the padded rows)."""
    compact = dict(arrays)
    for m in MODALITIES:
        if m in arrays and not arrays[f"{m}_mask"].any():
            compact[m], compact[f"{m}_mask"] = arrays[m][:, :1], arrays[f"{m}_mask"][:, :1]
    return compact


def _concatenate_shards(parts: list[dict[str, np.ndarray]], path: Path, split_name: str) -> FeatureSplit:
    keys = [f.name for f in FeatureSplit.__dataclass_fields__.values()]
    arrays = {}
    for key in keys:
        if any(key not in part for part in parts):
            raise DatasetError(f"{path} split '{split_name}': a shard lacks '{key}'")
        if key == "labels":  # labels [N, C] must not be padded along C
            arrays[key] = np.concatenate([part[key] for part in parts]).astype(np.float32)
        else:
            arrays[key] = concatenate_padded([part[key] for part in parts])
    return FeatureSplit(**arrays)


def _check_split_shapes(split: FeatureSplit, split_name: str, num_labels: int, source: str) -> None:
    count = len(split)
    for m in MODALITIES:
        features, mask = split.features(m), split.mask(m)
        if features.ndim != 3 or mask.shape != features.shape[:2] or len(features) != count:
            raise DatasetError(
                f"{source} split '{split_name}': {m} features {features.shape} and mask {mask.shape} do not fit "
                f"{count} samples as [N, L, D] and [N, L]"
            )
        if not np.isfinite(features).all():
            raise DatasetError(
                f"{source} split '{split_name}': {m} features contain NaN or inf; clean them first"
            )
    if split.labels.shape != (count, num_labels):
        raise DatasetError(
            f"{source} split '{split_name}': labels have shape {split.labels.shape}, expected ({count}, {num_labels})"
        )


# -- one entry point --------------------------------------------------------------------------------

DATASET_KINDS = ("auto", "aligned", "unaligned", "mosei-aligned", "mosei-unaligned", "m3ed", "prepared")


def load_dataset(
    path: str | Path,
    kind: str = "auto",
    *,
    labels_from: str | Path | None = None,
    authors_masks: bool = False,
) -> FeatureDataset:
    """Read any supported data. kind "auto": a folder is a prepared dataset, a `.pkl` the unaligned
    MOSEI layout (needs labels_from), anything else the aligned dict layout with MOSEI's labels.
    "aligned"/"unaligned" accept any feature sizes; the "mosei-*" kinds also check CMU-MOSEI's."""
    path = Path(path)
    if kind == "auto":
        kind = "prepared" if path.is_dir() else "unaligned" if path.suffix == ".pkl" else "aligned"
    if kind == "prepared":
        return load_prepared_dataset(path)
    if kind == "aligned":
        return load_official_aligned(path, name=kind, authors_masks=authors_masks)
    if kind == "mosei-aligned":
        dataset = load_official_aligned(path, name=kind, authors_masks=authors_masks)
        check_feature_dims(dataset, MOSEI_FEATURE_DIMS, "CMU-MOSEI (GloVe, Facet, COVAREP)")
        return dataset
    if kind == "m3ed":
        return load_official_aligned(path, labels=M3ED_LABELS, name="m3ed", authors_masks=authors_masks)
    if kind in ("unaligned", "mosei-unaligned"):
        if labels_from is None:
            raise DatasetError(
                "the unaligned CMU-MOSEI file holds no emotion labels: pass the aligned file "
                "(train_valid_test.pt) with --labels-from"
            )
        dataset = load_mosei_unaligned(path, labels_from, authors_masks=authors_masks)
        if kind == "mosei-unaligned":
            check_feature_dims(dataset, MOSEI_FEATURE_DIMS, "CMU-MOSEI (GloVe, Facet, COVAREP)")
        return dataset
    raise DatasetError(f"unknown dataset kind '{kind}'; choose one of {list(DATASET_KINDS)}")
