"""The voice's training corpora together: EmoDB (German, 8 actors, CC0) and RAVDESS (North American English,
actors 01-16, CC BY-NC-SA 4.0), as voice-only live-shaped windows, and the seven-class scoring used on them.

Both corpora go through the same cutting (trainer/live_clips.py `live_clip`, `cut_live_windows`): each clip in a
recording with room around it (silence or a room sound, half of them through a webcam's channel), 7 windows
from half a second into the speech to 1.5 s after it. RAVDESS clips begin with about a second of their
studio's room, so their windows are counted from `RAVDESS_SPEECH_S` in. Labels: RAVDESS happy, sad, angry,
fearful (fear), disgust, surprised (surprise); neutral and calm carry none; EmoDB as trainer/emodb.py says
(it has no surprise). Speakers are named by corpus (`emodb:08`, `ravdess:01`) so the two never mix.

Seven-class view (the six labels and neutral): a clip's class is its best-scoring label above its threshold,
or neutral when none passes; a clip's scores are the mean of its windows' scores (`voice_scoring.clip_scores`).
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE

from . import voice_scoring
from .data_folders import corpus
from .emodb import LETTER_LABEL, read_labels
from .live_clips import LIVE_ENDS, SEED, cut_live_windows, live_clip, live_clip_start, write_windows_csv
from .metrics import THRESHOLD_GRID
from .room_sounds import NOISE_KINDS, noise
from .voice_scoring import clip_scores
from .voice_training import fold_dataset, voice_config, voice_settings, with_calm_voices, with_enough_voice
from .voice_windows import voice_only_dataset, voice_recipe

CLASSES = ("happy", "sad", "angry", "fear", "disgust", "surprise", "neutral")
CORPORA = ("emodb", "ravdess")
RAVDESS_SPEECH_S = 1.0  # RAVDESS clips open with about a second of room
RAVDESS_LICENSE = "CC BY-NC-SA 4.0"
RAVDESS_CREDIT = (
    "Livingstone, S. R. and Russo, F. A. (2018). The Ryerson Audio-Visual Database of Emotional Speech and "
    "Song (RAVDESS). PLoS ONE 13(5): e0196391. CC BY-NC-SA 4.0: models trained on it carry these terms."
)
ROOT = Path(__file__).resolve().parents[1]
NOISE_CLIPS = 40  # noise-only recordings (no label) beside the speech
NOISE_DBFS = (-55.0, -20.0)


def emodb_clips(root: Path) -> list[dict[str, str]]:
    clips = []
    for r in read_labels(root):
        labels = LETTER_LABEL[r["emodb_letter"]]
        clips.append({"corpus": "emodb", "file": r["file"], "speaker": f"emodb:{r['speaker']}", "sex": r["sex"],
                      "path": str(Path(root) / "wav" / r["file"]), "labels": labels, "class": labels or "neutral",
                      "speech_at": "0"})  # fmt: skip
    return clips


def ravdess_clips(root: Path) -> list[dict[str, str]]:
    path = Path(root) / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no RAVDESS labels at {path}; expected the shared copy (CARAT_DATA/ravdess)")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["file"])
    clips = []
    for r in rows:
        labels = [name for name in CLASSES[:-1] if r[name] == "1"]
        clips.append({"corpus": "ravdess", "file": r["file"], "speaker": f"ravdess:{r['actor']}", "sex": r["sex"],
                      "path": str(Path(root) / "flac" / r["file"]), "labels": ",".join(labels),
                      "class": labels[0] if labels else "neutral", "speech_at": str(RAVDESS_SPEECH_S)})  # fmt: skip
    return clips


def corpus_clips(corpora=CORPORA, emodb: Path | None = None, ravdess: Path | None = None):
    readers = {"emodb": lambda: emodb_clips(emodb or corpus("emodb")),
               "ravdess": lambda: ravdess_clips(ravdess or corpus("ravdess"))}  # fmt: skip
    unknown = sorted(set(corpora) - set(readers))
    if unknown:
        raise ValueError(f"unknown voice corpora {unknown}; the corpora are {CORPORA}")
    return [clip for name in corpora for clip in readers[name]()]


def read_clip(path: str) -> np.ndarray:
    import soundfile
    import soxr

    samples, rate = soundfile.read(path, dtype="float32")
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32) if rate != SAMPLE_RATE else samples


def live_windows(
    clips: list[dict[str, str]], work: Path, seed: int = SEED, clean: bool = False
) -> list[dict[str, str]]:
    """Every clip's live windows (as voice_windows.live_windows cuts EmoDB's), their wavs under work/live_clips
    (`clean`: the clips as recorded, in silence, under work/clean_clips); one row per window (the clip's row
    with `path`, `start`, `end`, `clip_start`, `window_end`)."""
    folder = work / ("clean_clips" if clean else "live_clips")
    windows = []
    for clip in clips:
        stem = Path(clip["file"]).stem
        written = all((folder / f"{stem}_{after:.1f}.wav").is_file() for after in LIVE_ENDS)
        # the recording is made only for windows not written yet (it costs a webcam channel's codec)
        recording, clip_start = (
            (None, live_clip_start(clip["file"], seed))
            if written
            else live_clip(read_clip(clip["path"]), clip["file"], seed, clean)
        )
        cuts = cut_live_windows(recording, clip_start + float(clip["speech_at"]), stem, folder)
        windows += [{**clip, **cut} for cut in cuts]
    return windows


def noise_windows(work: Path, count: int = NOISE_CLIPS, seed: int = SEED) -> list[dict[str, str]]:
    """Noise-only recordings (room noise, hum, music, typing at drawn levels; no speech, no label) cut as a
    clip's windows are: the voice must learn that what gets past its speech gate is no emotion."""
    windows = []
    for k in range(count):
        name = f"noise_{k:03d}"
        rng = np.random.default_rng(seed + 1000 + k)
        kind = NOISE_KINDS[k % len(NOISE_KINDS)]
        sound = noise(kind, round(8.0 * SAMPLE_RATE), float(rng.uniform(*NOISE_DBFS)), rng)
        cuts = cut_live_windows(sound, 3.0, name, work / "noise_clips")  # as a clip starts: after a whole window
        windows += [{"corpus": "noise", "file": name, "speaker": "noise", "labels": "", "class": "neutral",
                     "kind": kind, **cut} for cut in cuts]  # fmt: skip
    return windows


def prepared_voice(corpora=CORPORA, work: Path = ROOT / "build" / "voice", *, with_noise: bool = True,
                   workers: int = 2, clean: bool = False):  # fmt: skip
    """The voice-only dataset of the corpora's live windows (and the noise-only windows), prepared once
    under `work` with `main.py prepare`'s code, and one row per window in the dataset's order (windows
    without speech are not in it). `clean`: the clips as recorded, in silence, without noise windows."""
    work = Path(work)
    with_noise = with_noise and not clean
    windows = live_windows(corpus_clips(corpora), work, clean=clean)
    if with_noise:
        windows += noise_windows(work)
    name = "voice_" + "_".join(corpora) + ("_noise" if with_noise else "") + ("_clean" if clean else "")
    csv_path = work / f"{name}.csv"
    write_windows_csv(windows, csv_path, lambda w: w["labels"])
    recipe = {**voice_recipe(), "corpora": list(corpora), "noise": [NOISE_CLIPS, NOISE_DBFS] if with_noise else None,
              "ravdess_speech": RAVDESS_SPEECH_S, **({"clean": True} if clean else {})}  # fmt: skip
    return voice_only_dataset(csv_path, work / name, windows, recipe, workers=workers)


# The seven-class view of voice_scoring's decision and recalls: surprise competes (RAVDESS has it).
decide = partial(voice_scoring.decide, classes=CLASSES)
recalls = partial(voice_scoring.recalls, classes=CLASSES)
uar = partial(voice_scoring.uar, classes=CLASSES)


def confusion(truth: np.ndarray, predicted: np.ndarray) -> list[list[int]]:
    """Counts [true class][predicted class] in CLASSES order."""
    return [[int(((truth == t) & (predicted == p)).sum()) for p in CLASSES] for t in CLASSES]


def clip_classes(windows: list[dict[str, str]]) -> np.ndarray:
    """Each clip's true class, in `voice_scoring.clip_scores` order."""
    return np.array(list({w["file"]: w["class"] for w in windows}.values()))


def best_threshold(scores: np.ndarray, labels: tuple[str, ...], truth: np.ndarray) -> float:
    """One threshold for every label: the grid value with the best seven-class UAR (ties: the lowest)."""
    found = [uar(truth, decide(scores, labels, np.full(len(labels), t))) for t in THRESHOLD_GRID]
    return float(THRESHOLD_GRID[int(np.argmax(found))])


def split_dataset(dataset, windows, train, valid, test):
    """The dataset with train/valid/test splits holding the windows of those speakers (noise windows, whose
    speaker is `noise`, go wherever "noise" is listed)."""
    return fold_dataset(dataset, np.array([w["speaker"] for w in windows]), train, valid, test)


def fit_voice(dataset, run_dir: Path, epochs: int, work: Path):
    """CARAT fitted on the dataset's train split (with the calm synthetic voices; windows with under a
    second of voice dropped), the epoch chosen on its valid split by the loop (micro-F1). A run that
    finished before is read back instead. Returns (the chosen epoch's model, that epoch)."""
    import json

    import torch

    from carat_model import load_checkpoint

    from .loop import fit

    finished = Path(run_dir) / "result.json"
    if not finished.is_file():
        torch.set_num_threads(1)  # two threads on two busy shared cores ran up to 10x slower (measured)
        trained = with_enough_voice(with_calm_voices(dataset, work))
        fit(trained, voice_config(dataset.feature_dims()), voice_settings(epochs), run_dir)
    model, _ = load_checkpoint(Path(run_dir) / "model.safetensors")
    return model, int(json.loads(finished.read_text(encoding="utf-8"))["epoch"])


def clip_scores_of(model, split, windows: list[dict[str, str]]) -> tuple[np.ndarray, list[str]]:
    """Each clip's mean scores over its windows that voted, and the clips' files, for a split whose
    windows' rows are `windows`."""
    from .loop import predict_scores

    return clip_scores(predict_scores(model, split, absent=("text", "visual")), windows)
