"""A clip as a live microphone hears it, cut into the windows a live engine scores while it plays.

A live 3 s window holds a clip and the room around it (up to 60 voice rows), where a whole 2 s clip alone
gives 31; a model trained on the clips alone called a neutral voice through the microphone sad. So each
clip is placed in a longer recording (`live_clip`: room before it, a random lead, so the row grid falls
anywhere in the clip; room after it), and `LIVE_ENDS` windows are cut from it, from half a second into the
clip to 1.5 s after it ends. The room is digital silence (what a muted or null microphone gives) or a room
sound (`trainer/room_sounds.py`), and half the recordings pass through a webcam's channel. Every window
carries its clip's labels.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE
from feature_extractors.windows import LIVE_WINDOW_S

from .room_sounds import noise, webcam_channel

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


def clip_seed(name: str, seed: int = SEED) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little")


def live_clip(samples: np.ndarray, name: str, seed: int = SEED, clean: bool = False) -> tuple[np.ndarray, float]:
    """A 16 kHz clip in a longer recording, as a microphone hears it: (recording, time the clip starts).
    The lead, the room (digital silence, or one of trainer/room_sounds.py's noises at a drawn level) and
    whether a webcam's channel carries it (band limit, low-rate Opus, room noise 20 dB below the speech)
    are drawn from the clip's name and the seed. `clean`: the clip as recorded, in digital silence (the
    same lead), for figures comparable with other work."""
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


def cut_live_windows(recording: np.ndarray, clip_start: float, stem: str, clips: Path) -> list[dict[str, str]]:
    """The LIVE_ENDS windows of one clip's live recording, each written as its own wav under `clips` (a
    window and HEARD_S before its end: `build_window` keeps rows whose span overlaps the window, so from the
    whole recording it would take rows that end up to a second after the window, audio a live engine has not
    heard yet): one row each, with the wav's path, the
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
