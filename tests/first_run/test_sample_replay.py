"""The first run: replaying the bundled sample clip with the default checkpoint hears the clip's words,
the smiling face keeps happy, and each sentence raises its own emotion, decided by the words; the default
scores every stream it sees, so the face and the voice are scored wherever they are present."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from app.defaults import sample_clip
from tests.decisions import decided, decider

HAPPY_SPAN, SAD_SPAN, ANGRY_SPAN = (0.5, 5.1), (7.0, 12.3), (13.5, 17.4)  # samples/README.md
SENTENCES = (HAPPY_SPAN, SAD_SPAN, ANGRY_SPAN)
SPOKEN = {"happy", "wonderful", "news", "love", "sad", "lonely", "miss", "family", "cry", "furious", "outrageous"}


@pytest.fixture(scope="module")
def replayed(default_predictor):
    from app.replay import replay

    assert sample_clip().stat().st_size < 2e6
    return replay(sample_clip(), predictor=default_predictor, exact=True, timeout_s=240)


def after_sentence(events, span: tuple[float, float]) -> list:
    """The windows ending from the sentence's end to 1.5 s after it (the words reach the stream once the
    utterance ends) and still holding words."""
    return [e for e in events if span[1] <= e.window_end <= span[1] + 1.5 and e.present["text"]]


def mean_scores(events, span: tuple[float, float], labels: tuple[str, ...]) -> dict[str, float]:
    """Mean raw score per label over the windows `after_sentence`."""
    chosen = after_sentence(events, span)
    assert chosen, f"no window with words after {span}"
    scores = np.mean([e.raw_scores for e in chosen], axis=0)
    return dict(zip(labels, scores))


def test_the_sample_replays_with_its_words(replayed) -> None:
    assert replayed.error is None and len(replayed.events) >= 70
    heard = {w.text.strip(" .,!?").lower() for w in replayed.words}
    assert len(heard & SPOKEN) >= 8, heard
    # Aligned windows take the face under each word: wherever words are, the face is there too.
    with_words = [e for e in replayed.events if e.present["text"]]
    assert len(with_words) >= 12 and all(e.present["visual"] and e.present["audio"] for e in with_words)
    # The face votes wherever it is seen; the voice once a second of it is heard (CaratConfig.audio_min_rows).
    assert all(e.scored["visual"] == e.present["visual"] for e in replayed.events)
    assert all(e.present["audio"] or not e.scored["audio"] for e in replayed.events)
    assert sum(e.scored["audio"] for e in with_words) >= 0.8 * len(with_words)
    assert any(e.scored["text"] for e in replayed.events)


def test_each_window_scores_one_sentence_at_a_time(replayed) -> None:
    """The three sentences come 1.5-2 s apart, within the 8 s the words stay in view: a window holds the
    latest one only (the speech worker's word times may start a little early, hence the margin)."""

    def sentence(word) -> int:
        middle = (word.start + word.end) / 2
        return next(i for i, (start, end) in enumerate(SENTENCES) if start - 1 <= middle <= end)

    with_words = [e for e in replayed.events if e.words]
    assert {sentence(w) for e in with_words for w in e.words} == {0, 1, 2}
    mixed = [(e.window_end, [w.text for w in e.words]) for e in with_words if len({sentence(w) for w in e.words}) > 1]
    assert not mixed, mixed


def test_the_face_keeps_happy_and_each_sentence_raises_its_own_emotion(replayed) -> None:
    """The astronaut smiles all through the clip, so happy is decided in nearly every window where the face
    is seen: by the face, or by the words while the happy sentence is in view (both carry it). The words
    decide the rest: after the sad and the angry sentence, that emotion leads where the other sentences leave
    it and is decided by the words. The flat synthetic voice carries no emotion: it decides nothing."""
    events, labels = replayed.events, replayed.events[0].labels
    seen = [e for e in events if e.scored["visual"]]
    happy = [e for e in seen if decided(e, "happy")]
    assert len(happy) >= 0.8 * len(seen), [round(e.scores[labels.index("happy")], 2) for e in seen]
    assert all(decider(e, "happy") in ("visual", "text") for e in happy)
    assert all(decider(e, "happy") == "visual" for e in happy if not e.present["text"])
    after = {name: mean_scores(events, span, labels) for name, span in zip(("happy", "sad", "angry"), SENTENCES)}
    for emotion, span in (("sad", SAD_SPAN), ("angry", ANGRY_SPAN)):
        elsewhere = max(after[other][emotion] for other in after if other != emotion)
        assert after[emotion][emotion] > elsewhere, (emotion, after)
        following = after_sentence(events, span)
        assert any(decided(e, emotion) and decider(e, emotion) == "text" for e in following), (emotion, after)
    by_voice = [(e.window_end, l) for e in events for l in labels if decided(e, l) and decider(e, l) == "audio"]
    assert not by_voice, by_voice


def test_replay_command_with_utterance_pause_0_keeps_every_word_of_the_text_window(tmp_path, cli) -> None:
    """The replay command's switch back to plain words in time: with an 8 s text window, the last window
    holds the sad sentence's end with the angry sentence (its export's words column shows what each
    window scored)."""
    out = tmp_path / "out"
    code, _, err = cli(
        ["replay", str(sample_clip()), "--out", str(out), "--utterance-pause", "0", "--text-window", "8"]
    )
    assert code == 0, err
    with open(out / "events.csv", encoding="utf-8") as handle:
        last_words = list(csv.DictReader(handle))[-1]["words"].lower()
    assert "cry" in last_words and "hate" in last_words, last_words
