"""Live-shaped voice-only windows as prepared datasets: EmoDB's, and the folder recipe every voice corpus
(voice_corpora.py, synthetic_speech.py) prepares its windows with.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE
from feature_extractors.spec import default_feature_spec

from .datasets import FeatureDataset, load_prepared_dataset
from .emodb import LETTER_LABEL, read_labels
from .live_clips import (
    HEARD_S,
    LEAD_S,
    LIVE_ENDS,
    ROOM_DBFS,
    ROOM_KINDS,
    SEED,
    TAIL_S,
    WEBCAM_SHARE,
    cut_live_windows,
    live_clip,
    write_windows_csv,
)
from .prepare import prepare_dataset
from .presets import STREAMS_WINDOW
from .sample_windows import NOTHING_IN_SPAN


def live_windows(root: Path, work: Path, seed: int = SEED) -> list[dict[str, str]]:
    """Write the prepare CSV (work/emodb_live.csv) of every clip's LIVE_ENDS windows, and each window's
    recording (under work/live_clips); returns one labels row per window (with `clip_start` and
    `window_end`, seconds in the clip's live recording), in the order `main.py prepare` keeps.

    A window's recording is the live one cut at the window's end, from a window and `HEARD_S` before it
    (`live_clips.cut_live_windows` says why)."""
    import soundfile
    import soxr

    clips = work / "live_clips"
    windows = []
    for row in read_labels(root):
        samples, rate = soundfile.read(Path(root) / "wav" / row["file"], dtype="float32")
        recording, clip_start = live_clip(
            soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32), row["file"], seed
        )
        windows += [{**row, **cut} for cut in cut_live_windows(recording, clip_start, Path(row["file"]).stem, clips)]
    write_windows_csv(windows, work / "emodb_live.csv", lambda w: LETTER_LABEL[w["emodb_letter"]])
    return windows


def prepared_emodb(emodb: Path, work: Path):
    """The voice-only EmoDB dataset of live-shaped windows (prepared once, then read from `work`) and one
    labels row per window (the clip's labels.csv row plus `clip_start`, `window_end`), in its order."""
    windows = live_windows(emodb, work)
    return voice_only_dataset(work / "emodb_live.csv", work / "emodb_voice", windows)


def voice_recipe() -> dict:
    """What a prepared folder of live-shaped voice-only windows depends on: the voice extractor's
    FeatureSpec entry, the window recipe and the window's shape."""
    return {"audio": default_feature_spec().to_dict()["audio"], "lead": LEAD_S, "tail": TAIL_S, "ends": LIVE_ENDS,
            "heard": HEARD_S, "rooms": ROOM_KINDS, "room_dbfs": ROOM_DBFS, "webcam": WEBCAM_SHARE, "seed": SEED,
            "shape": list(STREAMS_WINDOW.lengths)}  # fmt: skip


def voice_only_dataset(csv_path: Path, stem: Path, windows: list[dict], recipe: dict | None = None, workers: int = 1):
    """The voice-only windows of a prepare CSV (one row each in `windows`, in its order) as one train split
    (prepared once into `stem`_<digest of the recipe>, then read from there), with the current FeatureSpec,
    and the windows it holds: prepare skips a window without a voice row (the speech gate kept none: no
    speech in it), which a live window shows as no vote. The folder is named by the voice extractor's
    FeatureSpec and the window recipe only: the windows hold no words and no face, so a change to those
    extractors leaves them as they are (and prepare's own check, which compares every stream, would refuse
    the folder)."""
    live = default_feature_spec().to_dict()
    digest = hashlib.sha256(json.dumps(recipe or voice_recipe(), sort_keys=True).encode()).hexdigest()
    out = stem.with_name(f"{stem.name}_{digest[:10]}")
    if not (out / "index.json").is_file():
        prepare_dataset(csv_path, out, shape=STREAMS_WINDOW, only_split="train", workers=workers)
    voiceless = voiceless_windows(out, csv_path)
    kept = [w for w in windows if window_key(w) not in voiceless]
    prepared = load_prepared_dataset(out)
    if prepared.feature_spec["audio"] != live["audio"]:
        raise RuntimeError(f"{out} holds rows of another voice extractor; delete it and run again")
    if len(prepared.split("train")) != len(kept):
        raise RuntimeError(f"{out} holds {len(prepared.split('train'))} windows, expected {len(kept)}")
    dims = default_feature_spec().dims
    for split in prepared.splits.values():
        for m in ("text", "visual"):  # never present here: zeros of the current size stand for them
            if split.mask(m).any():
                raise RuntimeError(f"{out} has {m} features; these windows are voice only")
            if split.features(m).shape[2] != dims[m]:
                setattr(split, m, np.zeros((len(split), 1, dims[m]), np.float32))
                setattr(split, f"{m}_mask", np.zeros((len(split), 1), np.float32))
    dataset = FeatureDataset(prepared.name, prepared.labels, prepared.aligned, prepared.splits, live, prepared.source)
    return dataset, kept


def window_key(window: dict) -> tuple[str, float, float]:
    return window["path"], round(float(window["start"]), 3), round(float(window["end"]), 3)


def voiceless_windows(out: Path, csv_path: Path) -> set[tuple[str, float, float]]:
    """The windows prepare skipped for holding no voice row (from its parts' records); any other failure
    is an error."""
    skipped = set()
    for part in sorted((out / "parts").glob("*.json")):
        for failure in json.loads(part.read_text(encoding="utf-8"))["failures"]:
            if failure["error"] != NOTHING_IN_SPAN:
                raise RuntimeError(f"{csv_path.name}: a window failed to prepare: {failure}")
            path, span = failure["key"].rsplit("@", 1)
            start, end = span.rsplit("-", 1)
            skipped.add((path, round(float(start), 3), round(float(end), 3)))
    return skipped
