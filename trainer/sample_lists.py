"""The samples to prepare, read from a CSV, a text corpus or a folder named by label (`read_items`; the
formats are described in prepare.py), and the split each one falls in (`split_of`)."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carat_model.config import MODALITIES, MOSEI_LABELS

from .feature_data import SPLITS

NO_LABEL_NAMES = {"", "neutral", "none"}


class PrepareError(ValueError):
    """The input list or the output folder cannot be used, with what to do."""


@dataclass(frozen=True)
class Item:
    """One sample to prepare: either a file (with optional times) or a sentence."""

    key: str  # stable identity: decides the split, names the sample in reports
    labels: tuple[str, ...]
    path: str | None = None
    start: float | None = None
    end: float | None = None
    text: str | None = None
    split: str | None = None  # given by the input (a CSV `split` column); else drawn from the key
    # The streams this sample may feed (a CSV `modalities` column); the others are left missing, e.g. a
    # voice corpus of neutral sentences read aloud keeps only "audio", so its words train nothing.
    modalities: tuple[str, ...] = MODALITIES


def parse_labels(cell: str, known: tuple[str, ...], where: str) -> tuple[str, ...]:
    names = [n.strip().lower() for n in cell.replace(";", ",").split(",")]
    names = [n for n in names if n not in NO_LABEL_NAMES]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise PrepareError(f"{where}: unknown label(s) {unknown}; use {list(known)} or 'neutral'")
    return tuple(sorted(set(names), key=known.index))


def read_items(source: str | Path, labels: tuple[str, ...] = MOSEI_LABELS) -> list[Item]:
    """The samples listed by a CSV, a text corpus (.tsv/.txt) or a folder named by label."""
    source = Path(source)
    if source.is_dir():
        return _folder_items(source, labels)
    if not source.is_file():
        raise PrepareError(f"no input at {source}: give a CSV, a text corpus or a folder of label folders")
    if source.suffix.lower() == ".csv":
        return _csv_items(source, labels)
    return _corpus_items(source, labels)


def _csv_items(path: Path, labels: tuple[str, ...]) -> list[Item]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        if "path" not in columns or "labels" not in columns:
            raise PrepareError(f"{path}: the CSV needs a header with at least 'path' and 'labels' (got {columns})")
        items = []
        for number, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            where = f"{path} line {number}"
            media = Path(row["path"])
            if not media.is_absolute():
                media = path.parent / media
            start = _seconds(row.get("start", ""), where)
            end = _seconds(row.get("end", ""), where)
            if start is not None and end is not None and end <= start:
                raise PrepareError(f"{where}: end ({end}) must be after start ({start})")
            split = row.get("split") or None
            if split is not None and split not in SPLITS:
                raise PrepareError(f"{where}: split '{split}' is not one of {list(SPLITS)}")
            key = f"{row['path']}@{start}-{end}"
            items.append(
                Item(
                    key, parse_labels(row["labels"], labels, where), str(media), start, end, split=split,
                    modalities=_modalities(row.get("modalities", ""), where),
                )
            )  # fmt: skip
    # Rows of one file next to each other: each file is decoded and transcribed once, not once a row.
    return sorted(items, key=lambda item: (item.path, item.start or 0.0))


def _modalities(cell: str, where: str) -> tuple[str, ...]:
    """A `modalities` cell ("audio", "text;audio" ...); empty means all three."""
    names = [n.strip().lower() for n in cell.replace(";", ",").split(",") if n.strip()]
    unknown = sorted(set(names) - set(MODALITIES))
    if unknown:
        raise PrepareError(f"{where}: unknown modalities {unknown}; use some of {list(MODALITIES)}")
    return tuple(m for m in MODALITIES if m in names) or MODALITIES


def _seconds(cell: str, where: str) -> float | None:
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise PrepareError(f"{where}: '{cell}' is not a time in seconds") from None
    if not np.isfinite(value) or value < 0:
        raise PrepareError(f"{where}: time {cell} must be a non-negative number of seconds")
    return value


def _corpus_items(path: Path, labels: tuple[str, ...]) -> list[Item]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            sentence, _, cell = line.partition("\t")
            where = f"{path} line {number}"
            items.append(Item(f"{path.name}:{number}", parse_labels(cell, labels, where), text=sentence))
    return items


def _folder_items(root: Path, labels: tuple[str, ...]) -> list[Item]:
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label_set = parse_labels(folder.name, labels, f"folder {folder}")
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            items.append(Item(str(file.relative_to(root)), label_set, str(file)))
    if not items:
        raise PrepareError(f"{root} holds no files in label folders (expected e.g. {root}/happy/clip.mp4)")
    return items


def split_of(key: str, seed: int, valid_fraction: float, test_fraction: float) -> str:
    """A fixed pseudo-random split per key: the same key and seed always land in the same split."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw < test_fraction:
        return "test"
    if draw < test_fraction + valid_fraction:
        return "valid"
    return "train"
