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

The parts: sample_lists.py reads the inputs (`read_items`, `split_of`), sample_windows.py makes one
window of a sample (`prepare_window`); here the chunks, their parts and the merge.

Splits: a sample's split is a function of its key (path and times, or corpus line number) and the seed,
so it does not depend on sharding, chunking or order; or `--split NAME` puts everything in one split.
"""

from __future__ import annotations

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

from .datasets import (
    SPLITS,
    FeatureSplit,
    compact_absent_modalities,
    concatenate_padded,
    write_prepared_dataset,
)
from .sample_lists import Item, PrepareError, read_items, split_of
from .sample_windows import STILL_FACE_SECONDS, Extractors, SampleError, WindowShape, prepare_window

PARTS_DIR = "parts"
SETTINGS_FILE = "prepare.json"


@dataclass
class PrepareSummary:
    out: Path
    chunks_total: int
    chunks_done_now: int
    chunks_skipped: int  # already done before this run
    failures: list[dict[str, str]]
    merged: bool
    samples: dict[str, int]


@dataclass(frozen=True)
class _ChunkJob:
    number: int
    items: tuple[Item, ...]
    splits: tuple[str, ...]
    parts_dir: str
    shape: WindowShape
    labels: tuple[str, ...]
    whisper_model: str | None


_PROCESS_EXTRACTORS: Extractors | None = None


def _run_chunk(job: _ChunkJob) -> tuple[int, int, list[dict[str, str]]]:
    """Prepare one chunk and write its part; returns (chunk number, samples written, failures)."""
    global _PROCESS_EXTRACTORS
    import torch

    # One intra-op thread per process: parallelism comes from --workers, and two threads fighting over
    # a busy core made the text encoder ten times slower (measured).
    torch.set_num_threads(1)
    if _PROCESS_EXTRACTORS is None or _PROCESS_EXTRACTORS.whisper_model != job.whisper_model:
        _PROCESS_EXTRACTORS = Extractors(job.whisper_model)
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
        arrays.setdefault("labels", []).append(np.array([label in item.labels for label in job.labels], np.float32))
        kept_splits.append(split)
    part = Path(job.parts_dir) / f"part-{job.number:06d}"
    if kept_splits:
        stacked = compact_absent_modalities({k: np.stack(v) for k, v in arrays.items()})
        save_file(stacked, f"{part}.safetensors")
    write_json_atomically(Path(f"{part}.json"), {"chunk": job.number, "splits": kept_splits, "failures": failures})
    return job.number, len(kept_splits), failures


def prepare_dataset(
    source: str | Path,
    out: str | Path,
    *,
    shape: WindowShape,
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
        return _prepare_face_photos(Path(source), Path(out), shape, labels, seed, progress)
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
    splits = [only_split or item.split or split_of(item.key, seed, valid_fraction, test_fraction) for item in items]
    chunks = range((len(items) + chunk_size - 1) // chunk_size)
    done = {n for n in chunks if (parts_dir / f"part-{n:06d}.json").is_file()}
    jobs = [
        _ChunkJob(n, tuple(items[n * chunk_size : (n + 1) * chunk_size]),
                  tuple(splits[n * chunk_size : (n + 1) * chunk_size]), str(parts_dir), shape, labels, whisper_model)
        for n in chunks
        if n % count == index and n not in done
    ]  # fmt: skip
    failures = _run_jobs(jobs, workers, progress)
    all_done = all((parts_dir / f"part-{n:06d}.json").is_file() for n in chunks)
    samples: dict[str, int] = {}
    if all_done:
        samples = _merge_parts(out, len(chunks), labels, shape, default_feature_spec().to_dict())
    return PrepareSummary(out, len(chunks), len(jobs), len(done), failures, all_done, samples)


def _prepare_face_photos(
    source: Path, out: Path, shape: WindowShape, labels: tuple[str, ...], seed: int, progress: bool
) -> PrepareSummary:
    """A face-image set with votes (an .npz), prepared in one go by its own route (trainer/face_images.py)."""
    from .face_images import prepare_face_set

    if shape.aligned:
        raise PrepareError(
            f"{source} holds face photos, which have no words: an aligned window (one step per word) "
            "cannot hold them; prepare them unaligned"
        )

    samples = prepare_face_set(
        source, out, shape=shape, labels=labels, window_s=STILL_FACE_SECONDS, seed=seed, progress=progress,
    )  # fmt: skip
    return PrepareSummary(out, 1, 1, 0, [], True, samples)


def _run_jobs(jobs: list[_ChunkJob], workers: int, progress: bool) -> list[dict[str, str]]:
    """Every chunk job run (in `workers` processes), each skipped sample said as it comes; the failures."""
    failures: list[dict[str, str]] = []
    bar = tqdm(total=sum(len(j.items) for j in jobs), desc="prepare", unit="sample", disable=not progress)
    try:
        for _, written, chunk_failures in _map_jobs(jobs, workers):
            for failure in chunk_failures:
                tqdm.write(f"prepare: skipped {failure['key']}: {failure['error']}")
            failures.extend(chunk_failures)
            bar.update(written + len(chunk_failures))
    finally:
        bar.close()
    return failures


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
