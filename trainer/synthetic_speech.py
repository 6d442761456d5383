"""Synthetic speech (espeak-ng) as voice-only windows that carry no emotion: the voice's negatives from
voices that are not EmoDB's.

Why: EmoDB's ten actors are the only voices the voice stream learns from, and its neutral and bored
clips the only voices it learns to leave alone. A voice unlike theirs is out of what it learnt, and the
voice checkpoints read it wildly: 36 of 42 espeak-ng clips (7 voices, plain sentences) passed a threshold
with an earlier held-out voice checkpoint, most at disgust 1.00; in the default, espeak-ng's voice
read fear or sad beside neutral words. A synthetic voice says its words with no feeling at all, so its
windows are true negatives whatever the sentence: every window here carries no label.

Voices and sentences are split so the figure stays honest: training clips use espeak-ng's English
accents other than its default British voice and its Caribbean one, each with one of the ordinary
variants (no whisper, croak or robot voices), at a drawn speed and pitch, saying GoEmotions train lines;
held-out clips (`held_out=True`) use the default voice (the one the app's tests and sample speak with) and
the Caribbean accent, saying GoEmotions test lines. Each clip is placed in a live recording and cut into
the live windows exactly as EmoDB's are (`trainer.live_clips.live_clip`, `cut_live_windows`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE

from .data_folders import corpus
from .live_clips import cut_live_windows, live_clip, write_windows_csv
from .voice_scoring import clip_scores
from .voice_windows import voice_only_dataset, voice_recipe

TRAIN_ACCENTS = ("en-us", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
HELD_OUT_ACCENTS = ("en", "en-029")
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3", "Andy", "Annie", "Michael", "Steph", "Paul", "Linda")  # fmt: skip
SPEED_WPM = (130, 185)
PITCH = (30, 70)  # espeak-ng's -p, 0-99 (50 its default)
CLIPS = {False: 240, True: 60}  # training clips, held-out clips
SEED = 0
WORDS = (5, 20)  # sentences of this many words
GOEMOTIONS = corpus("goemotions")


def sentences(held_out: bool, count: int, seed: int = SEED, goemotions: Path = GOEMOTIONS) -> list[str]:
    """`count` plain lines (letters, digits and punctuation; no [NAME] placeholders, no links) drawn by the
    seed from GoEmotions' test split (held out) or its train split."""
    path = Path(goemotions) / ("test.tsv" if held_out else "train.tsv")
    if not path.is_file():
        raise FileNotFoundError(f"no GoEmotions lines at {path}; expected the shared copy (CARAT_DATA/goemotions)")
    plain = re.compile(r"^[A-Za-z0-9 ,.!?'\-]+$")
    lines = []
    for row in path.read_text(encoding="utf-8").splitlines():
        text = row.split("\t")[0].strip()
        if plain.match(text) and WORDS[0] <= len(text.split()) <= WORDS[1]:
            lines.append(text)
    chosen = np.random.default_rng(seed + held_out).choice(len(lines), size=count, replace=False)
    return [lines[i] for i in sorted(chosen)]


def clip_plans(held_out: bool, seed: int = SEED, goemotions: Path = GOEMOTIONS) -> list[dict[str, str]]:
    """One row per clip: name, espeak-ng voice (accent+variant), speed, pitch and sentence."""
    rng = np.random.default_rng(seed + 10 + held_out)
    accents = HELD_OUT_ACCENTS if held_out else TRAIN_ACCENTS
    plans = []
    for k, text in enumerate(sentences(held_out, CLIPS[held_out], seed, goemotions)):
        accent, variant = accents[k % len(accents)], VARIANTS[int(rng.integers(len(VARIANTS)))]
        plans.append({"file": f"{'heldout' if held_out else 'train'}_{k:03d}", "text": text,
                      "voice": accent + (f"+{variant}" if variant else ""),
                      "speed": str(int(rng.integers(*SPEED_WPM))), "pitch": str(int(rng.integers(*PITCH)))})  # fmt: skip
    return plans


def speak(plan: dict[str, str]) -> np.ndarray:
    """The plan's sentence spoken by espeak-ng, 16 kHz mono float32."""
    import soundfile
    import soxr

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed; run scripts/setup.sh (it installs the Debian package)")
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        command = ["espeak-ng", "-v", plan["voice"], "-s", plan["speed"], "-p", plan["pitch"], "-w", str(wav)]
        subprocess.run([*command, plan["text"]], check=True, capture_output=True)
        samples, rate = soundfile.read(wav, dtype="float32")
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)


def synthetic_voice_windows(work: Path, held_out: bool = False, seed: int = SEED, goemotions: Path = GOEMOTIONS):
    """The voice-only dataset (one train split, every window without a label) of the training or the
    held-out synthetic clips, prepared once under `work` (a few minutes, one core), and one row per window
    (its clip's plan with `clip_start` and `window_end`), in the dataset's order."""
    work = Path(work)
    name = "heldout" if held_out else "train"
    clips = work / f"synthetic_{name}_clips"
    windows = []
    for plan in clip_plans(held_out, seed, goemotions):
        recording, clip_start = live_clip(speak(plan), plan["file"], seed)
        windows += [{**plan, **cut} for cut in cut_live_windows(recording, clip_start, plan["file"], clips)]
    csv_path = work / f"synthetic_{name}.csv"
    write_windows_csv(windows, csv_path, lambda w: "")
    recipe = {**voice_recipe(), "voices": HELD_OUT_ACCENTS if held_out else TRAIN_ACCENTS, "variants": VARIANTS,
              "speed": SPEED_WPM, "pitch": PITCH, "clips": CLIPS[held_out], "words": WORDS, "seed": seed}  # fmt: skip
    return voice_only_dataset(csv_path, work / f"synthetic_voice_{name}", windows, recipe, workers=2)


def false_alarms(scores: np.ndarray, windows: list[dict[str, str]], thresholds) -> dict:
    """How often a voice that carries no emotion raises a label: the share of clips whose mean window
    scores pass any threshold (the voice benchmark's clip rule), the share of windows that do (what flickers
    live), and each label's share of clips."""
    voted = np.asarray(scores).any(axis=1)
    per_clip, _ = clip_scores(np.asarray(scores), windows)
    passing = per_clip > np.asarray(thresholds)
    window_passing = (np.asarray(scores) > np.asarray(thresholds)).any(axis=1) & voted
    return {"clips": len(per_clip), "clip_false_alarm": float(passing.any(axis=1).mean()),
            "window_false_alarm": float(window_passing[voted].mean()) if voted.any() else 0.0,
            "per_label_clip_share": passing.mean(axis=0).round(3).tolist()}  # fmt: skip
