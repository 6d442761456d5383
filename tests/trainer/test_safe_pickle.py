"""Benchmark feature files are read without running code from them."""

import argparse
import pickle

import numpy as np
import pytest
import torch

from tests.malicious import touches
from trainer.datasets import DatasetError, load_dataset
from trainer.safe_pickle import UnsafePickleError, load_feature_file


def _layout_with(payload) -> dict:
    return {"train": {"src-text": [np.zeros((2, 3), np.float32)], "tgt": [[2, 4, 3]], "note": payload}}


def test_malicious_plain_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "mosei_senti_data_noalign.pkl"
    path.write_bytes(pickle.dumps(_layout_with(touches(marker))))
    with pytest.raises(UnsafePickleError, match=r"posix\.system|os\.system"):
        load_feature_file(path)
    assert not marker.exists()


def test_malicious_torch_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "train_valid_test.pt"
    torch.save(_layout_with(touches(marker)), path)
    with pytest.raises(UnsafePickleError, match="refusing to load"):
        load_feature_file(path)
    assert not marker.exists()


def test_dataset_reader_reports_a_refused_file_as_a_dataset_error(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(_layout_with(touches(marker))))
    with pytest.raises(DatasetError, match="refusing to unpickle"):
        load_dataset(path, "aligned")
    assert not marker.exists()


def test_numpy_arrays_lists_and_dicts_load_from_both_kinds_of_file(tmp_path):
    value = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, 2.5, "x", b"raw"], "c": np.int64(7)}
    plain, archive = tmp_path / "x.pkl", tmp_path / "x.pt"
    plain.write_bytes(pickle.dumps(value, protocol=2))
    torch.save(value, archive)
    for path in (plain, archive):
        loaded = load_feature_file(path)
        np.testing.assert_array_equal(loaded["a"], value["a"])
        assert loaded["b"] == value["b"] and int(loaded["c"]) == 7


def test_build_settings_namespace_is_read_as_inert_attributes(tmp_path):
    value = {"settings": argparse.Namespace(max_len=60, lower=True)}
    plain, archive = tmp_path / "with_settings.pkl", tmp_path / "with_settings.pt"
    plain.write_bytes(pickle.dumps(value))
    torch.save(value, archive)
    for path in (plain, archive):
        settings = load_feature_file(path)["settings"]
        assert not isinstance(settings, argparse.Namespace)
        assert settings.as_dict() == {"max_len": 60, "lower": True}


def test_truncated_pickle_gets_a_clear_error(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"train": list(range(1000))})[:50])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_feature_file(path)
