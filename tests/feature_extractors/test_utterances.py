"""The one utterance policy of the words stream: whole sentences, the one in progress, never two mixed."""

from __future__ import annotations

import pytest

from app.events import TimedWord
from feature_extractors.speech import Word
from feature_extractors.utterances import current_utterance


def said(*spans_and_texts) -> list[TimedWord]:
    return [TimedWord(text, start, end) for text, start, end in spans_and_texts]


def texts(words) -> str:
    return " ".join(w.text for w in words)


# Two sentences of different emotions, spoken with only a short breath between them.
TWO_SENTENCES = said(
    ("I", 0.0, 0.2), ("am", 0.2, 0.4), ("so", 0.4, 0.6), ("happy.", 0.6, 1.0),
    ("I", 1.3, 1.4), ("hate", 1.4, 1.7), ("this.", 1.7, 2.1),
)  # fmt: skip


def test_a_sentence_end_starts_a_new_utterance_even_without_a_pause():
    assert texts(current_utterance(TWO_SENTENCES, 2.5, pause_s=1.0, max_words=32)) == "I hate this."


def test_the_utterance_in_progress_is_scored_from_its_first_word_as_words_arrive():
    assert texts(current_utterance(TWO_SENTENCES, 0.5, pause_s=1.0, max_words=32)) == "I am so"
    assert texts(current_utterance(TWO_SENTENCES, 1.2, pause_s=1.0, max_words=32)) == "I am so happy."
    assert texts(current_utterance(TWO_SENTENCES, 1.5, pause_s=1.0, max_words=32)) == "I hate"


def test_a_full_stop_the_recogniser_took_back_does_not_cut_the_sentence():
    """At a short pause the recogniser ends what it heard with a full stop; hearing on, it goes on in
    lower case: the sentence is one utterance."""
    words = said(("I", 9.5, 9.6), ("miss", 9.6, 9.8), ("my", 9.8, 10.1), ("family.", 10.1, 10.4),
                 ("and", 10.6, 10.9), ("I", 10.9, 11.0), ("want", 11.0, 11.3), ("to", 11.3, 11.6),
                 ("cry.", 11.6, 12.0))  # fmt: skip
    assert texts(current_utterance(words, 12.5, pause_s=1.0, max_words=32)) == "I miss my family. and I want to cry."


def test_a_long_pause_ends_an_utterance_a_short_one_does_not():
    # Two unpunctuated sentences 1.7 s apart; inside the second, a 0.6 s pause that does not end it.
    words = said(("a", 0.1, 0.7), ("b", 0.7, 4.9), ("c", 6.6, 8.9), ("d", 9.5, 9.6), ("e", 9.6, 12.0))
    assert texts(current_utterance(words, 12.0, pause_s=1.0, max_words=32)) == "c d e"
    assert texts(current_utterance(words, 12.0, pause_s=0.5, max_words=32)) == "d e"  # now 0.6 s ends one too
    assert texts(current_utterance(words, 12.0, pause_s=0, max_words=32)) == "a b c d e"  # utterances off


def test_a_long_word_overlapping_the_next_leaves_no_pause():
    """Gaps are measured from the latest end so far, not from the previous word's end."""
    words = said(("a", 0.0, 5.0), ("b", 1.0, 1.5), ("c", 5.2, 6.0))
    assert texts(current_utterance(words, 6.0, pause_s=1.0, max_words=32)) == "a b c"


def test_a_long_sentence_is_not_cut_at_its_start_by_the_view_while_it_fits_the_word_limit():
    words = [Word(f"w{k}", 0.6 * k, 0.6 * k + 0.5, 1.0) for k in range(20)]  # 12 s, no pause, no full stop
    assert len(current_utterance(words, 12.0, pause_s=1.0, max_words=32, view_s=8.0)) == 20
    kept = current_utterance(words, 12.0, pause_s=1.0, max_words=16, view_s=8.0)
    assert texts(kept) == texts(words[4:])  # over the limit: its most recent words, as the model keeps them


def test_the_last_utterance_stays_in_view_until_view_s_after_its_last_word():
    assert len(current_utterance(TWO_SENTENCES, 10.0, pause_s=1.0, max_words=32, view_s=8.0)) == 3
    assert current_utterance(TWO_SENTENCES, 10.2, pause_s=1.0, max_words=32, view_s=8.0) == []
    assert current_utterance(TWO_SENTENCES, 0.0, pause_s=1.0, max_words=32) == []  # nothing said yet


def test_words_in_any_order_give_the_same_utterance():
    shuffled = TWO_SENTENCES[::-1]
    assert current_utterance(shuffled, 2.5, pause_s=1.0, max_words=32) == TWO_SENTENCES[4:]


def test_a_word_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="max_words must be at least 1"):
        current_utterance(TWO_SENTENCES, 2.5, pause_s=1.0, max_words=0)
