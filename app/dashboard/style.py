"""Colours and the user's words for modalities, shared by the dashboard's widgets."""

from __future__ import annotations

from ..events import MODALITY_WORDS  # event modality names (CARAT's) -> what a user calls them

# One colour per emotion, the same in the bars and the timeline (colour-blind-safe palette).
EMOTION_COLORS = {
    "happy": "#e69f00",
    "sad": "#0072b2",
    "angry": "#d55e00",
    "fear": "#cc79a7",
    "disgust": "#009e73",
    "surprise": "#56b4e9",
}
FALLBACK_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")

STATE_COLORS = {
    "running": "#2e7d32",
    "starting": "#f9a825",
    "idle": "#757575",
    "retrying": "#ef6c00",
    "stopped": "#757575",
    "failed": "#c62828",
}


def modality_word(modality: str | None) -> str:
    """The word shown for the modality that decided a label ("" when none did)."""
    if modality is None:
        return ""
    return MODALITY_WORDS.get(modality, modality)


def emotion_color(label: str, index: int) -> str:
    return EMOTION_COLORS.get(label, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])
