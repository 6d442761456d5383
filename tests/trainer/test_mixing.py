"""Mixed-source training: sources kept apart, fixed shares of every batch, one model trained on all."""

import json

import numpy as np
import pytest
import torch

from carat_model import MODALITIES
from trainer.batching import make_batch
from trainer.datasets import DatasetError, FeatureDataset, FeatureSplit, load_dataset
from trainer.loop import TrainSettings, config_for_dataset, default_small_config, fit
from trainer.mixing import MixedSplit, SourceSampling, SourceShareSampler, mix_datasets, share_counts


def only(split: FeatureSplit, keep: str) -> FeatureSplit:
    """The split with every stream but `keep` missing (stored as one step, as prepare stores it)."""
    arrays = dict(vars(split))
    for m in MODALITIES:
        if m != keep:
            arrays[m] = np.zeros((len(split), 1, split.features(m).shape[2]), np.float32)
            arrays[f"{m}_mask"] = np.zeros((len(split), 1), np.float32)
    return FeatureSplit(**arrays)


@pytest.fixture(scope="module")
def sources(tiny_file):
    """Two single-stream sources cut from the synthetic set: words only, and face only."""
    official = load_dataset(tiny_file)

    def source(keep):
        splits = {name: only(split, keep) for name, split in official.splits.items()}
        return FeatureDataset(keep, official.labels, official.aligned, splits, feature_spec=None)

    return {"words": source("text"), "faces": source("visual")}


def test_pieces_keep_each_source_as_short_as_its_own_streams(sources):
    """A training step runs one piece per source: the words piece holds its words and one padding step of
    face, the face piece its frames and one padding step of words, each piece the source's own batch."""
    mixed = mix_datasets(sources, SourceSampling({"words": 1, "faces": 1}, steps_per_epoch=3)).split("train")
    words, faces = mixed.part("words"), mixed.part("faces")
    indices = np.array([len(words) + 2, 0, len(words), 5])  # face, word, face, word
    word_piece, face_piece = mixed.pieces(indices)
    assert torch.equal(word_piece.inputs.text, make_batch(words, [0, 5]).inputs.text)
    assert torch.equal(face_piece.inputs.visual, make_batch(faces, [2, 0]).inputs.visual)
    assert word_piece.inputs.visual.shape[1] == 1 and face_piece.inputs.text.shape[1] == 1
    assert mixed.batch(indices).inputs.visual.shape[1] == face_piece.inputs.visual.shape[1] > 1


def test_share_counts_fill_the_batch_and_keep_every_source():
    assert share_counts({"a": 0.5, "b": 0.3, "c": 0.2}, ("a", "b", "c"), 10) == {"a": 5, "b": 3, "c": 2}
    counts = share_counts({"a": 0.98, "b": 0.01, "c": 0.01}, ("a", "b", "c"), 16)
    assert sum(counts.values()) == 16 and counts["b"] >= 1 and counts["c"] >= 1


def test_mixed_batch_equals_each_source_batch_in_the_asked_order(sources):
    mixed = mix_datasets(sources, SourceSampling({"words": 1, "faces": 1}, steps_per_epoch=3)).split("train")
    words, faces = mixed.part("words"), mixed.part("faces")
    indices = np.array([len(words) + 2, 0, len(words), 5])  # face, word, face, word
    batch = mixed.batch(indices)
    expected_faces = make_batch(faces, [2, 0])
    expected_words = make_batch(words, [0, 5])
    steps = batch.inputs.visual.shape[1]
    assert torch.equal(
        batch.inputs.visual[[0, 2], : expected_faces.inputs.visual.shape[1]], expected_faces.inputs.visual
    )
    assert not batch.inputs.visual[[1, 3]].any() and not batch.inputs.visual_mask[[1, 3]].any()
    assert torch.equal(batch.inputs.text[[1, 3], : expected_words.inputs.text.shape[1]], expected_words.inputs.text)
    assert not batch.inputs.text_mask[[0, 2]].any()
    assert torch.equal(batch.labels, torch.from_numpy(mixed.labels[indices]))
    assert batch.inputs.visual_mask.shape == (4, steps)


def test_every_batch_holds_each_source_share_and_the_order_follows_seed_and_epoch(sources):
    mixed = mix_datasets(sources, SourceSampling({"words": 3, "faces": 1}, steps_per_epoch=20)).split("train")
    sampler = SourceShareSampler(mixed, batch_size=8, seed=4)
    batches = list(sampler)
    assert len(batches) == 20
    first_face = len(mixed.part("words"))
    for batch in batches:
        assert sum(i >= first_face for i in batch) == 2 and sum(i < first_face for i in batch) == 6
    # Each source is drawn without replacement until it runs out.
    faces = [i for batch in batches for i in batch if i >= first_face][: len(mixed.part("faces"))]
    assert len(set(faces)) == len(faces)
    sampler.set_epoch(1)
    assert list(sampler) != batches
    sampler.set_epoch(0)
    assert list(sampler) == batches


def test_one_model_learns_from_both_sources_and_chooses_its_epoch_by_both(sources, tmp_path):
    mixed = mix_datasets(sources, SourceSampling({"words": 1, "faces": 1}, steps_per_epoch=12))
    assert isinstance(mixed.split("valid"), MixedSplit)
    config = config_for_dataset(sources["words"], default_small_config())
    settings = TrainSettings(epochs=3, batch_size=16, lr=3e-3, seed=1, progress=False)
    result = fit(mixed, config, settings, tmp_path / "run")
    assert result.finished and result.checkpoint is not None
    for record in result.history:
        assert {"valid_words_micro_f1", "valid_faces_micro_f1"} <= set(record)
        assert record["valid_choice"] == pytest.approx(
            (record["valid_words_micro_f1"] + record["valid_faces_micro_f1"]) / 2
        )
    chosen = max(result.history, key=lambda r: r["valid_choice"])
    assert result.best_epoch == chosen["epoch"]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert "valid_faces_micro_f1" in json.loads(lines[-1])


def test_sources_whose_stream_sizes_differ_are_refused_naming_both(sources):
    wide = sources["faces"].splits["train"]
    narrow = FeatureSplit(**{**vars(wide), "visual": wide.visual[:, :, :3]})
    other = FeatureDataset("narrow", sources["faces"].labels, True, {"train": narrow})
    with pytest.raises(ValueError, match=r"visual features are 3 wide in source narrow but 6 in faces"):
        mix_datasets({"faces": sources["faces"], "narrow": other}, SourceSampling({"faces": 1}, 1))


def test_a_pair_puts_a_neutral_partner_beside_the_primary_and_keeps_the_primary_labels(sources):
    """A "words+faces" window: a sentence with its labels, and beside it a face whose labels are all 0."""
    sampling = SourceSampling({"words": 2, "faces": 1}, steps_per_epoch=6, pairs={"words+faces": 1})
    mixed = mix_datasets(sources, sampling).split("train")
    first_face = len(mixed.part("words"))
    neutral = set(mixed.neutral_indices("faces").tolist())
    assert neutral and len(neutral) < len(mixed.part("faces")), "the synthetic faces hold neutral and emotional ones"
    for batch in SourceShareSampler(mixed, batch_size=8, seed=3):
        pairs = [i for i in batch if isinstance(i, tuple)]
        assert len(pairs) == 2 and len(batch) == 8
        assert all(name == "words+faces" and own < first_face and partner in neutral for name, own, partner in pairs)
    pairs = [("words+faces", 0, min(neutral)), ("words+faces", 4, max(neutral))]
    (piece,) = mixed.pieces(pairs)
    words = make_batch(mixed.part("words"), [0, 4])
    faces = make_batch(mixed.part("faces"), [p - first_face for _, _, p in pairs])
    assert torch.equal(piece.inputs.text, words.inputs.text)
    assert torch.equal(piece.inputs.visual, faces.inputs.visual) and piece.inputs.visual_mask.all(dim=1).any()
    assert torch.equal(piece.labels, words.labels)


def test_a_joint_window_takes_any_partner_and_the_labels_of_both(sources):
    """A "words&faces" window: a sentence beside a face, emotional or not, and each label at the higher of
    the two (a smiling face with sad words is happy and sad)."""
    sampling = SourceSampling({"words": 2, "faces": 1}, steps_per_epoch=20, pairs={"words&faces": 1})
    mixed = mix_datasets(sources, sampling).split("train")
    first_face = len(mixed.part("words"))
    partners = set()
    for batch in SourceShareSampler(mixed, batch_size=8, seed=3):
        joint = [i for i in batch if isinstance(i, tuple)]
        assert len(joint) == 2 and all(
            len(i) == 3 and i[0] == "words&faces" and i[1] < first_face <= i[2] for i in joint
        )
        partners |= {i[2] for i in joint}
    assert partners - set(mixed.neutral_indices("faces").tolist()), "emotional faces are partners too"
    emotional = max(partners, key=lambda i: mixed.labels[i].sum())
    (piece,) = mixed.pieces([("words&faces", 0, emotional), ("words&faces", 4, emotional)])
    words = make_batch(mixed.part("words"), [0, 4])
    face = make_batch(mixed.part("faces"), [emotional - first_face] * 2)
    assert torch.equal(piece.inputs.text, words.inputs.text) and torch.equal(piece.inputs.visual, face.inputs.visual)
    assert torch.equal(piece.labels, torch.maximum(words.labels, face.labels))
    assert not torch.equal(piece.labels, words.labels), "the face's labels count"
    (primary_only,) = mixed.pieces([("words+faces", 0, emotional), ("words+faces", 4, emotional)])
    assert torch.equal(primary_only.labels, words.labels), "a '+' pair keeps the primary's labels"


def test_a_pair_of_an_unknown_source_or_of_a_source_with_no_neutral_sample_is_refused(sources):
    with pytest.raises(ValueError, match="primary\\+partner"):
        SourceSampling({"words": 1}, steps_per_epoch=1, pairs={"words": 1})
    with pytest.raises(ValueError, match="primary&partner"):
        SourceSampling({"words": 1}, steps_per_epoch=1, pairs={"words&faces+words": 1})
    unknown = mix_datasets(sources, SourceSampling({"words": 1}, 1, pairs={"words+voice": 1})).split("train")
    with pytest.raises(ValueError, match="unknown sources \\['voice'\\]"):
        SourceShareSampler(unknown, batch_size=4, seed=0)
    emotional = dict(sources)
    faces = emotional["faces"]
    train = faces.split("train")
    emotional["faces"] = FeatureDataset(
        "faces",
        faces.labels,
        faces.aligned,
        {**faces.splits, "train": FeatureSplit(**{**vars(train), "labels": np.ones_like(train.labels)})},
        feature_spec=None,
    )
    mixed = mix_datasets(emotional, SourceSampling({"words": 1}, 1, pairs={"words+faces": 1})).split("train")
    with pytest.raises(DatasetError, match="every label 0"):
        SourceShareSampler(mixed, batch_size=4, seed=0)


def test_a_chained_window_puts_a_neutral_partner_of_each_other_stream_beside_the_primary(sources, tiny_file):
    """A "words+faces+voices" window: the live path's three-stream window, a sentence with its labels beside a neutral
    face and a neutral voice; a chain with two samples of one stream is refused."""
    official = load_dataset(tiny_file)
    voices = FeatureDataset(
        "voices",
        official.labels,
        official.aligned,
        {name: only(split, "audio") for name, split in official.splits.items()},
        feature_spec=None,
    )
    three = {**sources, "voices": voices}
    sampling = SourceSampling({"words": 2, "faces": 1, "voices": 1}, steps_per_epoch=4, pairs={"words+faces+voices": 2})
    mixed = mix_datasets(three, sampling).split("train")
    first_face, first_voice = len(mixed.part("words")), len(mixed.part("words")) + len(mixed.part("faces"))
    neutral = set(mixed.neutral_indices("faces").tolist()) | set(mixed.neutral_indices("voices").tolist())
    sampler = SourceShareSampler(mixed, batch_size=8, seed=1)
    windows = [i for batch in sampler for i in batch if isinstance(i, tuple)]
    assert len(windows) == 4 * sampler.counts["words+faces+voices"] > 0
    assert all(len(w) == 4 and w[1] < first_face <= w[2] < first_voice <= w[3] for w in windows)
    assert {w[2] for w in windows} | {w[3] for w in windows} <= neutral
    (piece,) = mixed.pieces(windows[:3])
    rows = [w[1] for w in windows[:3]]
    words = make_batch(mixed.part("words"), rows)
    face = make_batch(mixed.part("faces"), [w[2] - first_face for w in windows[:3]])
    voice = make_batch(mixed.part("voices"), [w[3] - first_voice for w in windows[:3]])
    assert torch.equal(piece.inputs.text, words.inputs.text) and torch.equal(piece.inputs.visual, face.inputs.visual)
    assert torch.equal(piece.inputs.audio, voice.inputs.audio) and piece.inputs.audio_mask.any()
    assert torch.equal(piece.labels, words.labels)
    same_stream = {**three, "faces_too": sources["faces"]}
    sampling = SourceSampling({"words": 1}, 1, pairs={"words+faces+faces_too": 1})
    with pytest.raises(ValueError, match="two samples of one stream"):
        SourceShareSampler(mix_datasets(same_stream, sampling).split("train"), batch_size=4, seed=0)
