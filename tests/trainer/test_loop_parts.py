"""Pieces of the training loop: missing and dropped modalities, and the data-sized config."""

import numpy as np
import torch

from carat_model import CaratInputs
from trainer.batching import drop_random_modalities, hide_modalities, make_batch
from trainer.datasets import load_dataset
from trainer.loop import config_for_dataset, default_small_config


def _inputs(batch: int = 400) -> CaratInputs:
    generator = torch.Generator().manual_seed(0)
    values = {}
    for m, dim in (("text", 4), ("visual", 3), ("audio", 2)):
        values[m] = torch.randn(batch, 5, dim, generator=generator)
        values[f"{m}_mask"] = torch.ones(batch, 5)
    values["audio_mask"][: batch // 2] = 0  # half the samples have no audio to begin with
    values["audio"][: batch // 2] = 0
    return CaratInputs(**values)


def test_modality_dropout_removes_one_modality_at_the_given_rate_and_never_the_last():
    inputs = _inputs()
    dropped = drop_random_modalities(inputs, 0.5, torch.Generator().manual_seed(1))
    before = torch.stack([inputs.mask(m).any(1) for m in ("text", "visual", "audio")], 1)
    after = torch.stack([dropped.mask(m).any(1) for m in ("text", "visual", "audio")], 1)
    lost = (before & ~after).sum(1)
    assert lost.max() == 1  # at most one modality per sample
    assert after.any(1).all()  # every sample keeps at least one
    assert 0.4 < lost.float().mean() < 0.6
    assert not (~before & after).any()  # nothing comes back
    gone = before[:, 0] & ~after[:, 0]
    assert (dropped.text[gone] == 0).all() and (dropped.text[~gone] == inputs.text[~gone]).all()


def test_hidden_modalities_become_missing_inputs():
    hidden = hide_modalities(_inputs(), ("visual",))
    assert not hidden.visual_mask.any() and not hidden.visual.any()
    assert hidden.text_mask.all()


def test_config_takes_the_data_sizes_and_grows_position_tables(tiny_file):
    dataset = load_dataset(tiny_file)
    config = config_for_dataset(dataset, default_small_config().replace(text_max_len=4))
    assert (config.text_dim, config.visual_dim, config.audio_dim) == (10, 6, 8)
    assert config.text_max_len == dataset.max_steps()["text"] == 9
    assert config.labels == dataset.labels


def test_batches_keep_sample_order_and_labels(tiny_file):
    split = load_dataset(tiny_file).split("valid")
    batch = make_batch(split, [3, 1])
    np.testing.assert_array_equal(batch.labels.numpy(), split.labels[[3, 1]])
    assert torch.equal(batch.inputs.audio[1], torch.from_numpy(split.audio[1, : batch.inputs.audio.shape[1]]))
