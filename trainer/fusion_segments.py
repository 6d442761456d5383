"""The fusion benchmark's material: held-out faces, voices and words put together in segments of one webcam-like
video, and how a replay of that video is read back segment by segment (issue 39).

Used by `benchmarks/fusion_accuracy.py` (the figures) and `tests/first_run/test_fusion_rates.py` (per-scenario
floors), so both choose, render and read the same way.

Material, all of it held out of the shipped default (`models/carat_default.safetensors`, whose header names
what it kept out) and of the single-stream checkpoints the benchmark runs beside it:
- Faces: FER+ (`../shared/data/ferplus/ferplus48.npz`), one half of its `valid` split
  (`trainer.face_images.held_out_halves`, seed 12): `valid` while choosing things, `test` for final figures.
  Clear faces only: the majority class (`majority_class`) holds at least `CLEAR_SHARE` of all ten vote
  columns. Neutral faces for the segments where the face carries nothing.
- Voices: RAVDESS (`../shared/data/ravdess`, North American English) actors `RAVDESS_ACTORS`. The shared copy
  holds actors 01-16 only (17-24 are not there); the default never heard RAVDESS at all (its voices are EmoDB
  and espeak-ng), and these four actors are the ones `models/carat_voice_heldout.safetensors` (the voice
  stream's checkpoint that never heard them) kept out. RAVDESS says one of two neutral sentences ("Kids are
  talking by the door", "Dogs are sitting by the door"): an emotional clip is an emotional voice with neutral
  words; a neutral or calm clip is a neutral voice with neutral words. EmoDB (`../shared/data/emodb`, German,
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

Scenarios (`SCENARIOS`), `per_scenario` segments each; in each, the label cycles over the six in turn (each
scenario starting at a different one) and the segments are interleaved scenario by scenario (A B C D E F A ...),
so consecutive segments show different labels (the linger measure needs transitions):
- A, the face carries it: an emotional face; a neutral voice and words (a RAVDESS neutral/calm clip or an
  espeak-ng neutral sentence, alternating).
- B, the voice carries it: a neutral face; an emotional RAVDESS clip, or EmoDB for a third of them (`EMODB_EVERY`).
- C, the words carry it: a neutral face; an emotional line spoken by espeak-ng (XED and GoEmotions alternating).
- D, nothing: a neutral face; a neutral voice and words (as in A).
- E, two streams agree: an emotional face with a RAVDESS voice of the same label, or with a line of it
  (alternating).
- F, two streams disagree: an emotional face with a RAVDESS voice of another label, or with a line of another
  label (alternating). (Voice against words would need an emotional voice saying emotional words: no corpus
  here has both, so F pits the face against each.)
Every draw (faces, clips, lines, espeak-ng voices, head motion) comes from the seed.

Rendering (`write_fusion_video`): trainer/face_video.py's webcam-like video (640x480, 30 fps, H.264 CRF 26, grey
wall, sensor noise, small head motion, face widths cycling over 160-300 px; its docstring gives each choice),
each segment a whole number of frames (5.0 s = 150 by default), with an AAC track at 16 kHz mono (what the
recogniser and the voice stream read; `main.py replay` resamples any rate). Each segment's speech starts
`SPEECH_LEAD_S` into it and ends at least `SPEECH_ROOM_S` before its end, so one segment's speech is followed
by a pause of at least a second (`feature_extractors.utterances.UTTERANCE_PAUSE_S`) before the next one's
and the two never make one utterance. Recordings are cut to their speech (the room before and after it, quieter
than `SILENCE_DB` below the clip's loudest 20 ms, trimmed to `SPEECH_MARGIN_S`); a clip whose speech is still
longer than the room a segment has is skipped (and counted), and the next of its kind drawn.

Reading a replay back (`read_segment`): a segment's decision windows are the events whose window ends in the
segment's second half (after its midpoint, up to and including its end). The segment is right when, in at
least half of its decision windows, the set of labels decided (smoothed score above threshold) is exactly its
targets: the label shown (A, B, C, E), nothing (D). F has no right answer: each of its two labels "wins" when
it passes in at least half of the decision windows. The stream shown as deciding a label is the most common
`deciding_modality` for it over the decision windows in which it passes. Linger (`lingering`): for each label
shown in a segment and not in the next, whether it passed in the window ending at the boundary, and the time
from the next segment's start to the end of the first window after it in which the label no longer passes
(the segment's length when it never stops), and to the end of the last window of the next segment in which it
passes (0 when none: a label raised late, e.g. by words recognised after their segment ended, shows here).
Voice onset (`voice_onset_alarms`, issue 39's "a voice that knows when it does not know"): in the segments
whose voice carries nothing (A, C, D, and E and F where the words carry the label), the windows ending in the first `ONSET_S` seconds after the speech
starts, and those of them in which a label nobody showed passes with the voice deciding it.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from carat_model.config import MOSEI_LABELS
from feature_extractors.acoustic import SAMPLE_RATE

from .face_images import SEVEN_CLASSES, held_out_halves, majority_class, read_face_set
from .face_video import EDGE, FaceVideoSettings, Scene, add_video_stream

DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
SCENARIOS = {
    "A": "the face carries it",
    "B": "the voice carries it",
    "C": "the words carry it",
    "D": "nothing",
    "E": "two streams agree",
    "F": "two streams disagree",
}
CARRIER = {"A": "visual", "B": "audio", "C": "text"}  # the stream that carries A, B and C (CARAT's names)
STREAM_WORDS = {"visual": "face", "audio": "voice", "text": "words"}
LABEL_OFFSET = {"A": 0, "B": 1, "C": 2, "D": 0, "E": 3, "F": 4}  # where each scenario's label cycle starts

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


@dataclass(frozen=True)
class SegmentPlan:
    """One segment: its scenario, its face (a FER+ index and its majority class) and its speech."""

    scenario: str
    face_index: int
    face_label: str  # "" neutral
    speech: Speech

    @property
    def shown(self) -> dict[str, str]:
        """stream (CARAT's modality name) -> the label it carries, for each stream that carries one."""
        carried = {"visual": self.face_label, "audio": self.speech.voice_label, "text": self.speech.words_label}
        return {stream: label for stream, label in carried.items() if label}

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(self.shown.values())


@dataclass(frozen=True)
class FusionSegment:
    """A segment as rendered: its plan and where it lies in the video."""

    plan: SegmentPlan
    start_frame: int
    frames: int
    face_width: int  # px, before head motion
    speech_start_s: float  # in the video
    speech_end_s: float

    def start_s(self, fps: float) -> float:
        return self.start_frame / fps

    def end_s(self, fps: float) -> float:
        return (self.start_frame + self.frames) / fps


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


# -- the material ---------------------------------------------------------------------------------------


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

    def __init__(self, half: str, seed: int, seconds_each: float, data: Path = DATA_ROOT) -> None:
        self.data = Path(data)
        self.rng = np.random.default_rng(seed)
        self.max_speech_s = seconds_each - SPEECH_LEAD_S - SPEECH_ROOM_S
        faces, self.images = clear_faces(self.data / "ferplus" / "ferplus48.npz", half)
        self.faces = {label: Draws(list(indices), self.rng) for label, indices in faces.items()}
        self.ravdess = {label: Draws(clips, self.rng) for label, clips in ravdess_clips(self.data / "ravdess").items()}
        self.emodb = {label: Draws(clips, self.rng) for label, clips in emodb_clips(self.data / "emodb").items()}
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


# -- planning -----------------------------------------------------------------------------------------------


def plan_segments(material: Material, per_scenario: int, scenarios: str = "ABCDEF") -> list[SegmentPlan]:
    """`per_scenario` segments of each scenario, interleaved (module docstring), drawn from `material`."""
    labels = MOSEI_LABELS

    def corpus_of(count: int) -> str:
        return "xed" if count % 2 == 0 else "goemotions"

    seen: Counter[tuple[str, str]] = Counter()  # (scenario, label) -> segments so far
    plans = []
    for k in range(per_scenario):
        for scenario in scenarios:
            label = labels[(k + LABEL_OFFSET[scenario]) % len(labels)]
            nth = seen[scenario, label]
            seen[scenario, label] += 1
            alternate = (nth + labels.index(label)) % 2 == 0  # half of each label's segments each way
            if scenario == "A":
                plan = SegmentPlan("A", material.face(label), label, material.neutral_speech(alternate))
            elif scenario == "B":
                corpus = "emodb" if label in material.emodb and nth % EMODB_EVERY == 1 else "ravdess"
                plan = SegmentPlan("B", material.face(""), "", material.recorded(corpus, label))
            elif scenario == "C":
                speech = material.spoken(label, corpus_of(nth + labels.index(label)))
                plan = SegmentPlan("C", material.face(""), "", speech)
            elif scenario == "D":
                plan = SegmentPlan("D", material.face(""), "", material.neutral_speech(alternate))
            elif scenario == "E":
                speech = material.recorded("ravdess", label) if alternate else material.spoken(label, corpus_of(nth))
                plan = SegmentPlan("E", material.face(label), label, speech)
            else:
                other = labels[(k + LABEL_OFFSET[scenario] + 1) % len(labels)]
                speech = material.recorded("ravdess", other) if alternate else material.spoken(other, corpus_of(k))
                plan = SegmentPlan("F", material.face(label), label, speech)
            plans.append(plan)
    return plans


# -- rendering ----------------------------------------------------------------------------------------------


def write_fusion_video(
    path: Path, plans: Sequence[SegmentPlan], material: Material, settings: FaceVideoSettings
) -> list[FusionSegment]:
    """The plans as one H.264 + AAC (16 kHz mono) mp4 at `path`, segments back to back (module docstring);
    returns the segments, in order."""
    import av

    frames_each, fps = settings.frames_each, settings.fps
    rng = np.random.default_rng(settings.seed)  # drawn in write_face_video's order: the wall's noise, then motion
    scene = Scene.draw(rng, settings)
    track = np.zeros(round(len(plans) * frames_each / fps * SAMPLE_RATE), np.float32)
    segments = []
    for index, plan in enumerate(plans):
        start_frame = index * frames_each
        sound = material.sound(plan.speech)
        begin = round((start_frame / fps + SPEECH_LEAD_S) * SAMPLE_RATE)
        track[begin : begin + len(sound)] += sound
        width_px = settings.face_widths[index % len(settings.face_widths)]
        speech_s = (begin / SAMPLE_RATE, (begin + len(sound)) / SAMPLE_RATE)
        segments.append(FusionSegment(plan, start_frame, frames_each, width_px, *speech_s))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = add_video_stream(container, settings)
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        written = 0
        for segment in segments:
            face = material.images[segment.plan.face_index]
            frames = scene.face_frames(face, segment.start_frame, segment.face_width, rng)
            for k, video_frame in enumerate(frames):
                container.mux(video.encode(video_frame))
                until = min(len(track), round((segment.start_frame + k + 1) / fps * SAMPLE_RATE))
                written = _write_audio(container, audio, track, written, until)
        _write_audio(container, audio, track, written, len(track))
        container.mux(video.encode())
        container.mux(audio.encode())
    return segments


def _write_audio(container, stream, track: np.ndarray, start: int, end: int) -> int:
    import av

    if end <= start:
        return start
    frame = av.AudioFrame.from_ndarray(np.clip(track[start:end], -1, 1)[None, :], format="fltp", layout="mono")
    frame.sample_rate, frame.pts = SAMPLE_RATE, start
    container.mux(stream.encode(frame))
    return end


def render_benchmark(
    path: Path, per_scenario: int, *, half: str = "valid", seed: int = 0, seconds_each: float = 5.0,
    scenarios: str = "ABCDEF", data: Path = DATA_ROOT,
) -> tuple[list[FusionSegment], FaceVideoSettings, dict]:  # fmt: skip
    """Choose the material (seeded) and render the benchmark video at `path`: (segments, video settings, what
    the pools gave: `Material.summary`)."""
    settings = FaceVideoSettings(seconds_each=seconds_each, seed=seed)  # refuses a duration of partial frames
    material = Material(half, seed, seconds_each, data)
    plans = plan_segments(material, per_scenario, scenarios)
    segments = write_fusion_video(path, plans, material, settings)
    return segments, settings, material.summary()


# -- reading a replay back ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentReading:
    """One segment read from one replay's events (module docstring's rules)."""

    right: bool
    exact_share: float  # of the decision windows, those whose decided labels are exactly the targets
    passing: dict[str, float]  # label -> share of the decision windows in which it passes
    deciding: dict[str, str | None]  # target label -> the stream most often deciding it where it passes
    windows: int


def decision_windows(events: Iterable[dict], segment: FusionSegment, fps: float) -> list[dict]:
    """The events (as in events.jsonl) whose window ends in the segment's second half."""
    middle, end = (segment.start_s(fps) + segment.end_s(fps)) / 2, segment.end_s(fps)
    return [e for e in events if middle + EDGE < e["window_end"] <= end + EDGE]


def decided_labels(event: dict) -> frozenset[str]:
    return frozenset(label for label, passed in zip(event["labels"], event["decided"]) if passed)


def read_segment(events: Sequence[dict], segment: FusionSegment, fps: float) -> SegmentReading:
    windows = decision_windows(events, segment, fps)
    if not windows:
        raise ValueError(
            f"no window ends in the second half of the segment from {segment.start_s(fps):.2f} to "
            f"{segment.end_s(fps):.2f} s; was the replay cut short?"
        )
    targets = segment.plan.targets
    exact = float(np.mean([decided_labels(e) == targets for e in windows]))
    labels = windows[0]["labels"]
    passing = {label: float(np.mean([e["decided"][i] for e in windows])) for i, label in enumerate(labels)}
    deciding = {}
    for label in sorted(targets):
        at = labels.index(label)
        streams = Counter(e["deciding_modality"][at] for e in windows if e["decided"][at])
        deciding[label] = streams.most_common(1)[0][0] if streams else None
    return SegmentReading(exact >= 0.5, exact, passing, deciding, len(windows))


@dataclass(frozen=True)
class Linger:
    """A label shown in one segment and not in the next, and how long it stayed."""

    next_segment: int  # index of the next segment
    label: str
    at_boundary: bool  # it passed in the window ending at the boundary
    gone_after_s: float  # the next segment's start -> the end of the first window in which it no longer passes
    last_pass_s: float  # the next segment's start -> the end of the last window in it in which it passes (0: none)


def lingering(events: Sequence[dict], segments: Sequence[FusionSegment], fps: float) -> list[Linger]:
    """Every label shown in a segment and not in the next (module docstring)."""
    ordered = sorted(events, key=lambda e: e["window_end"])
    ends = np.array([e["window_end"] for e in ordered])
    found = []
    for position in range(1, len(segments)):
        before, after = segments[position - 1], segments[position]
        start, end = after.start_s(fps), after.end_s(fps)
        boundary = np.flatnonzero(np.abs(ends - start) <= EDGE)
        inside = [ordered[i] for i in np.flatnonzero((ends > start + EDGE) & (ends <= end + EDGE))]
        for label in sorted(before.plan.targets - after.plan.targets):
            at = ordered[0]["labels"].index(label)
            passed = bool(len(boundary)) and bool(ordered[boundary[0]]["decided"][at])
            stopped = next((e["window_end"] for e in inside if not e["decided"][at]), end)
            last = max((e["window_end"] for e in inside if e["decided"][at]), default=start)
            found.append(Linger(position, label, passed, round(stopped - start, 6), round(last - start, 6)))
    return found


ONSET_S = 2.5  # seconds after a voice starts: issue 39 counted the voice's false labels over this stretch


@dataclass(frozen=True)
class OnsetAlarms:
    windows: int  # windows ending in the first ONSET_S of a voice that carries nothing
    alarms: int  # of them: a label nobody showed passes, decided by the voice
    labels: dict[str, int]  # alarms by label

    @property
    def rate(self) -> float | None:
        return self.alarms / self.windows if self.windows else None


def voice_onset_alarms(
    events: Sequence[dict], segments: Sequence[FusionSegment], seconds: float = ONSET_S
) -> OnsetAlarms:
    """The module docstring's voice-onset count, over the segments whose voice carries no label."""
    windows, alarms, labels = 0, 0, Counter()
    for segment in segments:
        if segment.plan.speech.voice_label:
            continue
        start = segment.speech_start_s
        for event in events:
            if not start + EDGE < event["window_end"] <= start + seconds + EDGE:
                continue
            windows += 1
            raised = [label for label, passed, stream in zip(event["labels"], event["decided"], event["deciding_modality"])
                      if passed and stream == "audio" and label not in segment.plan.targets]  # fmt: skip
            alarms += bool(raised)
            labels.update(raised)
    return OnsetAlarms(windows, alarms, dict(labels))
