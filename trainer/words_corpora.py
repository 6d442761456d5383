"""The two text corpora the words stream learns from, as `(sentence, labels)` lines in our six labels.

- XED (English subtitle lines + XED's neutral lines): no split of its own, so one is drawn per line by a
  fixed seed (`trainer.sample_lists.split_of`, keyed by the line's number in `xed_corpus.tsv`), exactly as
  `main.py prepare` draws it for that corpus file. The held-out lines are rebuilt from `../shared` by the
  seed; nothing from the data is copied into the repository.
- GoEmotions (Reddit comments): its own train/dev/test files; the 27 emotions are grouped into Ekman's
  six by the dataset's `ekman_mapping.json`; a comment with only "neutral" carries none of our labels.

Both corpora read the same way: `lines(corpus, split)` -> list of `Line`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import NamedTuple

from .data_folders import corpus

XED_SEED = 0
XED_CORPUS_NAME = "xed_corpus.tsv"  # the split key names this file: keep it, or the split changes
PLUTCHIK_TO_OURS = {1: "angry", 3: "disgust", 4: "fear", 5: "happy", 6: "sad", 7: "surprise"}  # 2, 8: none
EKMAN_TO_OURS = {
    "joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "fear": "fear",
    "disgust": "disgust",
    "surprise": "surprise",
}
GOEMOTIONS_SPLITS = {"train": "train.tsv", "valid": "dev.tsv", "test": "test.tsv"}
XED_CREDIT = (
    "Öhman, E., Pàmies, M., Kajava, K. and Tiedemann, J. (2020). XED: A Multilingual Dataset for "
    "Sentiment Analysis and Emotion Detection. COLING 2020. CC BY 4.0."
)
GOEMOTIONS_CREDIT = (
    "Demszky, D., Movshovitz-Attias, D., Ko, J., Cowen, A., Nemade, G. and Ravi, S. (2020). GoEmotions: "
    "A Dataset of Fine-Grained Emotions. ACL 2020. CC BY 4.0."
)


class Line(NamedTuple):
    text: str
    labels: tuple[str, ...]  # our label names, sorted; empty = neutral


class CorpusError(FileNotFoundError):
    pass


def _clean(sentence: str) -> str:
    return " ".join(sentence.replace("\t", " ").split())


def _need(path: Path) -> Path:
    if not path.is_file():
        raise CorpusError(f"{path} is missing; put the dataset under {path.parent} (see the data folder's README; trainer/data_folders.py says where it is)")
    return path


def xed_lines(xed: Path | None = None) -> list[Line]:
    """Every XED English line (annotated, then neutral), in `xed_corpus.tsv` order; empty sentences dropped."""
    xed = Path(xed) if xed is not None else corpus("xed")
    lines = []
    for raw in _need(xed / "en-annotated.tsv").read_text(encoding="utf-8").splitlines():
        sentence, _, ids = raw.rpartition("\t")
        names = sorted({PLUTCHIK_TO_OURS[i] for i in map(int, ids.split(",")) if i in PLUTCHIK_TO_OURS})
        lines.append(Line(_clean(sentence), tuple(names)))
    for raw in _need(xed / "neu_en.txt").read_text(encoding="utf-8").splitlines():
        _, _, sentence = raw.partition("\t")
        lines.append(Line(_clean(sentence), ()))
    return [line for line in lines if line.text]


def xed_split(split: str, xed: Path | None = None, seed: int = XED_SEED) -> list[Line]:
    """XED's lines of one split (train/valid/test), drawn as `main.py prepare xed_corpus.tsv` draws them."""
    from .sample_lists import split_of

    return [
        line
        for number, line in enumerate(xed_lines(xed), start=1)
        if split_of(f"{XED_CORPUS_NAME}:{number}", seed, 0.1, 0.1) == split
    ]


def goemotions_split(split: str, root: Path | None = None) -> list[Line]:
    """GoEmotions' train/valid(dev)/test comments with Ekman's six as our labels."""
    root = Path(root) if root is not None else corpus("goemotions")
    names = _need(root / "emotions.txt").read_text(encoding="utf-8").split()
    ekman = json.loads(_need(root / "ekman_mapping.json").read_text(encoding="utf-8"))
    ours = {fine: EKMAN_TO_OURS[group] for group, members in ekman.items() for fine in members}
    lines = []
    with _need(root / GOEMOTIONS_SPLITS[split]).open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            labels = sorted({ours[names[int(i)]] for i in row[1].split(",") if names[int(i)] in ours})
            text = _clean(row[0])
            if text:
                lines.append(Line(text, tuple(labels)))
    return lines


def corpus_split(corpus: str, split: str) -> list[Line]:
    """`corpus` is "xed" or "goemotions"."""
    if corpus == "xed":
        return xed_split(split)
    if corpus == "goemotions":
        return goemotions_split(split)
    raise ValueError(f"unknown corpus {corpus!r}; expected 'xed' or 'goemotions'")


def write_corpus(lines: list[Line], out: Path) -> Path:
    """`sentence<TAB>labels` lines, the text-corpus layout `main.py prepare` reads."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{line.text}\t{','.join(line.labels)}\n" for line in lines), encoding="utf-8")
    return out
