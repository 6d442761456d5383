"""Training a voice CARAT on some speakers and scoring it on others: its config and settings, the
windows it learns from (enough voice rows, calm synthetic voices added) and EmoDB's speaker splits.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from carat_model.model import soft_aligned_mask

from .data_folders import corpus
from .feature_data import FeatureDataset, FeatureSplit, concatenate_padded
from .live_clips import SEED
from .presets import streams_config
from .settings import TrainSettings
from .synthetic_speech import synthetic_voice_windows
from .voice_windows import prepared_emodb

# The fewest voice rows (20 a second: 1 s of voice) that let the voice vote (CaratConfig.audio_min_rows):
# in the first windows of a neutral speaker, half a second of voice read disgust 0.40 and sad 0.70 in the
# live engine (a held-out voice checkpoint trained at 1 row), and rows that few are not
# evidence enough. Voice-only training windows with fewer rows carry no stream at all and are dropped.
VOICE_MIN_ROWS = 20
# Calm synthetic clips (trainer/synthetic_speech.py: espeak-ng voices, no label) added to a voice-only
# training set: with EmoDB's actors alone, 85% of the held-out calm clips raised a label.
# 60 of the 240 (420 windows beside about 2,200 of EmoDB's a fold) keep the cross-validation's time.
CALM_CLIPS = 60


def voice_config(dims: dict[str, int], min_rows: int = VOICE_MIN_ROWS):
    """streams_config with one layer for the two streams EmoDB never trains (they stay unused), and the
    voice voting from `min_rows` rows on."""
    return streams_config(dims, text_layers=1, visual_layers=1, audio_min_rows=min_rows)


def with_enough_voice(dataset, min_rows: int = VOICE_MIN_ROWS):
    """The voice-only dataset with its train split rid of the windows of fewer than `min_rows` voice rows
    (under the rule they hold no stream, so nothing to learn from); its other splits as they are."""
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
    calm, windows = synthetic_voice_windows(work)
    files = list(dict.fromkeys(w["file"] for w in windows))[:clips]
    calm_train = calm.split("train").subset(np.flatnonzero(np.isin([w["file"] for w in windows], files)))
    train = dataset.split("train")
    joined = FeatureSplit(
        **{name: concatenate_padded([value, getattr(calm_train, name)]) for name, value in vars(train).items()}
    )
    return dataclasses.replace(dataset, splits={**dataset.splits, "train": joined})


def voice_settings(epochs: int, seed: int = SEED):
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


def fold_dataset(dataset, speaker_of: np.ndarray, train, valid, test):
    """The dataset with train/valid/test splits holding the windows of those speakers (`speaker_of`: each
    window's speaker, as `prepared_emodb`'s rows give them)."""
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
    core) into work (default build/voice) from emodb (default data_folders.corpus("emodb"))."""
    emodb = Path(emodb) if emodb is not None else corpus("emodb")
    work = Path(work) if work is not None else Path(__file__).resolve().parents[1] / "build" / "voice"
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
