"""The default recipe's three sources, each carrying one stream, and the truth its figures are measured on:
- words: XED + GoEmotions, prepared as the words recipe prepares them (build/words/prepared);
- faces: FER+ face-only windows of the face recipe (build/face/prepared: train; valid halved by seed 12 into
  validation and the held-out test half);
- voices: EmoDB voice-only windows (trainer/voice_windows.py), speakers 10 and 12 held out for test, 11 for
  validation, the other five for training (fold 0 of the voice folds, so the voice checkpoint
  `models/carat_voice_heldout.safetensors` was trained and chosen on the same speakers);
- calm voices: espeak-ng speech in many voices, voice only and with no label (trainer/synthetic_speech.py;
  its held-out voices and sentences give the false-alarm figure, nothing is chosen on them).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from carat_model.config import MOSEI_LABELS
from feature_extractors.spec import default_feature_spec

from ..data_folders import corpus
from ..datasets import FeatureDataset, load_prepared_dataset
from ..face_images import held_out_halves, majority_class, read_face_set, usable_faces
from ..synthetic_speech import synthetic_voice_windows
from ..voice_training import emodb_voice_splits
from .words import joined, prepare_words, words_splits

FERPLUS = corpus("ferplus") / "ferplus48.npz"
EMODB = corpus("emodb")
FERPLUS_HALVES_SEED = 12
EMODB_TEST, EMODB_VALID = ["10", "12"], ["11"]
WORDS_SETS = ("xed", "goemotions_train", "goemotions_valid", "goemotions_test")  # words.prepare_words


def words_source(work: Path):
    """XED + GoEmotions as one words source (train, valid; the test lines stay per corpus)."""
    folders = {name: work / "words" / "prepared" / name for name in WORDS_SETS}
    if not all((folder / "index.json").is_file() for folder in folders.values()):
        folders = prepare_words(work / "words")
    corpora = words_splits(folders)
    # Prepared once by the words recipe: only the words' extractor matters here (a face or voice
    # extractor change leaves these windows as they are, and prepare's own check would refuse them).
    live = default_feature_spec().to_dict()
    for folder in folders.values():
        stored = json.loads((folder / "index.json").read_text(encoding="utf-8"))["feature_spec"]["text"]
        if stored != live["text"]:
            raise RuntimeError(f"{folder} holds words of another text extractor; delete it and run again")
    splits = {s: joined([corpora["xed"][s], corpora["goemotions"][s]]) for s in ("train", "valid")}
    dataset = FeatureDataset("words", MOSEI_LABELS, False, splits, live, "XED + GoEmotions")
    return dataset, corpora


def face_source(work: Path, ferplus: Path = FERPLUS):
    """The FER+ face-only windows and the 7-class truth of the valid and test windows, in their order."""
    dataset = load_prepared_dataset(work / "face" / "prepared")
    faces = read_face_set(ferplus)
    found = np.load(work / "face" / "ferplus_faces.npz")["found"]
    truth = majority_class(faces["votes"])
    halves = dict(zip(("valid", "test"), held_out_halves(faces["split"], seed=FERPLUS_HALVES_SEED)))
    truths = {}
    for name, half in halves.items():
        kept = half[found[half] & usable_faces(faces["votes"][half])]  # prepare keeps this order
        if len(kept) != len(dataset.split(name)):
            raise RuntimeError(f"{name}: {len(kept)} faces but {len(dataset.split(name))} prepared windows")
        truths[name] = truth[kept]  # -1: contempt majority, left out of the 7-class figures
    return dataset, truths


def voice_source(work: Path, emodb: Path = EMODB):
    """EmoDB's live-shaped voice-only windows (7 a clip) split by speaker, and each split's windows' rows
    (a clip's figure is the mean of its windows' scores, stream_figures.voice_figures)."""
    splits, windows = emodb_voice_splits(EMODB_TEST, EMODB_VALID, emodb=emodb, work=work / "voice")
    dataset = FeatureDataset("voice", MOSEI_LABELS, False, splits, default_feature_spec().to_dict(), "EmoDB")
    return dataset, {name: windows[name] for name in ("valid", "test")}


def calm_voice_source(work: Path, held_out: bool = False):
    """The synthetic voices with no emotion (trainer/synthetic_speech.py): the training clips as a
    train-only dataset, or the held-out clips (other voices, other sentences) and their windows' rows."""
    prepared, windows = synthetic_voice_windows(work / "voice", held_out=held_out)
    dataset = FeatureDataset("calm_voice", MOSEI_LABELS, False, {"train": prepared.split("train")},
                             default_feature_spec().to_dict(), "espeak-ng")  # fmt: skip
    return dataset, windows


def load_sources(work: Path):
    """({words, face, voice}: dataset, the words corpora's splits, {face, voice}: valid/test truth)."""
    words, corpora = words_source(work)
    face, face_truths = face_source(work)
    voice, voice_windows = voice_source(work)
    truths = {"face": face_truths, "voice": voice_windows, "calm_voice": calm_voice_source(work, held_out=True)}
    return {"words": words, "face": face, "voice": voice}, corpora, truths


def train_and_valid(dataset):
    """The dataset without its test split (fit never sees a held-out window)."""
    return dataclasses.replace(dataset, splits={s: dataset.split(s) for s in ("train", "valid")})


def sample_counts(sources, corpora) -> dict:
    counts = {name: {s: len(source.split(s)) for s in source.splits} for name, source in sources.items()}
    counts["words"]["test"] = sum(len(corpora[c]["test"]) for c in ("xed", "goemotions"))
    return counts
