"""Which words the text stream scores at a moment: the current utterance, whole.

Text models learn from one sentence at a time, so the words stream scores the sentence being said (or
just said), never a fragment of it and never the end of one sentence joined to the start of the next.
One function, `current_utterance`, says which words those are; the live engine calls it every window
and `trainer/sample_windows.py` calls it for media samples, so training and live scoring cut words alike.

Utterances are split
- after a word that ends a sentence (`.`, `!` or `?`), unless the next word starts in lower case (the
  recogniser, hearing on, continued the sentence: a full stop it wrote at a short pause is taken back);
- at a silence of at least `pause_s` between two words (speech without punctuation).

The current utterance is the one the latest word said by then belongs to, from its first word (not
cut by any time window), as it grows word by word. It stays in view until `view_s` after its last
word. When it is longer than `max_words` (the model's word limit), its most recent words are kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, TypeVar

UTTERANCE_PAUSE_S = 1.0  # a silence this long ends an utterance, live and in prepare
SENTENCE_ENDS = (".", "!", "?")
_CLOSING = "\"')]”’"  # quotes or brackets that may follow a sentence's last mark


class SpokenWord(Protocol):
    text: str
    start: float
    end: float


W = TypeVar("W", bound=SpokenWord)


def ends_sentence(text: str) -> bool:
    return text.rstrip().rstrip(_CLOSING).endswith(SENTENCE_ENDS)


def _continues_sentence(text: str) -> bool:
    first = text.lstrip(_CLOSING + " ")[:1]
    return first.islower()


def split_utterances(words: Sequence[W], pause_s: float) -> list[list[W]]:
    """Words said (any order) -> their utterances in time order, each its words in time order (the
    module docstring's rules). `pause_s` <= 0 turns utterances off: one utterance of every word."""
    said = sorted(words, key=lambda w: w.start)
    if pause_s <= 0:
        return [said] if said else []
    utterances: list[list[W]] = []
    spoken_until = -math.inf  # the latest end so far: a long word overlapping the next leaves no gap
    for i, word in enumerate(said):
        if not i or (
            word.start - spoken_until >= pause_s
            or (ends_sentence(said[i - 1].text) and not _continues_sentence(word.text))
        ):
            utterances.append([])
        utterances[-1].append(word)
        spoken_until = max(spoken_until, word.end)
    return utterances


def current_utterance(
    words: Sequence[W], at: float, *, pause_s: float, max_words: int, view_s: float = math.inf
) -> list[W]:
    """The words of the utterance being said (or last said) at time `at`, in time order.

    `words`: every word heard so far with its text and times (any order). Words starting at or after
    `at` are not said yet. `pause_s` <= 0 turns utterances off: every word said within `view_s` of `at`.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    said = [w for w in words if w.start < at]
    if pause_s <= 0:
        return [w for w in sorted(said, key=lambda w: w.start) if w.end > at - view_s][-max_words:]
    utterances = split_utterances(said, pause_s)
    if not utterances or max(w.end for w in said) <= at - view_s:
        return []  # nothing said yet, or the last utterance has left the view
    return utterances[-1][-max_words:]
