"""Words in time (issue 39; app/words_in_view.py): a sentence votes while it is said, at full strength for
the hold after it is known, then fades and leaves; each of several sentences recognised in one pass is
scored. The rules on made-up words, then real speech (espeak-ng) through the engine's exact replay with
the shipped default."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.control import EngineOptions
from app.events import TimedWord
from app.replay import replay
from app.words_in_view import FADE_S, HOLD_S, SentenceTurns
from trainer.spoken_media import SAMPLE_RATE, speak, write_clip

ANGRY = "I am furious, this is outrageous and I hate it."
RUN_TOGETHER = ("I can't believe you did that.", "This is wonderful.", "Thank you.")


def words(text: str, start: float, step: float = 0.3) -> list[TimedWord]:
    return [TimedWord(t, start + i * step, start + i * step + 0.25, 1.0) for i, t in enumerate(text.split())]


def texts(chosen) -> str:
    return " ".join(w.text for w in chosen.words)


def test_a_sentence_holds_then_fades_out_from_when_it_is_known() -> None:
    turns = SentenceTurns(1.0, hold_s=0.5, fade_s=1.0)
    said = words("I hate this.", 0.0)  # last word ends at 0.85 s
    heard = [(w, 2.0) for w in said]  # out of recognition at 2.0 s: known from then
    assert texts(turns.choose(heard, 2.0, 32)) == "I hate this."
    assert turns.choose(heard, 2.5, 32).weight == 1.0
    assert turns.choose(heard, 3.0, 32).weight == pytest.approx(0.5)
    assert turns.choose(heard, 3.5, 32).words == ()


def test_sentences_given_out_together_each_get_a_window_oldest_first() -> None:
    turns = SentenceTurns(1.0)
    said = words("I can't believe you did that.", 0.0) + words("This is wonderful.", 1.9) + words("Thank you.", 2.9)
    heard = [(w, 4.0) for w in said]
    chosen = [texts(turns.choose(heard, 4.0 + 0.25 * i, 32)) for i in range(4)]
    assert chosen == ["I can't believe you did that.", "This is wonderful.", "Thank you.", "Thank you."]


def test_a_new_sentence_replaces_the_one_before_at_once() -> None:
    turns = SentenceTurns(1.0)
    first = [(w, 1.0) for w in words("I am so happy.", 0.0)]
    assert texts(turns.choose(first, 1.0, 32)) == "I am so happy."
    second = first + [(w, 2.2) for w in words("I hate it.", 1.2)]
    assert texts(turns.choose(second, 2.2, 32)) == "I hate it."


def test_without_utterances_the_words_of_the_view_make_one() -> None:
    turns = SentenceTurns(0.0, hold_s=1.0, fade_s=1.0)
    heard = [(w, w.end) for w in words("one two three four five six seven eight nine ten", 0.0, step=0.5)]
    # at 5 s: the words known (here: ended) before 3 s have faded out
    assert texts(turns.choose(heard, 5.0, 32)) == "seven eight nine ten"
    assert texts(turns.choose(heard, 5.0, 3)) == "eight nine ten"


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, float]:
    """An angry sentence at 0.5 s, 7 s of silence, then three sentences run together; no face.
    Returns the clip, when the angry sentence's audio ends and when the three start."""
    angry_ends = 0.5 + len(speak(ANGRY)) / SAMPLE_RATE
    together_starts = angry_ends + 7.0
    together = " ".join(RUN_TOGETHER)
    duration = together_starts + len(speak(together)) / SAMPLE_RATE + 4.0
    path = tmp_path_factory.mktemp("clips") / "words_in_time.mkv"
    write_clip(path, duration_s=duration, speech=[(0.5, ANGRY), (together_starts, together)], fps=10.0, face=False)
    return path, angry_ends, together_starts


@pytest.fixture(scope="module")
def replayed(spoken, extractors):
    from app.defaults import default_checkpoint
    from app.predictor import Predictor

    path, _, _ = spoken
    result = replay(path, predictor=Predictor(default_checkpoint()), extractors=extractors, exact=True, timeout_s=300)
    assert result.error is None
    return result


def test_a_sentence_stops_voting_within_hold_and_fade_after_it_is_known(spoken, replayed) -> None:
    _, angry_ends, together_starts = spoken
    before_next = [e for e in replayed.events if e.window_end < together_starts]
    with_angry = [e for e in before_next if e.words]
    assert with_angry and "furious" in " ".join(w.text.lower() for w in with_angry[0].words)
    # The app knows the sentence once its words are out of recognition: at the latest when they first
    # reach a window. From then on it votes for at most the hold and the fade (and one hop).
    known = with_angry[0].window_end
    last_vote = with_angry[-1].window_end
    assert last_vote <= known + HOLD_S + FADE_S + EngineOptions().hop_s + 1e-6, (known, last_vote)
    angry = replayed.events[0].labels.index("angry")
    passing = [e.window_end for e in before_next if e.decided[angry]]
    assert passing, "the angry sentence passes angry while it votes"
    # ... and its label lets go within the hold, the fade and the one-second smoothing after that
    assert max(passing) <= known + HOLD_S + FADE_S + EngineOptions().smoothing_s, (known, passing)
    assert not replayed.events[-1].decided[angry]


def test_each_of_three_sentences_said_without_pauses_is_scored(spoken, replayed) -> None:
    _, _, together_starts = spoken
    scored = {" ".join(w.text for w in e.words) for e in replayed.events if e.window_end > together_starts}

    def normal(text: str) -> str:
        return "".join(c for c in text.lower() if c.isalnum() or c == " ")

    heard = {normal(t) for t in scored}
    for sentence in RUN_TOGETHER:
        assert normal(sentence) in heard, (sentence, sorted(scored))
