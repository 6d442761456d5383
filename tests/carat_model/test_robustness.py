"""Missing modalities, bad numbers, and the deciding modality."""

import pytest
import torch

from carat_model import NO_MODALITY, Carat

from .conftest import random_inputs, small_config


@pytest.fixture()
def model() -> Carat:
    torch.manual_seed(0)
    return Carat(small_config()).eval()


@pytest.mark.parametrize("missing", ["text", "visual", "audio"])
def test_a_modality_that_is_all_padding_gives_finite_scores_and_no_vote(model, missing):
    inputs = random_inputs(model.config, batch=3)
    getattr(inputs, f"{missing}_mask").zero_()
    getattr(inputs, missing).zero_()
    with torch.no_grad():
        output = model(inputs)
    assert torch.isfinite(output.scores).all()
    assert ((output.scores >= 0) & (output.scores <= 1)).all()
    index = ("text", "visual", "audio").index(missing)
    assert not output.present[:, index].any() and output.present.sum() == 6
    assert (output.deciding_modality != index).all()


def test_a_missing_modality_in_one_sample_leaves_the_other_samples_unchanged(model):
    inputs = random_inputs(model.config, batch=3)
    with torch.no_grad():
        before = model(inputs).scores
        inputs.visual_mask[1].zero_()
        after = model(inputs).scores
    torch.testing.assert_close(after[[0, 2]], before[[0, 2]])
    assert (after[1] - before[1]).abs().max() > 1e-6


def test_a_sample_with_no_modality_scores_zero_with_no_deciding_modality(model):
    inputs = random_inputs(model.config, batch=2)
    for m in ("text", "visual", "audio"):
        getattr(inputs, f"{m}_mask")[0].zero_()
    with torch.no_grad():
        output = model(inputs)
    assert torch.equal(output.scores[0], torch.zeros(6)) and not output.predicted[0].any()
    assert (output.deciding_modality[0] == NO_MODALITY).all()
    assert torch.isfinite(output.scores[1]).all() and (output.deciding_modality[1] >= 0).all()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_or_inf_in_the_inputs_is_a_clear_error(model, bad):
    inputs = random_inputs(model.config)
    inputs.audio[1, 2, 3] = bad
    with pytest.raises(ValueError, match=r"audio features contain NaN or inf \(first at batch 1, step 2, feature 3\)"):
        model(inputs)


def test_deciding_modality_is_the_argmax_behind_the_beta_max_pool(model):
    inputs = random_inputs(model.config, batch=4)
    with torch.no_grad():
        output = model(inputs)
        per_modality = torch.einsum("bmch,mch->bmc", output.beta, model.classifier)
    assert torch.equal(output.deciding_modality, per_modality.argmax(dim=1))
    torch.testing.assert_close(output.clf_beta, per_modality.max(dim=1).values)


def test_trimming_shared_padding_does_not_change_the_scores(model):
    inputs = random_inputs(model.config, batch=3, steps=12)
    for m in ("text", "visual", "audio"):
        getattr(inputs, f"{m}_mask")[:, 8:] = 0  # the last four steps are padding everywhere
    with torch.no_grad():
        trimmed = model(inputs).scores
        model.trim_padding = False
        full = model(inputs).scores
    torch.testing.assert_close(trimmed, full, atol=1e-6, rtol=0)


def test_sequences_longer_than_the_position_table_are_a_clear_error(model):
    inputs = random_inputs(model.config, steps=20)  # the small config holds 16 positions
    with pytest.raises(ValueError, match="longer than this encoder's 16 positions"):
        model(inputs)
