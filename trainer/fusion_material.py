"""The fusion benchmark's material: held-out faces, voices and words, drawn by a seed, and the sound of
each speech. The corpora are read from trainer/data_folders.py's data folder unless a caller names another.

Material, all of it held out of the shipped default (`models/carat_default.safetensors`, whose header names
what it kept out) and of the single-stream checkpoints the benchmark runs beside it:
- Faces: FER+ (`ferplus/ferplus48.npz` in the data folder), one half of its `valid` split
  (`trainer.face_images.held_out_halves`, seed 12): `valid` while choosing things, `test` for final figures.
  Clear faces only: the majority class (`majority_class`) holds at least `CLEAR_SHARE` of all ten vote
  columns. Neutral faces for the segments where the face carries nothing.
- Voices: RAVDESS (`ravdess`, North American English) actors `RAVDESS_ACTORS`. The shared copy
  holds actors 01-16 only (17-24 are not there); the default never heard RAVDESS at all (its voices are EmoDB
  and espeak-ng), and these four actors are the ones `models/carat_voice_heldout.safetensors` (the voice
  stream's checkpoint that never heard them) kept out. RAVDESS says one of two neutral sentences ("Kids are
  talking by the door", "Dogs are sitting by the door"): an emotional clip is an emotional voice with neutral
  words; a neutral or calm clip is a neutral voice with neutral words. EmoDB (`emodb`, German,
  cut to 2.0 s in this copy) speakers `EMODB_SPEAKERS`, held out of the default (its test speakers); German
  gives nonsense English words through the recogniser, so EmoDB is kept to a third of the voice scenario's
  segments of the labels it has (`EMODB_EVERY`; none elsewhere), and the benchmark reports that scenario by
  corpus.
- Words: held-out single-label lines, XED's test split (seed 0, as `main.py prepare` draws it) and GoEmotions'
  own test split (`trainer.words_corpora`), plain text (letters, digits, punctuation: no [NAME] placeholders,
  no links) of `LINE_WORDS` words, spoken by espeak-ng in a flat delivery, and `NEUTRAL_SENTENCES` (ours,
  plain facts) for neutral words. espeak-ng voices (`ESPEAK_VOICES`): its default British accent, which the
  default's calm-voice training held out (`trainer.synthetic_speech.HELD_OUT_ACCENTS`), so the synthetic voice
  too is one the model never heard, as is and in three of its ordinary variants (male m3, female f2 and f4),
  at four pitches. Not its other held-out accent, en-029: through the recogniser (Whisper tiny.en) it gave a
  word error rate of 0.34 against 0.20 for en and 0.23-0.26 for these variants (12 lines, one run), and a
  garbled line would measure the recogniser, not fusion.

Recordings are cut to their speech (the room before and after it, quieter than `SILENCE_DB` below the clip's
loudest 20 ms, trimmed to `SPEECH_MARGIN_S`); a clip whose speech is still longer than the room a segment has
(its length less `SPEECH_LEAD_S` and `SPEECH_ROOM_S`) is skipped (and counted), and the next of its kind drawn.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE

from .data_folders import data_root, require
from .face_images import SEVEN_CLASSES, held_out_halves, majority_class, read_face_set
from .face_video import EDGE

CLEAR_SHARE = 0.6  # a face's majority class holds at least this share of its votes
RAVDESS_ACTORS = ("05", "06", "08", "13")  # kept out of carat_voice_heldout; the default never heard RAVDESS
RAVDESS_LABEL = {"neutral": "", "calm": "", "happy": "happy", "sad": "sad", "angry": "angry", "fearful": "fear",
                 "disgust": "disgust", "surprised": "surprise"}  # fmt: skip
EMODB_SPEAKERS = ("10", "12")  # the default's held-out test speakers
EMODB_LETTER = {"F": "happy", "T": "sad", "W": "angry", "A": "fear", "E": "disgust"}  # no surprise in EmoDB
EMODB_EVERY = 3  # B's segments of a label EmoDB has: the 2nd, 5th, 8th ... are EmoDB's (a third), the rest RAVDESS
LINE_WORDS = (4, 10)  # espeak-ng lines of this many words fit a 5 s segment at SPEAK_WPM
PLAIN = re.compile(r"^[A-Za-z0-9 ,.!?'\-]+$")
ESPEAK_VOICES = ("en", "en+m3", "en+f2", "en+f4")  # module docstring: the held-out accent, clearly recognised
ESPEAK_PITCHES = (35, 45, 55, 65)  # espeak-ng's -p (50 its default)
SPEAK_WPM = 160
SPEECH_LEAD_S = 0.4  # a segment's speech starts this far into it
SPEECH_ROOM_S = 0.6  # and ends at least this long before its end (+ the lead: a 1 s pause between segments)
SPEECH_MARGIN_S = 0.1  # room kept around a recording's speech when it is cut
SILENCE_DB = 35.0  # below the loudest 20 ms: the room around the speech

NEUTRAL_SENTENCES = (
    "The bus to the station leaves at nine in the morning.",
    "The library is on the second floor of the building.",
    "Please put the blue folder on the desk by the window.",
    "The meeting has been moved to room four on Tuesday.",
    "Water boils at one hundred degrees at sea level.",
    "The shop closes at six on weekdays.",
    "The train stops at every station on this line.",
    "I bought bread, milk and a dozen eggs today.",
    "The report has twelve pages and three tables.",
    "The parking lot is behind the main entrance.",
    "We will paint the kitchen walls a light grey.",
    "The printer is next to the coffee machine.",
    "The package should arrive on Thursday afternoon.",
    "This road goes north to the next town.",
    "The form asks for your name and address.",
    "The museum opens at ten and closes at five.",
    "There are thirty chairs in the lecture hall.",
    "The recipe needs two cups of flour and some salt.",
    "The garden is watered every other evening.",
    "Our office moved to the third floor last year.",
)


@dataclass(frozen=True)
class Speech:
    """What is heard in a segment."""

    corpus: str  # "ravdess" | "emodb" | "espeak"
    source: str  # the recording's file name, or the espeak-ng voice ("en+m3 -p 45")
    text: str  # what is said (EmoDB: its German sentence's code)
    voice_label: str = ""  # the emotion the voice carries ("" none)
    words_label: str = ""  # the emotion the words carry ("" none)
    line_corpus: str = ""  # espeak-ng: where the line comes from ("xed", "goemotions", "ours")



@dataclass
class Draws:
    """A pool drawn in a seeded order, reused from the start when it runs out (counted). `take(fits)` skips (and
    drops) items that do not fit."""

    items: list
    rng: np.random.Generator
    taken: int = 0
    reused: int = 0
    skipped: list = field(default_factory=list)
    _position: int = 0

    def __post_init__(self) -> None:
        self.items = [self.items[i] for i in self.rng.permutation(len(self.items))]

    def take(self, fits: Callable[[object], bool] = lambda _: True):
        while self.items:
            if self._position >= len(self.items):
                self._position = 0
            item = self.items[self._position]
            if not fits(item):
                self.skipped.append(self.items.pop(self._position))
                continue
            self.reused += self.taken >= len(self.items)
            self._position += 1
            self.taken += 1
            return item
        raise ValueError("nothing in this pool fits a segment; use longer segments (--seconds)")

    def summary(self) -> dict:
        return {"pool": len(self.items) + len(self.skipped), "drawn": self.taken, "reused": self.reused,
                "skipped_too_long": len(self.skipped)}  # fmt: skip



def clear_faces(ferplus: Path, half: str, share: float = CLEAR_SHARE) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """FER+ faces of one held-out half (`valid` or `test`) whose majority class holds at least `share` of their
    votes, by class ("" neutral, then our six): (indices by class, every image)."""
    faces = read_face_set(ferplus)
    validation, test = held_out_halves(faces["split"])
    chosen = validation if half == "valid" else test
    votes = faces["votes"][chosen].astype(np.float64)
    classes = majority_class(faces["votes"])[chosen]
    clear = votes.max(1) >= share * votes.sum(1)
    by_class = {}
    for k, name in enumerate(SEVEN_CLASSES):
        by_class["" if name == "neutral" else name] = chosen[clear & (classes == k)]
    return by_class, faces["images"]


def ravdess_clips(root: Path, actors: Sequence[str] = RAVDESS_ACTORS) -> dict[str, list[Speech]]:
    """The actors' clips by the label their voice carries ("" for neutral and calm)."""
    by_label: dict[str, list[Speech]] = {}
    with (Path(root) / "labels.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["actor"] in actors:
                label = RAVDESS_LABEL[row["ravdess_emotion"]]
                by_label.setdefault(label, []).append(Speech("ravdess", row["file"], row["sentence"], label))
    return by_label


def emodb_clips(root: Path, speakers: Sequence[str] = EMODB_SPEAKERS) -> dict[str, list[Speech]]:
    """The speakers' clips of our labels, by label."""
    from .emodb import read_labels

    by_label: dict[str, list[Speech]] = {}
    for row in read_labels(root):
        label = EMODB_LETTER.get(row["emodb_letter"])
        if row["speaker"] in speakers and label:
            by_label.setdefault(label, []).append(Speech("emodb", row["file"], row["text_code"], label))
    return by_label


def held_out_lines() -> dict[tuple[str, str], list[str]]:
    """Single-label plain lines of `LINE_WORDS` words of XED's and GoEmotions' test splits, by (label, corpus)."""
    from .words_corpora import goemotions_split, xed_split

    by_label: dict[tuple[str, str], list[str]] = {}
    for corpus, lines in (("xed", xed_split("test")), ("goemotions", goemotions_split("test"))):
        for line in lines:
            words = len(line.text.split())
            if len(line.labels) == 1 and PLAIN.match(line.text) and LINE_WORDS[0] <= words <= LINE_WORDS[1]:
                by_label.setdefault((line.labels[0], corpus), []).append(line.text)
    return by_label


def speak(text: str, voice: str, pitch: int, speed_wpm: int = SPEAK_WPM) -> np.ndarray:
    """`text` spoken by espeak-ng in `voice` at `pitch`, as float32 mono 16 kHz samples."""
    import soundfile
    import soxr

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed; run scripts/setup.sh (it installs the Debian package)")
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        command = ["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-p", str(pitch), "-w", str(wav), text]
        subprocess.run(command, check=True, capture_output=True)
        samples, rate = soundfile.read(wav, dtype="float32")
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32) * 0.8  # write_clip's level


def recording(path: Path) -> np.ndarray:
    """A recording as float32 mono 16 kHz samples."""
    import soundfile
    import soxr

    samples, rate = soundfile.read(path, dtype="float32")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32) if rate != SAMPLE_RATE else samples


def speech_only(samples: np.ndarray, margin_s: float = SPEECH_MARGIN_S, silence_db: float = SILENCE_DB) -> np.ndarray:
    """The samples cut to their speech: from `margin_s` before the first 20 ms block within `silence_db` of the
    loudest block to `margin_s` after the last."""
    block = SAMPLE_RATE // 50
    count = len(samples) // block
    if count == 0:
        return samples
    rms = np.sqrt(np.mean(samples[: count * block].reshape(count, block) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -silence_db)
    margin = round(margin_s * SAMPLE_RATE)
    return samples[max(loud[0] * block - margin, 0) : min((loud[-1] + 1) * block + margin, len(samples))]


class Material:
    """The held-out pools (module docstring), drawn by `seed`, and the sound of each speech (cut to its speech,
    cached)."""

    def __init__(self, half: str, seed: int, seconds_each: float, data: Path | None = None) -> None:
        """`data`: the folder holding ferplus/, ravdess/ and emodb/ (default: data_folders.data_root())."""
        self.data = Path(data) if data is not None else data_root()
        ferplus, ravdess, emodb = (require(self.data / name) for name in ("ferplus", "ravdess", "emodb"))
        self.rng = np.random.default_rng(seed)
        self.max_speech_s = seconds_each - SPEECH_LEAD_S - SPEECH_ROOM_S
        faces, self.images = clear_faces(ferplus / "ferplus48.npz", half)
        self.faces = {label: Draws(list(indices), self.rng) for label, indices in faces.items()}
        self.ravdess = {label: Draws(clips, self.rng) for label, clips in ravdess_clips(ravdess).items()}
        self.emodb = {label: Draws(clips, self.rng) for label, clips in emodb_clips(emodb).items()}
        self.lines = {key: Draws(lines, self.rng) for key, lines in held_out_lines().items()}
        self.neutral_lines = Draws(list(NEUTRAL_SENTENCES), self.rng)
        self.sounds: dict[Speech, np.ndarray] = {}

    def sound(self, speech: Speech) -> np.ndarray:
        """The speech's samples (16 kHz mono float32), cut to the speech."""
        if speech not in self.sounds:
            if speech.corpus == "espeak":
                voice, pitch = speech.source.split(" -p ")
                samples = speak(speech.text, voice, int(pitch))
            else:
                folder = self.data / "ravdess" / "flac" if speech.corpus == "ravdess" else self.data / "emodb" / "wav"
                samples = recording(folder / speech.source)
            self.sounds[speech] = speech_only(samples)
        return self.sounds[speech]

    def fits(self, speech: Speech) -> bool:
        return len(self.sound(speech)) / SAMPLE_RATE <= self.max_speech_s + EDGE

    def face(self, label: str) -> int:
        return int(self.faces[label].take())

    def recorded(self, corpus: str, label: str) -> Speech:
        """A RAVDESS or EmoDB clip whose voice carries `label` ("": RAVDESS neutral or calm)."""
        return (self.ravdess if corpus == "ravdess" else self.emodb)[label].take(self.fits)

    def spoken(self, label: str, corpus: str = "xed") -> Speech:
        """A held-out line of `label` from `corpus` (the other one when it has none) in a drawn espeak-ng voice;
        "": one of our neutral sentences."""
        voice = f"{ESPEAK_VOICES[int(self.rng.integers(len(ESPEAK_VOICES)))]} -p {self.rng.choice(ESPEAK_PITCHES)}"
        if not label:
            text = self.neutral_lines.take(lambda text: self.fits(Speech("espeak", voice, text)))
            return Speech("espeak", voice, text, line_corpus="ours")
        if (label, corpus) not in self.lines:
            corpus = "goemotions" if corpus == "xed" else "xed"
        text = self.lines[label, corpus].take(lambda text: self.fits(Speech("espeak", voice, text)))
        return Speech("espeak", voice, text, words_label=label, line_corpus=corpus)

    def neutral_speech(self, recorded: bool) -> Speech:
        """A RAVDESS neutral or calm clip (`recorded`) or one of our neutral sentences spoken by espeak-ng."""
        return self.recorded("ravdess", "") if recorded else self.spoken("")

    def summary(self) -> dict:
        """What each pool held and gave: drawn, reused (a pool ran out), skipped for not fitting a segment."""

        def of(pools: dict) -> dict:
            return {(key if isinstance(key, str) else ":".join(key)) or "neutral": draws.summary()
                    for key, draws in pools.items() if draws.taken or draws.skipped}  # fmt: skip

        return {"faces": of(self.faces), "ravdess": of(self.ravdess), "emodb": of(self.emodb),
                "lines": of(self.lines), "neutral_sentences": self.neutral_lines.summary(),
                "skipped": sorted({str(s.source) for d in [*self.ravdess.values(), *self.emodb.values()]
                                   for s in d.skipped})}  # fmt: skip
