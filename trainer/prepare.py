"""Labelled media or text -> a prepared dataset, through the same extractors and `windows.py` as live.

Inputs (`read_items`):
- a CSV with columns `path,start,end,labels` (start/end in seconds, optional; labels by name separated by
  `;` or `,` inside the cell, empty or "neutral" for none) over video, audio or `.txt` files, and an
  optional `split` column (train/valid/test) for data whose split is given, and an optional `modalities`
  column (e.g. `audio`: only the voice; the words and face of that sample are left missing);
- a text corpus: one sample a line, `sentence<TAB>labels` (labels comma-separated names);
- a folder whose sub-folders are named by label (`happy/`, `sad/` ... `neutral/`), holding media or `.txt`;
  a face photo in it becomes a face-only window: the still face over a live window's frames with small
  realistic jitter (landmark noise, head sway, blinks; `trainer/face_images.py`);
- a face-image set `.npz` (images + ten FER+ votes each, see `trainer/face_images.py`): face-only windows
  the same way, with vote shares as soft targets, split as the file says (FER+ valid halved by a seed).

Each sample becomes one CARAT input window built by `feature_extractors.windows.build_window` from the
extractors' timed rows. Text-only samples (a corpus line, a `.txt` file) have no face or voice: those
modalities are all-zero with an all-zero mask, i.e. missing, exactly as live when nobody is in view.
Words of a text-only sample get consecutive spans of `WORD_SECONDS` each (the text has no times). A
sample longer than the window keeps its most recent steps, as a live window does. The words of a media
sample are cut as the live engine cuts them (`utterance_rows`): the utterance current at the sample's end.

Work is cut into chunks of samples. Each finished chunk is written to `parts/` (its arrays, then a small
JSON record last, so a chunk cut off half-way is redone); a rerun skips finished chunks (resume), and
`--shard i/n` does only the chunks whose number is i modulo n. When every chunk is done, the parts are
merged into the prepared-dataset format of `trainer/datasets.py`. A file that cannot be read is reported
(and listed in the chunk record) and skipped; it never stops the run.

Splits: a sample's split is a function of its key (path and times, or corpus line number) and the seed,
so it does not depend on sharding, chunking or order; or `--split NAME` puts everything in one split.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file
from tqdm import tqdm

from carat_model.atomic import write_json_atomically
from carat_model.config import MODALITIES, MOSEI_LABELS
from feature_extractors.windows import LIVE_WINDOW_S

from .datasets import (
    SPLITS,
    FeatureSplit,
    compact_absent_modalities,
    concatenate_padded,
    write_prepared_dataset,
)

WORD_SECONDS = 0.4  # a text-only word's span (about 150 words a minute)
STILL_FACE_SECONDS = LIVE_WINDOW_S  # a face photo is seen for one live window
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
NO_LABEL_NAMES = {"", "neutral", "none"}
TEXT_SUFFIXES = {".txt"}
PARTS_DIR = "parts"
SETTINGS_FILE = "prepare.json"


class PrepareError(ValueError):
    """The input list or the output folder cannot be used, with what to do."""


@dataclass(frozen=True)
class WindowShape:
    """The model input each sample becomes: aligned (one step per word for all three) or unaligned."""

    aligned: bool = True
    text_steps: int = 32
    media_steps: int = 128  # unaligned only: visual and acoustic rows kept

    @property
    def lengths(self) -> tuple[int, int, int]:
        if self.aligned:
            return (self.text_steps,) * 3
        return (self.text_steps, self.media_steps, self.media_steps)


# The shape of the shipped default checkpoint's windows (scripts/train_default.py trains with it).
DEFAULT_WINDOW = WindowShape(aligned=True, text_steps=32)


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


@dataclass
class PrepareSummary:
    out: Path
    chunks_total: int
    chunks_done_now: int
    chunks_skipped: int  # already done before this run
    failures: list[dict[str, str]]
    merged: bool
    samples: dict[str, int]


# -- reading the inputs -----------------------------------------------------------------------------


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


# -- one sample -> one window -------------------------------------------------------------------------


class SampleError(ValueError):
    """One sample cannot be prepared (unreadable file, no content in its span)."""


class _Extractors:
    """Heavy extractors, made once per process on first use."""

    def __init__(self, whisper_model: str | None) -> None:
        self.whisper_model = whisper_model
        self._text = None
        self._media: dict[str, Any] = {}
        self._faces = None

    def text_encoder(self):
        if self._text is None:
            from feature_extractors.text import TextEncoder

            self._text = TextEncoder()
        return self._text

    def still_faces(self):
        """The still-image face extractor (face-image folders: each image becomes a jittered window)."""
        if self._faces is None:
            from feature_extractors.visual import FaceExtractor

            self._faces = FaceExtractor(static_image=True, max_faces=1)
        return self._faces

    def media(self, path: str, words: bool = True):
        """All timed rows of one media file (kept for the other rows of the same file); `words=False`
        skips speech recognition."""
        if (path, words) not in self._media:
            from feature_extractors.extract import MediaError, extract_media

            self._media.clear()
            try:
                found = extract_media(Path(path), whisper_model=self.whisper_model, words=words)
                self._media[(path, words)] = found
            except MediaError as error:
                raise SampleError(str(error)) from error
        return self._media[(path, words)]


def _empty_rows(modality: str):
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.windows import TimedRows

    return TimedRows.empty(default_feature_spec().dims[modality])


def text_rows(encoder, sentence: str):
    """A sentence's word vectors with consecutive WORD_SECONDS spans."""
    from feature_extractors.windows import TimedRows

    vectors = encoder.encode_sentence(sentence)
    starts = np.arange(len(vectors)) * WORD_SECONDS
    return TimedRows(np.stack([starts, starts + WORD_SECONDS], axis=1), vectors)


def utterance_rows(words, start: float, end: float, max_words: int, encoder):
    """The words of a media sample: of those inside [start, end), the utterance current at `end`, whole
    (feature_extractors/utterances.py, the policy of the live engine), encoded together as one sentence.

    One window per sample, as live would score it at the sample's end: its labels name the span, and a
    second window per utterance would give each sentence labels that may belong to another."""
    from feature_extractors.utterances import UTTERANCE_PAUSE_S, current_utterance

    inside = [w for w in words if w.end > start and w.start < end]
    return encoder.encode(current_utterance(inside, end, pause_s=UTTERANCE_PAUSE_S, max_words=max_words))


def prepare_window(item: Item, extractors: _Extractors, shape: WindowShape) -> dict[str, np.ndarray]:
    """The CARAT input window of one item, made by the live extractors and `build_window`."""
    from feature_extractors.windows import build_window

    visual, audio = _empty_rows("visual"), _empty_rows("audio")
    if item.path is not None and Path(item.path).suffix.lower() in IMAGE_SUFFIXES:
        return _still_face_window(item, extractors, shape)
    if item.text is not None or Path(item.path).suffix.lower() in TEXT_SUFFIXES:
        if item.text is not None:
            sentence = item.text
        else:
            try:
                sentence = Path(item.path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise SampleError(f"cannot read {item.path} as UTF-8 text ({error})") from error
        text = text_rows(extractors.text_encoder(), sentence)
        start, end = 0.0, max(len(text) * WORD_SECONDS, WORD_SECONDS)
    else:
        if not Path(item.path).is_file():
            raise SampleError(f"{item.path} does not exist")
        media = extractors.media(item.path, words="text" in item.modalities)
        streams = {"text": media.text, "visual": media.visual, "audio": media.audio}
        text, visual, audio = (streams[m] if m in item.modalities else _empty_rows(m) for m in MODALITIES)
        start = item.start or 0.0
        end = item.end if item.end is not None else max(media.duration_s, start + 1e-3)
        if len(text):  # the words a live window ending at `end` scores, encoded as live encodes them
            text = utterance_rows(media.words, start, end, shape.text_steps, extractors.text_encoder())
    window = build_window(text, visual, audio, start, end, aligned=shape.aligned, lengths=shape.lengths)
    if not any(window[f"{m}_mask"].any() for m in MODALITIES):
        raise SampleError("no words, face or voice in its span")
    return window


def _still_face_window(item: Item, extractors: _Extractors, shape: WindowShape) -> dict[str, np.ndarray]:
    """A face photo seen for a live window (STILL_FACE_SECONDS) with realistic jitter (face_images.py)."""
    import cv2

    from .face_images import key_rng, still_face_window

    frame = cv2.imread(item.path, cv2.IMREAD_COLOR)
    if frame is None:
        raise SampleError(f"{item.path} is not a readable image")
    faces = extractors.still_faces()
    face = faces.observe(frame)
    if face is None:
        raise SampleError(f"no face found in {item.path}")
    observation = (face.points, face.blendshapes, face.crop)
    return still_face_window(observation, faces.embed_crops, key_rng(item.key, 0), shape, STILL_FACE_SECONDS)


# -- chunks, parts and the merge ----------------------------------------------------------------------


@dataclass(frozen=True)
class _ChunkJob:
    number: int
    items: tuple[Item, ...]
    splits: tuple[str, ...]
    parts_dir: str
    shape: WindowShape
    labels: tuple[str, ...]
    whisper_model: str | None


_PROCESS_EXTRACTORS: _Extractors | None = None


def _run_chunk(job: _ChunkJob) -> tuple[int, int, list[dict[str, str]]]:
    """Prepare one chunk and write its part; returns (chunk number, samples written, failures)."""
    global _PROCESS_EXTRACTORS
    import torch

    # One intra-op thread per process: parallelism comes from --workers, and two threads fighting over
    # a busy core made the text encoder ten times slower (measured).
    torch.set_num_threads(1)
    if _PROCESS_EXTRACTORS is None or _PROCESS_EXTRACTORS.whisper_model != job.whisper_model:
        _PROCESS_EXTRACTORS = _Extractors(job.whisper_model)
    sentences = [item.text for item in job.items if item.text is not None]
    if sentences:  # a corpus chunk: its sentences encoded in padded batches, several times faster
        _PROCESS_EXTRACTORS.text_encoder().prefetch(sentences)
    arrays: dict[str, list[np.ndarray]] = {}
    kept_splits, failures = [], []
    for item, split in zip(job.items, job.splits):
        try:
            window = prepare_window(item, _PROCESS_EXTRACTORS, job.shape)
        except (SampleError, ValueError, OSError, RuntimeError) as error:
            failures.append({"key": item.key, "error": str(error)})
            continue
        for name, value in window.items():
            arrays.setdefault(name, []).append(value)
        arrays.setdefault("labels", []).append(
            np.array([label in item.labels for label in job.labels], np.float32)
        )
        kept_splits.append(split)
    part = Path(job.parts_dir) / f"part-{job.number:06d}"
    if kept_splits:
        stacked = compact_absent_modalities({k: np.stack(v) for k, v in arrays.items()})
        save_file(stacked, f"{part}.safetensors")
    write_json_atomically(
        Path(f"{part}.json"), {"chunk": job.number, "splits": kept_splits, "failures": failures}
    )
    return job.number, len(kept_splits), failures


def prepare_dataset(
    source: str | Path,
    out: str | Path,
    *,
    shape: WindowShape = DEFAULT_WINDOW,
    labels: tuple[str, ...] = MOSEI_LABELS,
    seed: int = 0,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    only_split: str | None = None,
    chunk_size: int = 256,
    shard: tuple[int, int] = (0, 1),
    workers: int = 1,
    whisper_model: str | None = None,
    progress: bool = True,
) -> PrepareSummary:
    """Prepare every item of `source` into `out` (see the module docstring). Safe to run again: done
    chunks are skipped, and the merge happens once every chunk of every shard is in `out/parts`."""
    from feature_extractors.spec import default_feature_spec

    if Path(source).suffix.lower() == ".npz":  # a face-image set with votes (trainer/face_images.py)
        from .face_images import prepare_face_set

        samples = prepare_face_set(
            Path(source), Path(out), shape=shape, labels=labels, window_s=STILL_FACE_SECONDS, seed=seed,
            progress=progress,
        )  # fmt: skip
        return PrepareSummary(Path(out), 1, 1, 0, [], True, samples)
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise PrepareError(f"--shard {index}/{count}: need 0 <= i < n")
    if only_split is not None and only_split not in SPLITS:
        raise PrepareError(f"split must be one of {list(SPLITS)}, got {only_split!r}")
    items = read_items(source, labels)
    if not items:
        raise PrepareError(f"{source} lists no samples")
    out = Path(out)
    parts_dir = out / PARTS_DIR
    parts_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "source": str(source),
        "items": len(items),
        "items_sha256": hashlib.sha256("\n".join(map(_item_fingerprint, items)).encode()).hexdigest(),
        "shape": asdict(shape),
        "labels": list(labels),
        "seed": seed,
        "valid_fraction": valid_fraction,
        "test_fraction": test_fraction,
        "only_split": only_split,
        "chunk_size": chunk_size,
        "feature_spec": default_feature_spec().to_dict(),
    }
    _check_or_write_settings(out / SETTINGS_FILE, settings)
    splits = [
        only_split or item.split or split_of(item.key, seed, valid_fraction, test_fraction) for item in items
    ]
    chunks = range((len(items) + chunk_size - 1) // chunk_size)
    done = {n for n in chunks if (parts_dir / f"part-{n:06d}.json").is_file()}
    jobs = [
        _ChunkJob(
            n,
            tuple(items[n * chunk_size : (n + 1) * chunk_size]),
            tuple(splits[n * chunk_size : (n + 1) * chunk_size]),
            str(parts_dir),
            shape,
            labels,
            whisper_model,
        )
        for n in chunks
        if n % count == index and n not in done
    ]
    failures: list[dict[str, str]] = []
    bar = tqdm(
        total=sum(len(j.items) for j in jobs), desc="prepare", unit="sample", disable=not progress
    )
    try:
        for _, written, chunk_failures in _map_jobs(jobs, workers):
            for failure in chunk_failures:
                tqdm.write(f"prepare: skipped {failure['key']}: {failure['error']}")
            failures.extend(chunk_failures)
            bar.update(written + len(chunk_failures))
    finally:
        bar.close()
    all_done = all((parts_dir / f"part-{n:06d}.json").is_file() for n in chunks)
    samples: dict[str, int] = {}
    if all_done:
        samples = _merge_parts(out, len(chunks), labels, shape, default_feature_spec().to_dict())
    return PrepareSummary(out, len(chunks), len(jobs), len(done), failures, all_done, samples)


def _item_fingerprint(item: Item) -> str:
    # Modalities only when limited, so datasets prepared before the column existed still resume.
    limited = f"|{item.modalities}" if item.modalities != MODALITIES else ""
    return f"{item.key}|{item.labels}{limited}"


def _map_jobs(jobs: list[_ChunkJob], workers: int) -> Iterator[tuple[int, int, list[dict[str, str]]]]:
    if workers <= 1 or len(jobs) <= 1:
        import torch

        threads = torch.get_num_threads()  # the extractors use one; give the caller its own back
        try:
            yield from map(_run_chunk, jobs)
        finally:
            torch.set_num_threads(threads)
        return
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_run_chunk, jobs)


def _merge_parts(
    out: Path, chunks: int, labels: tuple[str, ...], shape: WindowShape, feature_spec: dict[str, Any]
) -> dict[str, int]:
    """Concatenate every part into its split. An empty train split is still written (the reader needs
    one, e.g. for a test-only dataset to evaluate on); an empty valid or test split is left out."""
    per_split: dict[str, dict[str, list[np.ndarray]]] = {s: {} for s in SPLITS}
    for number in range(chunks):
        part = out / PARTS_DIR / f"part-{number:06d}"
        record = json.loads(Path(f"{part}.json").read_text(encoding="utf-8"))
        if not record["splits"]:
            continue
        arrays = load_file(f"{part}.safetensors")
        chosen = np.array(record["splits"])
        for split in SPLITS:
            rows = np.flatnonzero(chosen == split)
            if len(rows):
                for name, value in arrays.items():
                    per_split[split].setdefault(name, []).append(value[rows])
    from feature_extractors.spec import default_feature_spec

    dims = default_feature_spec().dims
    steps = dict(zip(MODALITIES, shape.lengths))
    result: dict[str, FeatureSplit] = {}
    for split, arrays in per_split.items():
        if arrays:
            result[split] = FeatureSplit(
                **{k: np.concatenate(v) if k == "labels" else concatenate_padded(v) for k, v in arrays.items()}
            )
        elif split == "train":
            empty = {m: np.zeros((0, steps[m], dims[m]), np.float32) for m in MODALITIES}
            empty |= {f"{m}_mask": np.zeros((0, steps[m]), np.float32) for m in MODALITIES}
            result[split] = FeatureSplit(**empty, labels=np.zeros((0, len(labels)), np.float32))
    write_prepared_dataset(out, result, labels=labels, aligned=shape.aligned, feature_spec=feature_spec)
    return {split: len(value) for split, value in result.items()}


def _check_or_write_settings(path: Path, settings: dict[str, Any]) -> None:
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in settings if before.get(k) != settings[k])
        if changed:
            raise PrepareError(
                f"{path.parent} was prepared with other settings ({', '.join(changed)} differ); "
                "use a new --out folder, or the same input and options to resume"
            )
        return
    write_json_atomically(path, settings)
