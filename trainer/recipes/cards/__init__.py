"""The one writer of the shipped checkpoints' cards: `write_card(kind, figures, out)` writes the card of the
default, the words or the voice checkpoint (and its plot, where it has one) into the folder `out` (models/),
from the figures its recipe measured. Each card's wording is in its own module; the card of a user's own
training run (`main.py train`) is trainer/model_card.py's.
"""

from __future__ import annotations

from pathlib import Path

from . import default_card, voice_card, words_card

CARDS = {  # kind: (card file, plot file or None)
    "default": ("MODEL_CARD.md", "default_metrics.png"),
    "words": ("WORDS_MODEL_CARD.md", "words_metrics.png"),
    "voice": ("VOICE_MODEL_CARD.md", None),
}


def render_card(kind: str, figures: dict, peers: dict | None = None) -> str:
    """The card's Markdown. `peers`: the default card's peer figures (default: read from models/)."""
    if kind == "default":
        return default_card.render(figures, _peers(figures, peers))
    if kind == "words":
        return words_card.render(figures)
    if kind == "voice":
        return voice_card.render(figures)
    raise ValueError(f"unknown card {kind!r}; the cards are {', '.join(CARDS)}")


def write_card(kind: str, figures: dict, out: Path, peers: dict | None = None) -> Path:
    """Write the card (and its plot) of `kind` into `out`; returns the card's path."""
    text = render_card(kind, figures, peers)
    card, plot = CARDS[kind]
    path = Path(out) / card
    path.write_text(text, encoding="utf-8")
    if kind == "default":
        default_card.plot(figures, Path(out) / plot, _peers(figures, peers))
    elif kind == "words":
        words_card.plot(figures, Path(out) / plot)
    return path


def _peers(figures: dict, given: dict | None) -> dict:
    """The default card's peers: those given, else the stream records' in models/, overridden by those the
    default's own record kept (a peer measured once, which a newer stream record no longer holds)."""
    if given is not None:
        return given
    return {**default_card.peers(), **figures.get("peers", {})}
