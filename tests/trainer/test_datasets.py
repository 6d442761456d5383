"""Reading the official layouts (written by our synthetic generator) and our prepared format."""

import copy
import json
import pickle

import numpy as np
import pytest
import torch

from carat_model.model import SoftAlignment
from trainer.batching import make_batch
from trainer.datasets import (
    M3ED_LABELS,
    DatasetError,
    FeatureSplit,
    load_dataset,
    load_prepared_dataset,
    write_prepared_dataset,
)
from trainer.synthetic import unaligned_layout, write_official_aligned


def test_aligned_file_reads_features_masks_and_labels(tiny_synthetic, tiny_file):
    dataset = load_dataset(tiny_file)
    assert dataset.aligned and dataset.labels == ("happy", "sad", "angry", "surprise", "disgust", "fear")
    assert dataset.feature_dims() == {"text": 10, "visual": 6, "audio": 8}
    train = dataset.split("train")
    np.testing.assert_array_equal(train.labels, tiny_synthetic.labels["train"])
    lengths = [len(s) for s in tiny_synthetic.layout["train"]["src-text"]]
    np.testing.assert_array_equal(train.text_mask.sum(1), lengths)
    first = tiny_synthetic.layout["train"]["src-visual"][0]
    np.testing.assert_array_equal(train.visual[0, : len(first)], first)
    assert not train.visual[0, len(first) :].any()  # zero padding, masked


def test_audio_minus_infinity_reads_as_zero(tiny_synthetic, tmp_path):
    layout = copy.deepcopy(tiny_synthetic.layout)
    layout["valid"]["src-audio"][0][1, 2] = -np.inf
    dataset = load_dataset(write_official_aligned(tmp_path / "inf.pt", layout))
    valid = dataset.split("valid")
    assert np.isfinite(valid.audio).all()
    assert valid.audio[0, 1, 2] == 0.0
    assert valid.audio[0, 1, 3] == layout["valid"]["src-audio"][0][1, 3]


def test_authors_masks_mark_padding_as_real(tiny_file):
    dataset = load_dataset(tiny_file, authors_masks=True)
    assert (dataset.split("train").text_mask == 1).all()


def test_file_without_a_split_is_refused_with_what_is_missing(tiny_synthetic, tmp_path):
    layout = {k: v for k, v in tiny_synthetic.layout.items() if k != "valid"}
    with pytest.raises(DatasetError, match="no 'valid' split"):
        load_dataset(write_official_aligned(tmp_path / "x.pt", layout))


def test_split_without_a_modality_is_refused_naming_it(tiny_synthetic, tmp_path):
    layout = copy.deepcopy(tiny_synthetic.layout)
    del layout["test"]["src-audio"]
    with pytest.raises(DatasetError, match=r"split 'test' lacks \['src-audio'\]"):
        load_dataset(write_official_aligned(tmp_path / "x.pt", layout))


def test_samples_with_other_feature_sizes_are_refused(tiny_synthetic, tmp_path):
    layout = copy.deepcopy(tiny_synthetic.layout)
    layout["train"]["src-visual"][5] = np.zeros((len(layout["train"]["src-visual"][5]), 7), np.float32)
    with pytest.raises(DatasetError, match=r"visual feature sizes differ between samples: \[6, 7\]"):
        load_dataset(write_official_aligned(tmp_path / "x.pt", layout))


def test_mosei_kind_refuses_other_feature_sizes(tiny_file):
    with pytest.raises(DatasetError, match="text features of size 10 but CMU-MOSEI .* expects 300"):
        load_dataset(tiny_file, "mosei-aligned")


def test_aligned_modalities_of_different_lengths_are_refused(tiny_synthetic, tmp_path):
    layout = copy.deepcopy(tiny_synthetic.layout)
    layout["train"]["src-audio"][2] = layout["train"]["src-audio"][2][:-1]
    with pytest.raises(DatasetError, match="sample 2: aligned modalities must share one length"):
        load_dataset(write_official_aligned(tmp_path / "x.pt", layout))


def test_m3ed_reads_seven_labels_and_mosei_refuses_their_ids(tiny_synthetic, tmp_path):
    layout = copy.deepcopy(tiny_synthetic.layout)
    layout["train"]["tgt"][0] = [2, 10, 3]  # id 10: the 7th M3ED label (surprise)
    path = write_official_aligned(tmp_path / "m3ed.pt", layout)
    m3ed = load_dataset(path, "m3ed")
    assert m3ed.labels == M3ED_LABELS and m3ed.split("train").labels[0].tolist() == [0, 0, 0, 0, 0, 0, 1]
    with pytest.raises(DatasetError, match="label id 10"):
        load_dataset(path, "aligned")


def test_unaligned_pickle_takes_labels_from_the_aligned_file(tiny_synthetic, tiny_file, unaligned_file):
    path = unaligned_file
    dataset = load_dataset(path, labels_from=tiny_file)
    assert not dataset.aligned
    assert dataset.max_steps() == {"text": 12, "visual": 30, "audio": 30}
    np.testing.assert_array_equal(dataset.split("test").labels, tiny_synthetic.labels["test"])
    batch = make_batch(dataset.split("test"), [0, 1], SoftAlignment(7))
    assert batch.inputs.visual.shape == (2, 30, 6) and batch.inputs.visual_mask.shape == (2, 7)
    with pytest.raises(DatasetError, match="--labels-from"):
        load_dataset(path)


def test_unaligned_pickle_with_other_sample_counts_than_the_labels_is_refused(
    tiny_synthetic, tiny_file, tmp_path
):
    layout = unaligned_layout(tiny_synthetic.layout, {"text": 12, "visual": 30, "audio": 30})
    layout["valid"] = {k: v[:-1] for k, v in layout["valid"].items()}
    path = tmp_path / "short.pkl"
    path.write_bytes(pickle.dumps(layout))
    with pytest.raises(DatasetError, match="'valid' has \\[31\\] samples but .* lists 32 labels"):
        load_dataset(path, labels_from=tiny_file)


def test_batches_cut_steps_that_are_padding_everywhere(tiny_file):
    split = load_dataset(tiny_file).split("train")
    lengths = split.text_mask.sum(1)
    indices = np.argsort(lengths)[:3]
    batch = make_batch(split, indices)
    assert batch.inputs.text.shape[1] == int(lengths[indices].max())
    assert torch.equal(batch.labels, torch.from_numpy(split.labels[indices]))


SPEC = {"version": 2, "text": {"name": "minilm", "dim": 10}, "visual": {"dim": 6}, "audio": {"dim": 8}}


def test_prepared_dataset_round_trips_with_feature_spec_and_labels(tiny_file, tmp_path):
    official = load_dataset(tiny_file)
    folder = write_prepared_dataset(
        tmp_path / "prepared",
        official.splits,
        labels=official.labels,
        aligned=True,
        feature_spec=SPEC,
        shard_samples=40,
    )
    index = json.loads((folder / "index.json").read_text())
    assert [s["samples"] for s in index["splits"]["train"]["shards"]] == [40, 40, 16]
    prepared = load_dataset(folder)  # a folder is read as a prepared dataset
    assert prepared.feature_spec == SPEC and prepared.labels == official.labels and prepared.aligned
    for name in ("train", "valid", "test"):
        for key, value in vars(official.split(name)).items():
            np.testing.assert_array_equal(getattr(prepared.split(name), key), value, err_msg=f"{name}/{key}")


def test_a_modality_no_sample_has_is_stored_as_one_step_and_reads_back_padded(tiny_file, tmp_path):
    official = load_dataset(tiny_file).split("train")
    words_only = FeatureSplit(
        **{
            **vars(official),
            "audio": np.zeros_like(official.audio),
            "audio_mask": np.zeros_like(official.audio_mask),
        }
    )
    words_only.visual[40:] = 0.0  # the second shard has no face at all, the first one has
    words_only.visual_mask[40:] = 0.0
    folder = write_prepared_dataset(
        tmp_path / "words", {"train": words_only}, labels=load_dataset(tiny_file).labels, aligned=True, feature_spec=SPEC,
        shard_samples=40,
    )
    from safetensors.numpy import load_file

    first, second = (load_file(str(folder / f"train-0000{n}.safetensors")) for n in (0, 1))
    assert first["audio"].shape[1] == 1 and second["visual"].shape[1] == 1  # no padding stored
    assert first["visual"].shape[1] == official.visual.shape[1]  # present: full length, padding kept
    read = load_prepared_dataset(folder).split("train")
    np.testing.assert_array_equal(read.visual, words_only.visual)  # padded back where shards differ
    np.testing.assert_array_equal(read.visual_mask, words_only.visual_mask)
    assert read.audio.shape[1] == 1 and not read.audio_mask.any()
    batch = make_batch(read, [0, 50])
    assert batch.inputs.audio.shape[:2] == (2, 1) and not batch.inputs.audio_mask.any()


def test_prepared_folder_without_index_is_refused(tmp_path):
    (tmp_path / "train-00000.safetensors").write_bytes(b"")
    with pytest.raises(DatasetError, match="no index.json"):
        load_prepared_dataset(tmp_path)


def test_prepared_dataset_with_a_missing_shard_is_refused(tiny_file, tmp_path):
    official = load_dataset(tiny_file)
    folder = write_prepared_dataset(
        tmp_path / "p", official.splits, labels=official.labels, aligned=True, feature_spec=None
    )
    (folder / "valid-00000.safetensors").unlink()
    with pytest.raises(DatasetError, match="cannot read shard .*valid-00000"):
        load_prepared_dataset(folder)


def test_prepared_writer_refuses_nan_and_wrong_label_counts(tiny_file, tmp_path):
    split = load_dataset(tiny_file).split("valid")
    broken = FeatureSplit(**{**vars(split), "audio": np.full_like(split.audio, np.nan)})
    with pytest.raises(DatasetError, match="audio features contain NaN"):
        write_prepared_dataset(
            tmp_path / "a", {"train": broken}, labels=tuple("abcdef"), aligned=True, feature_spec=None
        )
    with pytest.raises(DatasetError, match=r"labels have shape \(32, 6\), expected \(32, 5\)"):
        write_prepared_dataset(
            tmp_path / "b", {"train": split}, labels=tuple("abcde"), aligned=True, feature_spec=None
        )


def test_nan_features_are_refused_with_their_place(tiny_synthetic, tmp_path):
    layout = copy.deepcopy(tiny_synthetic.layout)
    layout["test"]["src-visual"][4][2, 1] = np.nan
    with pytest.raises(
        DatasetError, match="visual features hold 1 NaN/inf values \\(first: sample 4, step 2, feature 1\\)"
    ):
        load_dataset(write_official_aligned(tmp_path / "nan.pt", layout))


def test_soft_alignment_counts_a_stream_only_from_its_fewest_rows(tiny_synthetic, tiny_file, unaligned_file) -> None:
    # The rule the predictor follows holds in training batches too: a voice of fewer rows than the
    # model's audio_min_rows is missing (all padding), one of as many rows is present.
    split = load_dataset(unaligned_file, labels_from=tiny_file).split("test")
    rows = split.mask("audio").sum(axis=1)
    fewest = int(rows[:2].min())
    assert fewest > 1
    passes = make_batch(split, [0, 1], SoftAlignment(7, (("audio", fewest),)))
    assert passes.inputs.audio_mask.min() == 1.0
    fails = make_batch(split, [0, 1], SoftAlignment(7, (("audio", fewest + 1),)))
    assert fails.inputs.audio_mask[rows[:2] == fewest].max() == 0.0
    assert fails.inputs.visual_mask.min() == 1.0  # the face has its own rule
