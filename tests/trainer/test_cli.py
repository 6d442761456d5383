"""main.py make-synthetic, train and evaluate, end to end through the real command line."""

import json

import pytest

import main
from carat_model import read_checkpoint_info


def train_small(data, run, *options: str) -> int:
    """`main.py train` of the small preset on `data` into `run`, quietly, with `options` (default 1 epoch).
    A model of a few steps predicts every label: kept (--keep-degenerate), for these tests of the plumbing."""
    epochs = [] if "--epochs" in options else ["--epochs", "1"]
    argv = ["train", "--data", str(data), "--preset", "small", *epochs, "--batch-size", "16", "--keep-degenerate"]
    argv += options
    return main.main([*argv, "--out", str(run), "--quiet"])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "synthetic.pt"
    assert (
        main.main(
            [
                "make-synthetic",
                "--out",
                str(data),
                "--train",
                "64",
                "--valid",
                "32",
                "--test",
                "32",
                "--text-dim",
                "8",
                "--visual-dim",
                "6",
                "--audio-dim",
                "5",
                "--max-steps",
                "10",
            ]
        )
        == 0
    )
    run = folder / "run"
    assert train_small(data, run, "--epochs", "2", "--lr", "3e-3") == 0
    return data, run


def test_train_writes_a_checkpoint_for_the_data(trained_run):
    _, run = trained_run
    info = read_checkpoint_info(run / "model.safetensors")
    assert (info.config.text_dim, info.config.visual_dim, info.config.audio_dim) == (8, 6, 5)
    assert info.config.hidden == 32 and info.config.label_thresholds is not None
    assert info.extra["epochs"] == 2


def test_evaluate_prints_the_metrics_the_training_run_reported(trained_run, capsys):
    data, run = trained_run
    capsys.readouterr()
    assert main.main(["evaluate", "--checkpoint", str(run / "model.safetensors"), "--data", str(data), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    recorded = read_checkpoint_info(run / "model.safetensors").extra["test_metrics"]
    assert printed["samples"] == 32 and printed["acc_empty_match"] == 0.0
    assert printed["micro_f1"] == pytest.approx(recorded["micro_f1"])
    assert printed["accuracy"] == pytest.approx(recorded["accuracy"])


def test_evaluate_refuses_data_with_other_feature_sizes(trained_run, tmp_path, capsys):
    _, run = trained_run
    other = tmp_path / "other.pt"
    assert (
        main.main(
            [
                "make-synthetic",
                "--out",
                str(other),
                "--train",
                "8",
                "--valid",
                "8",
                "--test",
                "8",
                "--text-dim",
                "8",
                "--visual-dim",
                "7",
                "--audio-dim",
                "5",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main.main(["evaluate", "--checkpoint", str(run / "model.safetensors"), "--data", str(other)]) == 2
    error = capsys.readouterr().err
    assert "visual features of size 7" in error and "expects 6" in error


def test_train_reports_a_file_of_the_wrong_layout(tmp_path, capsys):
    import torch

    wrong = tmp_path / "wrong.pt"
    torch.save({"training": {}, "validation": {}}, wrong)
    assert main.main(["train", "--data", str(wrong), "--out", str(tmp_path / "run")]) == 2
    assert "has no 'train' split" in capsys.readouterr().err


def test_train_on_unaligned_data_with_labels_from_the_aligned_file(unaligned_file, tiny_file, tmp_path):
    data = unaligned_file
    run = tmp_path / "run"
    assert train_small(data, run, "--labels-from", str(tiny_file), "--unaligned-steps", "10") == 0
    info = read_checkpoint_info(run / "model.safetensors")
    assert not info.config.aligned and info.config.unaligned_steps == 10
    assert info.extra["test_metrics"]["micro_f1"] >= 0


def test_training_on_a_prepared_dataset_stores_its_feature_spec(tiny_file, tmp_path, capsys):
    from trainer.datasets import load_dataset, write_prepared_dataset

    official = load_dataset(tiny_file)
    spec = {"version": 1, "visual": {"extractor": "face-mesh", "dim": 6}}
    folder = write_prepared_dataset(
        tmp_path / "prepared", official.splits, labels=official.labels, aligned=True, feature_spec=spec
    )
    run = tmp_path / "run"
    assert train_small(folder, run) == 0
    assert read_checkpoint_info(run / "model.safetensors").feature_spec == spec
    # Data made with other extractors is refused by evaluate, naming both specs.
    other = write_prepared_dataset(
        tmp_path / "other",
        official.splits,
        labels=official.labels,
        aligned=True,
        feature_spec={**spec, "version": 2},
    )
    capsys.readouterr()
    assert main.main(["evaluate", "--checkpoint", str(run / "model.safetensors"), "--data", str(other)]) == 2
    assert "FeatureSpec" in capsys.readouterr().err
