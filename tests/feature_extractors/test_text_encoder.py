"""Words -> per-word vectors from the real all-MiniLM-L6-v2 with its emotion-fine-tuned layers, times kept."""

from __future__ import annotations

import numpy as np
import pytest

from feature_extractors.speech import Word


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def timed(text: str) -> list[Word]:
    return [Word(token, 0.4 * i, 0.4 * i + 0.3, 0.9) for i, token in enumerate(text.split())]


def test_each_word_gets_one_row_with_its_time_span(text_encoder):
    words = timed("I am unbelievably happy today")  # "unbelievably" is several word pieces
    rows = text_encoder.encode(words)
    assert rows.values.shape == (5, 384) and np.isfinite(rows.values).all()
    np.testing.assert_allclose(rows.times, [(w.start, w.end) for w in words])
    assert (np.linalg.norm(rows.values, axis=1) > 1).all()


def test_word_vectors_carry_meaning(text_encoder):
    happy = text_encoder.encode_sentence("I feel happy")[2]
    glad = text_encoder.encode_sentence("I feel glad")[2]
    table = text_encoder.encode_sentence("I feel table")[2]
    assert cosine(happy, glad) > cosine(happy, table) + 0.2


def test_a_word_depends_on_its_context(text_encoder):
    river = text_encoder.encode_sentence("we sat on the bank of the river")[4]
    money = text_encoder.encode_sentence("she put money in the bank")[5]
    river_again = text_encoder.encode_sentence("the boat reached the bank of the river")[4]
    assert cosine(river, river_again) > cosine(river, money)


def test_encode_and_encode_sentence_agree(text_encoder):
    text = "Hello, this is a good morning."
    np.testing.assert_allclose(
        text_encoder.encode(timed(text)).values, text_encoder.encode_sentence(text), atol=1e-5
    )


def test_more_words_than_the_encoder_takes_at_once_all_get_vectors(text_encoder):
    text = " ".join(["unbelievably wonderful"] * 150)  # about 600 word pieces
    vectors = text_encoder.encode_sentence(text)
    assert vectors.shape == (300, 384)
    assert (np.linalg.norm(vectors, axis=1) > 1).all() and np.isfinite(vectors).all()


def test_no_words_give_no_rows(text_encoder):
    assert len(text_encoder.encode([])) == 0 and text_encoder.encode([]).dim == 384
    assert text_encoder.encode_sentence("   ").shape == (0, 384)


def test_casing_and_punctuation_do_not_change_the_vectors(text_encoder):
    """Whisper may or may not capitalise and punctuate the same words: both read the same."""
    written = text_encoder.encode_sentence("I am furious! This is outrageous, and I hate it.")
    asr = text_encoder.encode_sentence("i am furious this is outrageous and i hate it")
    np.testing.assert_allclose(written, asr, atol=1e-5)


def test_a_word_without_letters_gets_a_zero_row(text_encoder):
    vectors = text_encoder.encode_sentence("wait -- what")
    assert vectors.shape == (3, 384) and not vectors[1].any() and vectors[[0, 2]].any(axis=1).all()


def test_prefetched_sentences_equal_those_encoded_one_by_one():
    from feature_extractors.text import TextEncoder

    sentences = ["I love it.", "I am so sad and lonely, I miss my family.", "-- ...", "Wow!"]
    alone = TextEncoder()
    batched = TextEncoder()
    batched.prefetch(sentences)
    for sentence in sentences:
        np.testing.assert_allclose(batched.encode_sentence(sentence), alone.encode_sentence(sentence), atol=1e-5)


def test_the_fine_tuned_layers_are_laid_over_the_base_model(text_encoder, tmp_path):
    from safetensors.numpy import save_file

    from feature_extractors.text import TextEncoder

    base = TextEncoder(layers=None).encode_sentence("I feel so sad")
    assert np.abs(text_encoder.encode_sentence("I feel so sad") - base).max() > 0.1
    foreign = tmp_path / "layers.safetensors"
    save_file({"encoder.layer.0.output.dense.weight": np.zeros((3, 3), np.float16)}, str(foreign))
    with pytest.raises(ValueError, match="not made for this base model"):
        TextEncoder(layers=foreign)
    with pytest.raises(FileNotFoundError, match="finetune_words_encoder"):
        TextEncoder(layers=tmp_path / "missing.safetensors")
