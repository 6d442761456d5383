"""EmoDB (Burkhardt et al. 2005, CC0): its clips' labels, and the six-class view of them.

EmoDB's sentences are German and emotionally neutral, so only the voice may learn from it: `emodb_csv`
writes a `main.py prepare` CSV whose `modalities` column keeps the voice alone (no words, no face).
Targets come from the emotion letter: F happy, T sad, W angry, A fear, E disgust; N (neutral) and
L (boredom) carry none of the six labels; EmoDB has no surprise. Its live-shaped windows are cut by
live_clips.py and prepared by voice_windows.py; voice_scoring.py scores them.
"""

from __future__ import annotations

import csv
from pathlib import Path

CREDIT = (
    "Burkhardt, F., Paeschke, A., Rolfes, M., Sendlmeier, W. and Weiss, B. (2005). A Database of German "
    "Emotional Speech. Interspeech 2005. CC0 1.0 (audEERING's packaging)."
)
LETTER_LABEL = {"F": "happy", "T": "sad", "W": "angry", "A": "fear", "E": "disgust", "N": "", "L": ""}
CLASSES = ("happy", "sad", "angry", "fear", "disgust", "neutral")


def read_labels(root: Path) -> list[dict[str, str]]:
    """labels.csv rows, sorted by file name (the order `main.py prepare` keeps for a CSV)."""
    path = Path(root) / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"no EmoDB labels at {path}; expected the shared copy (trainer.data_folders.corpus('emodb'))"
        )
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


def clip_letters(windows: list[dict[str, str]]) -> list[str]:
    """The emotion letter of each clip, in `clip_scores` order."""
    return list({w["file"]: w["emodb_letter"] for w in windows}.values())


def class_of_letter(letter: str) -> str:
    return LETTER_LABEL[letter] or "neutral"
