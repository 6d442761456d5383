"""A trained CARAT clears a micro-F1 bar on synthetic data that no model ignoring a modality can reach.

The generator (trainer/synthetic.py) puts one label in each modality alone and three labels in pairs of
modalities. Even a perfect predictor that ignores one modality (it knows the other modalities' hidden
bits exactly) reaches about 0.77-0.79 micro-F1 on these splits; the bar is above that.
"""

import pytest

from carat_model import MODALITIES, read_checkpoint_info
from trainer.datasets import load_dataset
from trainer.loop import TrainSettings, config_for_dataset, default_small_config, fit, score_split
from trainer.synthetic import (
    SyntheticSizes,
    best_micro_f1_without,
    generate_synthetic,
    write_official_aligned,
)

BAR = 0.85
SETTINGS = TrainSettings(epochs=20, batch_size=16, lr=3e-3, warmup=0.05, seed=1, progress=False)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    data = generate_synthetic(SyntheticSizes(), seed=0)
    path = write_official_aligned(tmp_path_factory.mktemp("synthetic") / "train_valid_test.pt", data.layout)
    return data, load_dataset(path)


@pytest.fixture(scope="module")
def trained(synthetic, tmp_path_factory):
    _, dataset = synthetic
    config = config_for_dataset(dataset, default_small_config())
    return fit(dataset, config, SETTINGS, tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def trained_without_audio(synthetic, tmp_path_factory):
    _, dataset = synthetic
    config = config_for_dataset(dataset, default_small_config())
    settings = TrainSettings(**{**vars(SETTINGS), "absent_modalities": ("audio",)})
    return fit(dataset, config, settings, tmp_path_factory.mktemp("run_no_audio"))


def test_no_predictor_ignoring_a_modality_can_reach_the_bar(synthetic):
    data, _ = synthetic
    for modality in MODALITIES:
        assert best_micro_f1_without(data, "test", modality) < BAR - 0.04, modality


def test_trained_carat_clears_the_bar_on_held_out_data(trained):
    assert trained.finished
    assert trained.test.micro_f1 >= BAR, trained.history[-1]


def test_the_trained_model_falls_below_the_bar_when_audio_goes_missing(synthetic, trained):
    _, dataset = synthetic
    from carat_model import load_checkpoint

    model, _ = load_checkpoint(trained.checkpoint)
    without_audio = score_split(model, dataset.split("test"), absent=("audio",))
    assert without_audio.micro_f1 < BAR
    assert without_audio.per_label_f1[2] < 0.5  # angry lives in the audio only


def test_a_model_trained_without_audio_stays_below_the_bar(trained_without_audio):
    assert trained_without_audio.test.micro_f1 < BAR
    info = read_checkpoint_info(trained_without_audio.checkpoint)
    assert info.extra["trained_modalities"] == ["text", "visual"]


def test_checkpoint_holds_tuned_thresholds_and_training_facts(trained):
    info = read_checkpoint_info(trained.checkpoint)
    assert info.config.label_thresholds == pytest.approx(tuple(trained.thresholds))
    assert info.feature_spec is None  # the official layout carries no FeatureSpec
    assert info.extra["trained_modalities"] == list(MODALITIES)
    assert info.extra["epoch"] == trained.best_epoch
    assert info.extra["test_metrics"]["micro_f1"] == pytest.approx(trained.test.micro_f1)
    assert info.extra["acc_empty_match"] == 0.0
    best_valid = max(row["valid_micro_f1"] for row in trained.history)
    assert trained.history[trained.best_epoch - 1]["valid_micro_f1"] == best_valid


def test_run_folder_has_metrics_logs_and_learning_curves(trained):
    run = trained.run_dir
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == SETTINGS.epochs
    assert (run / "metrics.csv").read_text().splitlines()[0].startswith("epoch,")
    assert (run / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
