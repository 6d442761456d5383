"""The words stream on real speech: two sentences of different emotions, said one right after the other,
are scored one at a time and each from its first word; smoothing never hides what a window scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.replay import replay
from trainer.spoken_media import SAMPLE_RATE, speak, write_clip

HAPPY = "I am so happy to see you again after all this time and this is the most wonderful day of my life."
SAD = "I feel so sad and lonely, I want to cry."
BREATH_S = 0.2  # between the two sentences' audio: far shorter than the 1 s pause that ends an utterance


@pytest.fixture(scope="module")
def two_sentences(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A clip with the happy sentence from 0.5 s and the sad one straight after; and when the sad starts."""
    sad_starts = 0.5 + len(speak(HAPPY)) / SAMPLE_RATE + BREATH_S
    path = tmp_path_factory.mktemp("clips") / "two_sentences.mkv"
    write_clip(path, duration_s=sad_starts + 6.0, speech=[(0.5, HAPPY), (sad_starts, SAD)], fps=10.0)
    return path, sad_starts


@pytest.fixture(scope="module")
def replayed(two_sentences, predictor, extractors):
    path, _ = two_sentences
    result = replay(path, predictor=predictor, extractors=extractors, exact=True, timeout_s=300)
    assert result.error is None
    return result


def test_no_window_mixes_the_two_sentences_or_starts_one_in_the_middle(two_sentences, replayed) -> None:
    _, sad_starts = two_sentences

    def sentence(word) -> int:
        return int((word.start + word.end) / 2 >= sad_starts - 0.1)

    heard = sorted(replayed.words, key=lambda w: w.start)
    first_word = {s: min((w for w in heard if sentence(w) == s), key=lambda w: w.start) for s in (0, 1)}
    with_words = [e for e in replayed.events if e.words]
    assert {sentence(w) for e in with_words for w in e.words} == {0, 1}, "both sentences were scored"
    shown = [(e.window_end, [w.text for w in e.words]) for e in with_words]
    mixed = [words for e, words in zip(with_words, shown) if len({sentence(w) for w in e.words}) > 1]
    assert not mixed, mixed
    cut = [words for e, words in zip(with_words, shown) if e.words[0] != first_word[sentence(e.words[0])]]
    assert not cut, cut
    # Once it is over, the sad sentence is in the window whole, as it was heard.
    assert list(with_words[-1].words) == [w for w in heard if sentence(w) == 1]


def test_each_sentence_reaches_the_windows_while_it_is_spoken(two_sentences, replayed) -> None:
    """The long happy sentence (about 6 s) gives its settled words while it goes on."""
    _, sad_starts = two_sentences
    during_happy = [e for e in replayed.events if e.window_end < sad_starts and e.words]
    assert any(len(e.words) < len(during_happy[-1].words) for e in during_happy), "the sentence grew in view"


def test_smoothing_never_shows_less_than_the_window_scored(replayed) -> None:
    for event in replayed.events:
        assert all(shown >= raw - 1e-9 for shown, raw in zip(event.scores, event.raw_scores))
        passed = tuple(raw > t for raw, t in zip(event.raw_scores, event.thresholds))
        assert all(d for d, p in zip(event.decided, passed) if p), (event.window_end, event.raw_scores)
