"""TranscriptView: the words as the speech recogniser delivers them, with their times."""

from __future__ import annotations

from PyQt6.QtGui import QTextCursor
from PyQt6.QtWidgets import QPlainTextEdit, QWidget

from app.events import TimedWord

PAUSE_FOR_NEW_LINE_S = 1.5  # a silence this long starts a new line


class TranscriptView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlaceholderText("Words appear here as they are spoken.")
        self.setMaximumBlockCount(2000)
        self.setAccessibleName("Transcript")
        self.words: list[TimedWord] = []

    def add_words(self, words: list[TimedWord] | tuple[TimedWord, ...]) -> None:
        """Append the words speech recognition just gave out (each word comes once)."""
        new = [word for word in sorted(words, key=lambda w: w.start) if word.text.strip()]
        if not new:
            return
        text = ""
        for word in new:
            previous = self.words[-1] if self.words else None
            if previous is None or word.start - previous.end > PAUSE_FOR_NEW_LINE_S:
                text += ("\n" if previous else "") + f"[{_clock(word.start)}] "
            else:
                text += " "
            text += word.text.strip()
            self.words.append(word)
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def clear_words(self) -> None:
        self.words.clear()
        self.clear()


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{rest:04.1f}"
