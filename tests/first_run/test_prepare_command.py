"""`main.py prepare`: real XED text and espeak-ng media become the windows the live predictor takes,
through the live extractors; shards, resume and bad files; a few training steps; the predictor loads it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from app.defaults import default_checkpoint
from carat_model import MODALITIES, read_checkpoint_info
from feature_extractors.spec import default_feature_spec
from trainer.datasets import load_prepared_dataset
from trainer.sample_windows import WORD_SECONDS, WindowShape

PLAIN_STATEMENTS = Path(__file__).resolve().parents[1] / "data" / "plain_statements.tsv"
ALIGNED = WindowShape(aligned=True, text_steps=32)  # `--aligned`: one step per word, for media with speech


def test_the_default_checkpoint_takes_the_stream_window(default_predictor) -> None:
    from trainer.presets import STREAMS_WINDOW

    config = read_checkpoint_info(default_checkpoint()).config
    assert config.aligned is STREAMS_WINDOW.aligned
    assert default_predictor.lengths == STREAMS_WINDOW.lengths


def test_text_corpus_becomes_text_only_live_windows_in_the_default_checkpoints_shape(
    xed_lines, tmp_path: Path, cli
) -> None:
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.text import TextEncoder
    from feature_extractors.windows import TimedRows, build_window

    corpus = tmp_path / "xed.tsv"
    corpus.write_text("\n".join(xed_lines) + "\n", encoding="utf-8")
    code, out, err = cli(["prepare", str(corpus), "--out", str(tmp_path / "ds"), "--quiet"])
    assert code == 0, err
    dataset = load_prepared_dataset(tmp_path / "ds")
    shape = WindowShape.for_model(read_checkpoint_info(default_checkpoint()).config)
    assert "the shape of" in out and str(default_checkpoint()) in out, "prepare says whose windows it writes"
    assert dataset.aligned is shape.aligned is False and dataset.feature_spec == default_feature_spec().to_dict()
    total = sum(len(s) for s in dataset.splits.values())
    assert total == len(xed_lines)
    assert len(dataset.split("train")) > len(xed_lines) // 2
    for split in dataset.splits.values():
        assert split.text.shape[1:] == (shape.text_steps, 384)
        assert not split.visual_mask.any() and not split.visual.any(), "text-only: no face"
        assert not split.audio_mask.any() and not split.audio.any(), "text-only: no voice"
    # Each line's labels and word count survive; one window equals what the live functions make.
    encoder = TextEncoder()
    sentence, labels = xed_lines[0].split("\t")
    vectors = encoder.encode_sentence(sentence)
    starts = np.arange(len(vectors)) * WORD_SECONDS
    dims = default_feature_spec().dims
    expected = build_window(
        TimedRows(np.stack([starts, starts + WORD_SECONDS], 1), vectors),
        TimedRows.empty(dims["visual"]),
        TimedRows.empty(dims["audio"]),
        0.0,
        len(vectors) * WORD_SECONDS,
        aligned=False,
        lengths=shape.lengths,
    )
    all_splits = np.concatenate([s.text for s in dataset.splits.values()])
    all_labels = np.concatenate([s.labels for s in dataset.splits.values()])
    match = np.flatnonzero(np.abs(all_splits - expected["text"]).max(axis=(1, 2)) < 1e-5)
    assert len(match) >= 1, "the first line's window is in the dataset, exactly as build_window makes it"
    wanted = {name for name in labels.split(",") if name}
    assert {dataset.labels[i] for i in np.flatnonzero(all_labels[match[0]])} == wanted


def test_shards_resume_and_refuse_changed_settings(xed_lines, tmp_path: Path, cli) -> None:
    corpus = tmp_path / "xed.tsv"
    corpus.write_text("\n".join(xed_lines[:20]) + "\n", encoding="utf-8")
    out = tmp_path / "ds"
    common = ["prepare", str(corpus), "--out", str(out), "--chunk-size", "4", "--quiet"]
    code, text, _ = cli(common + ["--shard", "0/2"])
    assert code == 0 and "3 chunks done now" in text and "not every chunk is done" in text
    assert not (out / "index.json").exists(), "no dataset until every shard is in"
    code, text, _ = cli(common + ["--shard", "1/2"])
    assert code == 0 and "2 chunks done now" in text and "dataset written" in text
    first = load_prepared_dataset(out)
    code, text, _ = cli(common)
    assert code == 0 and "0 chunks done now, 5 were done before" in text
    again = load_prepared_dataset(out)
    for name in first.splits:
        assert np.array_equal(first.split(name).text, again.split(name).text)
    code, _, err = cli(common[:-1] + ["--seed", "7", "--quiet"])
    assert code == 2 and "seed" in err and "new --out" in err


def test_bad_files_are_reported_and_skipped(tmp_path: Path, cli) -> None:
    (tmp_path / "words.txt").write_text("What a wonderful surprise, thank you so much!", encoding="utf-8")
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x01not a video at all" * 100)
    (tmp_path / "list.csv").write_text(
        "path,start,end,labels\nbroken.mp4,,,sad\nwords.txt,,,happy;surprise\nmissing.wav,,,angry\n",
        encoding="utf-8",
    )
    code, out, err = cli(["prepare", tmp_path / "list.csv", "--out", tmp_path / "ds", "--split", "train", "--quiet"])
    assert code == 0, err
    assert "2 samples skipped" in out
    assert "broken.mp4" in out and "missing.wav" in out and "does not exist" in out
    dataset = load_prepared_dataset(tmp_path / "ds")
    train = dataset.split("train")
    assert len(train) == 1 and int(train.text_mask.sum()) == 8
    assert [dataset.labels[i] for i in np.flatnonzero(train.labels[0])] == ["happy", "surprise"]
    record = json.loads((tmp_path / "ds" / "parts" / "part-000000.json").read_text())
    assert {f["key"].split("@")[0] for f in record["failures"]} == {"broken.mp4", "missing.wav"}


def test_unknown_label_names_the_line(tmp_path: Path, cli) -> None:
    (tmp_path / "c.tsv").write_text("fine words\thappy\nodd words\tjoyful\n", encoding="utf-8")
    code, _, err = cli(["prepare", str(tmp_path / "c.tsv"), "--out", str(tmp_path / "ds")])
    assert code == 2 and "line 2" in err and "joyful" in err


@pytest.fixture(scope="module")
def media_dataset(media_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    import main

    out = tmp_path_factory.mktemp("media_ds") / "ds"
    assert main.main(["prepare", str(media_corpus), "--out", str(out), "--aligned", "--quiet"]) == 0
    return load_prepared_dataset(out)


def test_media_windows_carry_face_voice_and_words(media_dataset) -> None:
    train, valid, test = (media_dataset.split(s) for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (2, 1, 1)
    for row in range(2):  # face clip: every word has a face and a voice under it
        words = int(train.text_mask[row].sum())
        assert 3 <= words <= 6
        assert train.visual_mask[row].sum() == words and train.audio_mask[row].sum() == words
    happy, sad = media_dataset.labels.index("happy"), media_dataset.labels.index("sad")
    assert train.labels[0, happy] == 1 and train.labels[1, sad] == 1
    assert valid.text_mask[0].sum() >= 3 and valid.audio_mask[0].any(), "audio file: words and voice"
    assert not valid.visual_mask[0].any(), "audio file: face missing"
    assert test.labels[0, happy] == 1 and test.labels[0, sad] == 1


def test_a_clip_with_two_sentences_gives_the_words_live_scores_at_its_end(media_dataset) -> None:
    """The live engine's utterance policy: the 0-8 s sample (happy, then sad) holds the sad sentence
    only, whole, and encoded exactly as the 4-8 s sample that is that sentence alone."""
    train, test = media_dataset.split("train"), media_dataset.split("test")
    sad_words = int(train.text_mask[1].sum())
    assert int(test.text_mask[0].sum()) == sad_words
    np.testing.assert_allclose(test.text[0], train.text[1], atol=1e-6)


def test_a_few_training_steps_give_checkpoints_the_predictor_loads(
    media_dataset, xed_lines, tmp_path: Path, cli
) -> None:
    from app.predictor import Predictor
    from trainer.loop import TrainSettings, config_for_dataset, default_small_config, fit

    base = default_small_config().replace(
        text_max_len=ALIGNED.text_steps, visual_max_len=32, audio_max_len=32, queue_size=8
    )
    settings = TrainSettings(epochs=2, batch_size=2, lr=1e-3, progress=False, eval_batch_size=4)
    media_run = fit(media_dataset, config_for_dataset(media_dataset, base), settings, tmp_path / "media")
    corpus = tmp_path / "xed.tsv"
    corpus.write_text("\n".join(xed_lines) + "\n", encoding="utf-8")
    assert cli(["prepare", str(corpus), "--out", str(tmp_path / "text"), "--aligned", "--quiet"])[0] == 0
    text_dataset = load_prepared_dataset(tmp_path / "text")
    text_settings = dataclasses.replace(settings, batch_size=8, absent_modalities=("visual", "audio"))
    text_run = fit(text_dataset, config_for_dataset(text_dataset, base), text_settings, tmp_path / "text_run")

    window = {
        k: getattr(media_dataset.split("train"), k)[0]
        for k in [f"{m}{suffix}" for m in MODALITIES for suffix in ("", "_mask")]
    }
    media_predictor = Predictor(media_run.checkpoint, smoothing_s=0)
    assert media_predictor.trained == {"text": True, "visual": True, "audio": True}
    assert media_predictor.lengths == ALIGNED.lengths
    scored = media_predictor.predict(window, 4.0)
    assert all(0 <= s <= 1 for s in scored.scores) and all(scored.scored.values())

    text_predictor = Predictor(text_run.checkpoint, smoothing_s=0)
    assert text_predictor.trained == {"text": True, "visual": False, "audio": False}
    only_words = text_predictor.predict(window, 4.0)
    assert only_words.present == {"text": True, "visual": True, "audio": True}
    assert only_words.scored == {"text": True, "visual": False, "audio": False}


def test_folders_named_by_label(tmp_path: Path, cli) -> None:
    root = tmp_path / "labelled"
    for folder, text in (("happy", "We won, this is the best day ever"), ("neutral", "The bus leaves at nine")):
        (root / folder).mkdir(parents=True)
        (root / folder / "line.txt").write_text(text, encoding="utf-8")
    code, _, err = cli(["prepare", root, "--out", tmp_path / "ds", "--split", "train", "--quiet"])
    assert code == 0, err
    dataset = load_prepared_dataset(tmp_path / "ds")
    train = dataset.split("train")
    assert train.labels.sum(axis=1).tolist() == [1.0, 0.0]  # happy/ first, neutral/ carries no label
    assert train.labels[0, dataset.labels.index("happy")] == 1
    assert train.text_mask.sum(axis=1).tolist() == [8.0, 5.0]


def test_workers_in_parallel_give_the_same_dataset(xed_lines, tmp_path: Path, cli) -> None:
    corpus = tmp_path / "xed.tsv"
    corpus.write_text("\n".join(xed_lines[:16]) + "\n", encoding="utf-8")
    for workers in (1, 2):
        args = ["prepare", corpus, "--out", tmp_path / f"w{workers}", "--chunk-size", "4", "--quiet"]
        assert cli(args + ["--workers", workers])[0] == 0
    one, two = load_prepared_dataset(tmp_path / "w1"), load_prepared_dataset(tmp_path / "w2")
    assert one.splits.keys() == two.splits.keys()
    for name in one.splits:
        assert np.allclose(one.split(name).text, two.split(name).text, atol=1e-5)
        assert np.array_equal(one.split(name).labels, two.split(name).labels)


def test_unaligned_media_windows_keep_the_most_recent_rows(media_corpus: Path, tmp_path: Path, cli) -> None:
    code, _, err = cli(
        ["prepare", media_corpus, "--out", tmp_path / "ds", "--unaligned", "--media-steps", "128", "--quiet"]
    )
    assert code == 0, err
    dataset = load_prepared_dataset(tmp_path / "ds")
    assert not dataset.aligned
    first = dataset.split("train")
    dims = default_feature_spec().dims
    assert first.visual.shape[1:] == (128, dims["visual"]) and first.audio.shape[1:] == (128, dims["audio"])
    assert first.visual_mask[0].sum() == 60, "4 s of 15 fps video with a face in every frame"
    # Voice rows come 20 a second while the last 1.2 s hold sound: the sentence (0.3 s to about 2 s) and after.
    assert 40 <= first.audio_mask[0].sum() < 71, "not the 71 rows of 4 s: the digital silence has none"
    assert not dataset.split("valid").visual_mask.any(), "the audio file has no face"


def test_a_modalities_column_keeps_only_the_named_streams(media_corpus: Path, tmp_path: Path, cli) -> None:
    # A voice corpus of neutral sentences read aloud (EmoDB): its words and face must train nothing.
    listing = tmp_path / "voice.csv"
    folder = media_corpus.parent
    listing.write_text(
        "path,labels,modalities\n"
        f"{folder / 'voice_only.wav'},angry,audio\n{folder / 'face_and_voice.mkv'},happy,audio\n",
        encoding="utf-8",
    )
    code, _, err = cli(["prepare", listing, "--out", tmp_path / "ds", "--split", "train", "--unaligned", "--quiet"])
    assert code == 0, err
    train = load_prepared_dataset(tmp_path / "ds").split("train")
    assert len(train) == 2 and train.audio_mask.sum(axis=1).min() >= 10, "the voice is kept"
    assert not train.text_mask.any() and not train.visual_mask.any(), "words and face are left missing"


def test_an_unknown_modality_is_refused_naming_the_known_ones(tmp_path: Path, cli) -> None:
    listing = tmp_path / "bad.csv"
    listing.write_text("path,labels,modalities\nclip.wav,angry,voice\n", encoding="utf-8")
    code, out, err = cli(["prepare", listing, "--out", tmp_path / "ds", "--quiet"])
    assert code != 0 and "unknown modalities ['voice']" in out + err and "'audio'" in out + err


def test_window_options_override_the_checkpoints_shape(xed_lines, tmp_path: Path, cli) -> None:
    corpus = tmp_path / "xed.tsv"
    corpus.write_text("\n".join(xed_lines[:8]) + "\n", encoding="utf-8")
    base = ["prepare", corpus, "--split", "train", "--quiet", "--checkpoint", default_checkpoint()]
    code, out, err = cli([*base, "--out", tmp_path / "aligned", "--aligned", "--text-steps", "16"])
    assert code == 0, err
    assert "changed by the options given" in out
    aligned = load_prepared_dataset(tmp_path / "aligned")
    assert aligned.aligned and aligned.split("train").text.shape[1] == 16
    code, _, err = cli(["prepare", corpus, "--out", tmp_path / "x", "--checkpoint", tmp_path / "missing.safetensors"])
    assert code == 2 and "no checkpoint at" in err


def test_prepare_then_evaluate_with_the_default_checkpoint_needs_no_shape_option(tmp_path: Path, cli) -> None:
    """A new user's first run: `main.py prepare sentences.tsv --out d` then `main.py evaluate --checkpoint
    models/carat_default.safetensors --data d`, no window option anywhere. The sentences are the repository's
    plain statements (tests/data/plain_statements.tsv; neutral ones carry no label)."""
    checkpoint = default_checkpoint()
    assert checkpoint.relative_to(checkpoint.parents[1]) == Path("models/carat_default.safetensors")
    rows = [line.split("\t") for line in PLAIN_STATEMENTS.read_text("utf-8").splitlines() if not line.startswith("#")]
    sentences = tmp_path / "sentences.tsv"
    sentences.write_text("".join(f"{s}\t{'' if label == 'neutral' else label}\n" for s, label in rows), "utf-8")
    code, _, err = cli(["prepare", sentences, "--out", tmp_path / "d", "--quiet"])
    assert code == 0, err
    code, out, err = cli(["evaluate", "--checkpoint", checkpoint, "--data", tmp_path / "d"])
    assert code == 0, err
    tested = len(load_prepared_dataset(tmp_path / "d").split("test"))
    assert tested > 0 and f"[test, {tested} samples]" in out, out
    figures = dict(line.split() for line in out.splitlines() if re.fullmatch(r"\w+\s+[0-9.]+", line))
    assert {"micro_f1", "macro_f1"} <= set(figures) and all(0 <= float(v) <= 1 for v in figures.values()), out
