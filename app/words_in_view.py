"""Which sentence the words stream scores at each window, and how strongly: words in time.

An utterance (a sentence, or the words since a pause; feature_extractors/utterances.py cuts them) votes
while it is being said, at full strength for `hold_s` after the app knows it, then fades out linearly
over `fade_s` and leaves the view. "Knows it" is the later of its last word's end and the moment speech
recognition gave that word out: live, words come out a pass after they were said, and a sentence must
not fade before anyone could see it.

Why a short hold and a fade: what a sentence says about a person's state is what they show
while and just after saying it; a face and a voice that have moved on are the better witnesses after
that. Holding the sentence for 8 s at full strength made it vote over the next smile, and dropping it at
once after a long hold made the display jump. With the defaults (0.5 s + 1.5 s) a clear sentence's
label (score 0.9, threshold 0.5, nothing else voting) stops passing about 1.3 s after the app knows it,
before the one-second score smoothing lets go, so it is gone within about 2 s.

Every utterance is scored at least once, even when speech recognition gives several out in one pass (a
speaker who runs sentences together: "I can't believe you did that. This is wonderful. Thank you."):
utterances that came out together with a later one take a window each, oldest first, before the newest
is scored; without this rule only the newest was ever seen.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from feature_extractors.utterances import split_utterances

from .events import TimedWord

HOLD_S = 0.5
FADE_S = 1.5


@dataclass(frozen=True)
class WordsInView:
    words: tuple[TimedWord, ...]  # () when no utterance is in view
    weight: float  # 1 at full strength, falling to 0 as the utterance fades


@dataclass
class SentenceTurns:
    """The words stream's choice of utterance per window (the module docstring's rules). Keeps which
    utterances have been scored, so one that arrived with the next still gets its window."""

    pause_s: float
    hold_s: float = HOLD_S
    fade_s: float = FADE_S
    _scored: set[tuple[float, str]] = field(default_factory=set)

    def reset(self) -> None:
        self._scored.clear()

    def choose(self, heard: Iterable[tuple[TimedWord, float]], at: float, max_words: int) -> WordsInView:
        """`heard`: (word, when it became available) for every word available by window end `at`; an
        utterance longer than `max_words` (the model's limit) keeps its most recent words."""
        heard = list(heard)
        available = {id(word): when for word, when in heard}
        said = [word for word, _ in heard if word.start < at]
        if self.pause_s <= 0:  # no utterances: the words of the view's time make one
            said = [w for w in said if self._weight(at - max(w.end, available[id(w)])) > 0]
        in_view = []
        for utterance in split_utterances(said, self.pause_s):
            known = max(max(w.end for w in utterance), max(available[id(w)] for w in utterance))
            weight = self._weight(at - known)
            if weight > 0:
                in_view.append((utterance, weight))
        if not in_view:
            return WordsInView((), 0.0)
        waiting = [u for u in in_view[:-1] if self._key(u[0]) not in self._scored]
        utterance, weight = waiting[0] if waiting else in_view[-1]
        # Only utterances still in view can wait for a turn: forget the others (a session runs for hours).
        self._scored = {self._key(u) for u, _ in in_view} & self._scored | {self._key(utterance)}
        return WordsInView(tuple(utterance[-max_words:]), weight)

    def _weight(self, since_known: float) -> float:
        if since_known <= self.hold_s:
            return 1.0
        if self.fade_s <= 0:
            return 0.0
        return max(0.0, 1.0 - (since_known - self.hold_s) / self.fade_s)

    @staticmethod
    def _key(utterance: list[TimedWord]) -> tuple[float, str]:
        """An utterance is known by its first word, which stays while it grows word by word."""
        return (utterance[0].start, utterance[0].text)


class HeardWords:
    """Every word speech recognition gave out, with when it became available: the speech worker writes
    them, the window loop takes the utterance in view and forgets words long out of it."""

    def __init__(self, turns: SentenceTurns) -> None:
        self.turns = turns
        self._words: collections.deque = collections.deque()  # (TimedWord, available_at)
        self._lock = threading.Lock()

    def add(self, words: list[TimedWord], available_at: float) -> None:
        with self._lock:
            self._words.extend((w, available_at) for w in words)

    def clear(self) -> None:
        with self._lock:
            self._words.clear()
            self.turns.reset()

    def in_view(self, at: float, available_by: float, max_words: int) -> WordsInView:
        """The utterance the window ending at `at` scores, from the words available by `available_by`."""
        with self._lock:
            heard = [(w, available) for w, available in self._words if available <= available_by]
            return self.turns.choose(heard, at, max_words=max_words)

    def prune(self, available_by: float, before: float) -> None:
        """Words leave once heard and long out of view; words still in recognition are kept however old."""
        with self._lock:
            while self._words and self._words[0][1] <= available_by and self._words[0][0].end < before:
                self._words.popleft()
