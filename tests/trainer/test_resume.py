"""--resume continues an interrupted run to the same result as an uninterrupted one (same seed, CPU)."""

import pytest
import torch

from carat_model import read_checkpoint_info
from trainer.datasets import load_dataset
from trainer.loop import STATE_FILE, TrainSettings, config_for_dataset, default_small_config, fit

SETTINGS = TrainSettings(epochs=3, batch_size=16, lr=3e-3, seed=7, modality_dropout=0.3, progress=False)


def _timing_free(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "samples_per_s")} for row in history]


@pytest.fixture(scope="module")
def dataset(tiny_file):
    return load_dataset(tiny_file)


def test_resumed_run_ends_with_the_same_weights_buffers_and_metrics(dataset, tmp_path):
    config = config_for_dataset(dataset, default_small_config())
    straight = fit(dataset, config, SETTINGS, tmp_path / "straight")

    stopped = fit(
        dataset, config, TrainSettings(**{**vars(SETTINGS), "stop_after_epoch": 1}), tmp_path / "resumed"
    )
    assert not stopped.finished and stopped.epochs_done == 1 and stopped.checkpoint is None
    resumed = fit(dataset, config, SETTINGS, tmp_path / "resumed", resume=True)

    assert resumed.finished and resumed.epochs_done == 3
    straight_state, resumed_state = straight.model.state_dict(), resumed.model.state_dict()
    assert straight_state.keys() == resumed_state.keys()
    for name, tensor in straight_state.items():
        assert torch.equal(tensor, resumed_state[name]), name  # parameters and buffers (queue, prototypes)
    assert (straight_state["queue_labels"] >= 0).all()  # the queue holds real entries, not its start values
    assert _timing_free(resumed.history) == _timing_free(straight.history)
    assert resumed.thresholds == straight.thresholds and resumed.best_epoch == straight.best_epoch
    assert (
        read_checkpoint_info(resumed.checkpoint).extra["test_metrics"]
        == read_checkpoint_info(straight.checkpoint).extra["test_metrics"]
    )


def test_resume_with_other_settings_is_refused(dataset, tmp_path):
    config = config_for_dataset(dataset, default_small_config())
    fit(dataset, config, TrainSettings(**{**vars(SETTINGS), "stop_after_epoch": 1}), tmp_path)
    with pytest.raises(ValueError, match="other settings or model sizes"):
        fit(dataset, config, TrainSettings(**{**vars(SETTINGS), "lr": 1e-4}), tmp_path, resume=True)


def test_resume_without_a_training_state_says_so(dataset, tmp_path):
    config = config_for_dataset(dataset, default_small_config())
    with pytest.raises(FileNotFoundError, match=f"no {STATE_FILE}"):
        fit(dataset, config, SETTINGS, tmp_path, resume=True)


def test_training_state_is_read_back_with_weights_only(dataset, tmp_path):
    config = config_for_dataset(dataset, default_small_config())
    fit(dataset, config, TrainSettings(**{**vars(SETTINGS), "stop_after_epoch": 1}), tmp_path)
    state = torch.load(tmp_path / STATE_FILE, weights_only=True)
    assert state["epoch"] == 1 and "optimizer" in state and "schedule" in state
    assert set(state["rng"]) >= {"torch", "numpy", "python", "shuffle", "modality_dropout"}
