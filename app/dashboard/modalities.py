"""ModalityPanel: for face, voice and words, whether the newest window had the stream (present)
and whether the model let it vote (scored), with a plain note when a stream is shown but not scored."""

from __future__ import annotations

from PyQt6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.events import MODALITY_NAMES, MODALITY_WORDS, EmotionEvent

# Display order: what a user sees first.
SHOWN_ORDER = ("visual", "audio", "text")
_STATUS_STYLE = {
    "scored": "background:#2e7d32;color:white",
    "shown, not scored": "background:#ef6c00;color:white",
    "absent": "background:#9e9e9e;color:white",
}


def modality_status(event: EmotionEvent, modality: str) -> str:
    if event.scored.get(modality, False):
        return "scored"
    if event.present.get(modality, False):
        return "shown, not scored"
    return "absent"


def not_scored_note(event: EmotionEvent) -> str:
    """The sentence telling a user which present streams the model ignores, and how to fix it."""
    ignored = [m for m in SHOWN_ORDER if modality_status(event, m) == "shown, not scored"]
    if not ignored:
        return ""
    names = [MODALITY_WORDS[m] for m in ignored]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "is" if len(names) == 1 else "are"
    return (
        f"{joined.capitalize()} {verb} shown but not scored by this model — "
        "train with your labelled videos: main.py prepare, main.py train"
    )


class ModalityPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        chips = QHBoxLayout()
        chips.setSpacing(6)
        self.chips: dict[str, QLabel] = {}
        for modality in SHOWN_ORDER:
            chip = QLabel()
            chip.setContentsMargins(6, 1, 6, 1)
            self.chips[modality] = chip
            chips.addWidget(chip)
        chips.addStretch(1)
        layout.addLayout(chips)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#b35c00")
        self.note.setVisible(False)
        layout.addWidget(self.note)
        self.status: dict[str, str] = {}
        for modality in MODALITY_NAMES:
            self._set_chip(modality, "absent")

    def show_event(self, event: EmotionEvent) -> None:
        for modality in MODALITY_NAMES:
            self._set_chip(modality, modality_status(event, modality))
        note = not_scored_note(event)
        if note != self.note.text():
            self.note.setText(note)
        self.note.setVisible(bool(note))

    def _set_chip(self, modality: str, status: str) -> None:
        if self.status.get(modality) == status:
            return
        self.status[modality] = status
        chip = self.chips[modality]
        chip.setText(f"{MODALITY_WORDS[modality]}: {status}")
        chip.setStyleSheet(_STATUS_STYLE[status] + ";border-radius:3px")
