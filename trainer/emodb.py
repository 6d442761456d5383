"""EmoDB (Burkhardt et al. 2005, CC0) as voice-only training data, and the six-class scoring used on it.

EmoDB's sentences are German and emotionally neutral, so only the voice may learn from it: `emodb_csv`
writes a `main.py prepare` CSV whose `modalities` column keeps the voice alone (no words, no face).
Targets come from the emotion letter: F happy, T sad, W angry, A fear, E disgust; N (neutral) and
L (boredom) carry none of the six labels; EmoDB has no surprise.

Live-shaped windows (`live_windows`): a live 3 s window holds a clip and the room around it (up to 60
voice rows), where a whole 2 s clip alone gives 31; a model trained on the clips alone called a neutral
voice through the microphone sad. So each clip is placed in a longer recording (`live_clip`: room before
it, a random lead, so the row grid falls anywhere in the clip; room after it), and the prepare CSV cuts
`LIVE_ENDS` windows from it, from half a second into the clip to 1.5 s after it ends, as a live engine
scores it while the clip plays. The room is digital silence (what a muted or null microphone gives) or a
room sound (`trainer/room_sounds.py`), and half the recordings pass through a webcam's channel. Every
window carries its clip's labels.

Six-class view (happy, sad, angry, fear, disgust, neutral), for speaker-independent accuracy: a clip's
class is the label with the highest score among those above their threshold, or neutral when none is;
a clip's scores are the mean of its windows' scores (`clip_scores`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE
from feature_extractors.windows import LIVE_WINDOW_S

CREDIT = (
    "Burkhardt, F., Paeschke, A., Rolfes, M., Sendlmeier, W. and Weiss, B. (2005). A Database of German "
    "Emotional Speech. Interspeech 2005. CC0 1.0 (audEERING's packaging)."
)
LETTER_LABEL = {"F": "happy", "T": "sad", "W": "angry", "A": "fear", "E": "disgust", "N": "", "L": ""}
CLASSES = ("happy", "sad", "angry", "fear", "disgust", "neutral")
SEED = 0

WINDOW_S = LIVE_WINDOW_S  # the live engine's window
LEAD_S = (2.5, 3.0)  # room before a clip: at least a window, so every window starts inside the recording
TAIL_S = 2.0  # room after it
LIVE_ENDS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)  # window ends, seconds after the clip starts
HEARD_S = 1.25  # audio a window's first rows summarise (a 1 s span, up to 0.25 s before its pass ends)
# The room around a clip: digital silence (a muted or null microphone) or a room sound, equally often, at a
# level drawn in ROOM_DBFS (RMS; speech peaks near -6 dBFS); half the clips through a webcam's channel.
ROOM_KINDS = ("silence", "room", "hum", "music", "keyboard")
ROOM_DBFS = (-70.0, -40.0)
WEBCAM_SHARE = 0.5


def read_labels(root: Path) -> list[dict[str, str]]:
    """labels.csv rows, sorted by file name (the order `main.py prepare` keeps for a CSV)."""
    path = Path(root) / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no EmoDB labels at {path}; expected the shared copy (../shared/data/emodb)")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    unknown = sorted({r["emodb_letter"] for r in rows} - set(LETTER_LABEL))
    if unknown:
        raise ValueError(f"{path}: unknown emotion letters {unknown}")
    return sorted(rows, key=lambda r: r["file"])


def emodb_csv(root: Path, out: Path) -> list[dict[str, str]]:
    """Write the prepare CSV (absolute paths, voice only) for every clip; returns the rows in its order."""
    rows = read_labels(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "labels", "modalities"])
        for row in rows:
            path = (Path(root) / "wav" / row["file"]).resolve()
            writer.writerow([str(path), LETTER_LABEL[row["emodb_letter"]], "audio"])
    return rows


def clip_seed(name: str, seed: int = SEED) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little")


def live_clip(samples: np.ndarray, name: str, seed: int = SEED, clean: bool = False) -> tuple[np.ndarray, float]:
    """A 16 kHz clip in a longer recording, as a microphone hears it: (recording, time the clip starts).
    The lead, the room (digital silence, or one of trainer/room_sounds.py's noises at a drawn level) and
    whether a webcam's channel carries it (band limit, low-rate Opus, room noise 20 dB below the speech)
    are drawn from the clip's name and the seed. `clean`: the clip as recorded, in digital silence (the
    same lead), for figures comparable with other work."""
    from .room_sounds import noise, webcam_channel

    rng = np.random.default_rng(clip_seed(name, seed))
    lead = round(float(rng.uniform(*LEAD_S)) * SAMPLE_RATE)  # the first draw: live_clip_start repeats it
    room = ROOM_KINDS[int(rng.integers(len(ROOM_KINDS)))]
    level = float(rng.uniform(*ROOM_DBFS))
    webcam = rng.random() < WEBCAM_SHARE
    recording = np.zeros(lead + len(samples) + round(TAIL_S * SAMPLE_RATE), np.float32)
    if room != "silence" and not clean:
        recording += noise(room, len(recording), level, rng)
    recording[lead : lead + len(samples)] += samples
    if webcam and not clean:
        recording = webcam_channel(recording, rng)
    return recording, lead / SAMPLE_RATE


def live_clip_start(name: str, seed: int = SEED) -> float:
    """The time `live_clip` places the clip at, without making the recording."""
    rng = np.random.default_rng(clip_seed(name, seed))
    return round(float(rng.uniform(*LEAD_S)) * SAMPLE_RATE) / SAMPLE_RATE


def live_windows(root: Path, work: Path, seed: int = SEED) -> list[dict[str, str]]:
    """Write the prepare CSV (work/emodb_live.csv) of every clip's LIVE_ENDS windows, and each window's
    recording (under work/live_clips); returns one labels row per window (with `clip_start` and
    `window_end`, seconds in the clip's live recording), in the order `main.py prepare` keeps.

    A window's recording is the live one cut at the window's end, from a window and `HEARD_S` before it:
    `build_window` keeps rows whose span overlaps the window, so from the whole recording it would take
    rows that end up to a second after the window (audio a live engine has not heard yet)."""
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


def cut_live_windows(recording: np.ndarray, clip_start: float, stem: str, clips: Path) -> list[dict[str, str]]:
    """The LIVE_ENDS windows of one clip's live recording, each written as its own wav under `clips` (a
    window and HEARD_S before its end, `live_windows` says why): one row each, with the wav's path, the
    window's start and end in that wav, and `clip_start`, `window_end` in the recording."""
    import soundfile

    clips.mkdir(parents=True, exist_ok=True)
    rows = []
    for after in LIVE_ENDS:
        end = round((clip_start + after) * SAMPLE_RATE)
        first = max(0, end - round((WINDOW_S + HEARD_S) * SAMPLE_RATE))
        path = clips / f"{stem}_{after:.1f}.wav"
        if not path.is_file():  # recording may be None when every window's wav is there
            soundfile.write(path, recording[first:end], SAMPLE_RATE, subtype="PCM_16")
        rows.append({"path": str(path.resolve()), "clip_start": f"{clip_start:.4f}",
                     "window_end": f"{end / SAMPLE_RATE:.4f}",
                     "start": f"{(end - first) / SAMPLE_RATE - WINDOW_S:.4f}",
                     "end": f"{(end - first) / SAMPLE_RATE:.4f}"})  # fmt: skip
    return rows


def write_windows_csv(windows: list[dict[str, str]], out: Path, labels_of) -> None:
    """Sort the windows as `main.py prepare` keeps them (in place) and write their voice-only prepare CSV,
    each window's labels from labels_of(window)."""
    windows.sort(key=lambda w: (w["path"], float(w["start"])))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "start", "end", "labels", "modalities"])
        for w in windows:
            writer.writerow([w["path"], w["start"], w["end"], labels_of(w), "audio"])


def clip_scores(scores: np.ndarray, windows: list[dict[str, str]]) -> tuple[np.ndarray, list[str]]:
    """Each clip's scores (the mean over its windows that voted) and the clips' file names, in first-seen
    order. A window where no stream voted (every score 0: a model that needs more voice rows than it held,
    CaratConfig.audio_min_rows) shows nothing live, so it does not count; a clip with none scores 0."""
    files = list(dict.fromkeys(w["file"] for w in windows))
    of = np.array([w["file"] for w in windows])
    voted = np.asarray(scores).any(axis=1)
    return np.stack([_mean_or_zero(scores[(of == f) & voted], scores.shape[1]) for f in files]), files


def _mean_or_zero(rows: np.ndarray, width: int) -> np.ndarray:
    return rows.mean(axis=0) if len(rows) else np.zeros(width, np.float32)


def clip_letters(windows: list[dict[str, str]]) -> list[str]:
    """The emotion letter of each clip, in `clip_scores` order."""
    return list({w["file"]: w["emodb_letter"] for w in windows}.values())


def class_of_letter(letter: str) -> str:
    return LETTER_LABEL[letter] or "neutral"


def six_class(scores: np.ndarray, labels: tuple[str, ...], thresholds: np.ndarray) -> np.ndarray:
    """Each row's class: the best-scoring label above its threshold, or neutral when none passes.
    Only labels among CLASSES compete (surprise, absent from EmoDB, never does)."""
    columns = [labels.index(c) for c in CLASSES[:-1]]
    chosen = scores[:, columns]
    passing = chosen > np.asarray(thresholds)[columns]
    masked = np.where(passing, chosen, -np.inf)
    best = masked.argmax(axis=1)
    return np.where(passing.any(axis=1), np.array(CLASSES[:-1])[best], "neutral")


def recalls(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Recall of each of the six classes (nan for a class with no clip)."""
    return {c: float((predicted[truth == c] == c).mean()) if (truth == c).any() else float("nan") for c in CLASSES}


def uar(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Unweighted average recall over the classes present in `truth`."""
    return float(np.nanmean(list(recalls(truth, predicted).values())))


# -- training a voice CARAT on speakers, scoring it on others ---------------------------------------


# The fewest voice rows (20 a second: 1 s of voice) that let the voice vote (CaratConfig.audio_min_rows):
# in the first windows of a neutral speaker, half a second of voice read disgust 0.40 and sad 0.70 in the
# live engine (the held-out voice checkpoint of session 8, trained at 1 row), and rows that few are not
# evidence enough. Voice-only training windows with fewer rows carry no stream at all and are dropped.
VOICE_MIN_ROWS = 20
# Calm synthetic clips (trainer/synthetic_speech.py: espeak-ng voices, no label) added to a voice-only
# training set: with EmoDB's actors alone, 85% of the held-out calm clips raised a label (session 12).
# 60 of the 240 (420 windows beside about 2,200 of EmoDB's a fold) keep the cross-validation's time.
CALM_CLIPS = 60


def voice_config(dims: dict[str, int], min_rows: int = VOICE_MIN_ROWS):
    """streams_config with one layer for the two streams EmoDB never trains (they stay unused), and the
    voice voting from `min_rows` rows on."""
    from .presets import streams_config

    return streams_config(dims, text_layers=1, visual_layers=1, audio_min_rows=min_rows)


def with_enough_voice(dataset, min_rows: int = VOICE_MIN_ROWS):
    """The voice-only dataset with its train split rid of the windows of fewer than `min_rows` voice rows
    (under the rule they hold no stream, so nothing to learn from); its other splits as they are."""
    import dataclasses

    from carat_model.model import soft_aligned_mask

    train = dataset.split("train")
    enough = np.flatnonzero(soft_aligned_mask(train.mask("audio"), 1, min_rows)[:, 0])
    dropped = len(train) - len(enough)
    # stderr: a benchmark's --json output stays JSON
    print(
        f"voice: {dropped} of {len(train)} training windows hold under {min_rows} voice rows: dropped", file=sys.stderr
    )
    return dataclasses.replace(dataset, splits={**dataset.splits, "train": train.subset(enough)})


def with_calm_voices(dataset, work: Path, clips: int = CALM_CLIPS):
    """The voice-only dataset with the windows of the first `clips` calm synthetic training clips (no
    label; voices and sentences apart from the held-out ones) added to its train split."""
    import dataclasses

    from .datasets import FeatureSplit, concatenate_padded
    from .synthetic_speech import synthetic_voice_windows

    calm, windows = synthetic_voice_windows(work)
    files = list(dict.fromkeys(w["file"] for w in windows))[:clips]
    calm_train = calm.split("train").subset(np.flatnonzero(np.isin([w["file"] for w in windows], files)))
    train = dataset.split("train")
    joined = FeatureSplit(
        **{name: concatenate_padded([value, getattr(calm_train, name)]) for name, value in vars(train).items()}
    )
    return dataclasses.replace(dataset, splits={**dataset.splits, "train": joined})


def voice_settings(epochs: int, seed: int = SEED):
    from .loop import TrainSettings

    return TrainSettings(
        epochs=epochs,
        batch_size=8,  # 330 clips: small batches give the steps CARAT needs to leave its first plateau
        lr=1e-3,
        warmup=0.1,
        seed=seed,
        absent_modalities=("text", "visual"),  # voice only: the predictor will not let them vote
        balance_classes=True,  # judged by UAR; EmoDB has 99 angry clips to 34 disgust (trainer/balancing.py)
        progress=False,
    )


def prepared_emodb(emodb: Path, work: Path):
    """The voice-only EmoDB dataset of live-shaped windows (prepared once, then read from `work`) and one
    labels row per window (the clip's labels.csv row plus `clip_start`, `window_end`), in its order."""
    windows = live_windows(emodb, work)
    return voice_only_dataset(work / "emodb_live.csv", work / "emodb_voice", windows)


def voice_recipe() -> dict:
    """What a prepared folder of live-shaped voice-only windows depends on: the voice extractor's
    FeatureSpec entry, the window recipe and the window's shape."""
    from feature_extractors.spec import default_feature_spec

    from .presets import STREAMS_WINDOW

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
    from feature_extractors.spec import default_feature_spec

    from .datasets import FeatureDataset, load_prepared_dataset
    from .prepare import prepare_dataset
    from .presets import STREAMS_WINDOW

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
    from .sample_windows import NOTHING_IN_SPAN

    skipped = set()
    for part in sorted((out / "parts").glob("*.json")):
        for failure in json.loads(part.read_text(encoding="utf-8"))["failures"]:
            if failure["error"] != NOTHING_IN_SPAN:
                raise RuntimeError(f"{csv_path.name}: a window failed to prepare: {failure}")
            path, span = failure["key"].rsplit("@", 1)
            start, end = span.rsplit("-", 1)
            skipped.add((path, round(float(start), 3), round(float(end), 3)))
    return skipped


def fold_dataset(dataset, speaker_of: np.ndarray, train, valid, test):
    """The dataset with train/valid/test splits holding the windows of those speakers (`speaker_of`: each
    window's speaker, as `prepared_emodb`'s rows give them)."""
    from .datasets import FeatureDataset

    full = dataset.split("train")
    splits = {
        name: full.subset(np.flatnonzero(np.isin(speaker_of, list(group))))
        for name, group in (("train", train), ("valid", valid), ("test", test))
    }
    return FeatureDataset("emodb-voice", dataset.labels, dataset.aligned, splits, dataset.feature_spec, dataset.source)


def emodb_voice_splits(
    test_speakers=("10", "12"),
    valid_speakers=("11",),
    emodb: Path | None = None,
    work: Path | None = None,
):
    """EmoDB's live-shaped voice-only windows (STREAMS_WINDOW) split by speaker, for mixing into a model:
    returns ({"train", "valid", "test"}: FeatureSplit, {split: its windows' labels rows}), train holding
    every speaker in neither test_speakers nor valid_speakers. Prepares on first use (a few minutes, one
    core) into work (default build/voice) from emodb (default ../shared/data/emodb)."""
    root = Path(__file__).resolve().parents[1]
    emodb = Path(emodb) if emodb is not None else root.parent / "shared" / "data" / "emodb"
    work = Path(work) if work is not None else root / "build" / "voice"
    test, valid = [str(s) for s in test_speakers], [str(s) for s in valid_speakers]
    if set(test) & set(valid):
        raise ValueError(f"speakers {sorted(set(test) & set(valid))} are in both test and valid")
    dataset, windows = prepared_emodb(emodb, work)
    speakers = sorted({w["speaker"] for w in windows})
    unknown = sorted(set(test + valid) - set(speakers))
    if unknown:
        raise ValueError(f"EmoDB has no speakers {unknown}; its speakers are {speakers}")
    train = [s for s in speakers if s not in test + valid]
    fold = fold_dataset(dataset, np.array([w["speaker"] for w in windows]), train, valid, test)
    rows = {name: [w for w in windows if w["speaker"] in group]
            for name, group in (("train", train), ("valid", valid), ("test", test))}  # fmt: skip
    return {name: fold.split(name) for name in ("train", "valid", "test")}, rows
