"""Our CARAT against the authors' implementation: their reference tensors (the reference data folder)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from carat_model import CaratConfig, carat_objective, update_training_state
from carat_model.checkpoint import convert_authors_state_dict, import_authors_state_dict
from carat_model.config import MODALITIES
from carat_model.reference_check import compare, reference_inputs, reference_model

from .conftest import ALIGNED_REFERENCE, STATE_DICT_TABLE

ROOT = Path(__file__).resolve().parents[2]


def run_check_reference(path) -> subprocess.CompletedProcess:
    """`main.py check-reference PATH` as a user runs it."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "check-reference", str(path)],
        check=False,  # the tests read the exit status themselves
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_eval_scores_match_the_authors_to_1e_5_and_labels_exactly(reference):
    inputs, _ = reference_inputs(reference)
    model = reference_model(reference).eval()
    with torch.no_grad():
        output = model(inputs)
    torch.testing.assert_close(output.scores, reference["eval"]["scores"], atol=1e-5, rtol=0)
    assert torch.equal(output.predicted.float(), reference["eval"]["predicted"].float())


def test_training_loss_matches_the_authors_to_1e_4(reference):
    inputs, labels = reference_inputs(reference)
    model = reference_model(reference, dropout=0.0).train()
    assert model.config.shuffle_clf_weight == 0  # as the reference was computed
    output = model(inputs)
    loss = carat_objective(model, output, labels)
    assert abs(loss.total.item() - reference["train"]["loss"].item()) < 1e-4
    torch.testing.assert_close(output.scores, reference["train"]["scores"], atol=1e-5, rtol=0)


def test_prototypes_and_queue_after_the_step_match_the_authors_to_1e_5(reference):
    inputs, labels = reference_inputs(reference)
    model = reference_model(reference, dropout=0.0).train()
    output = model(inputs)
    update_training_state(model, output, labels, carat_objective(model, output, labels))
    after = reference["train"]["buffers_after"]
    for i, m in enumerate(MODALITIES):
        torch.testing.assert_close(model.pos_prototypes[i], after[f"{m}_pos_protos"], atol=1e-5, rtol=0)
        torch.testing.assert_close(model.neg_prototypes[i], after[f"{m}_neg_protos"], atol=1e-5, rtol=0)
    torch.testing.assert_close(model.queue, after["queue"], atol=1e-5, rtol=0)
    assert torch.equal(model.queue_labels, after["queue_label"].reshape(-1))
    assert int(model.queue_ptr) == int(after["queue_ptr"])


def test_loss_gradient_reaches_every_trained_parameter(reference):
    inputs, labels = reference_inputs(reference)
    model = reference_model(reference, dropout=0.0).train()
    carat_objective(model, model(inputs), labels).total.backward()
    without_gradient = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert without_gradient == []


@pytest.mark.needs_data("reference")
def test_check_reference_command_passes_on_the_shared_file():
    result = run_check_reference(ALIGNED_REFERENCE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "eval.scores" in result.stdout and "all within tolerance" in result.stdout


def test_check_reference_command_fails_when_the_reference_disagrees(reference, tmp_path):
    tampered = dict(reference)
    tampered["eval"] = dict(reference["eval"], scores=reference["eval"]["scores"] + 1e-3)
    path = tmp_path / "tampered.pt"
    torch.save(tampered, path)
    result = run_check_reference(path)
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "eval.scores" in result.stdout.split("beyond tolerance")[1]


def authors_state_dict_from_table(section: str) -> dict[str, torch.Tensor]:
    """Random tensors with the names, shapes and dtypes the authors' trainer writes (from the .tsv; a test
    that calls this is marked `needs_data("reference")`)."""
    generator = torch.Generator().manual_seed(0)
    state, current = {}, None
    for line in STATE_DICT_TABLE.read_text().splitlines():
        if line.startswith("#"):
            current = "unaligned" if "unaligned" in line else "aligned"
            continue
        if not line.strip() or current != section:
            continue
        name, shape, dtype = line.split("\t")
        shape = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
        if dtype == "int64":
            state[name] = torch.zeros(shape, dtype=torch.int64)
        elif name.endswith(("LayerNorm.weight", "norm2d.weight")):
            state[name] = torch.ones(shape)
        else:
            state[name] = torch.randn(shape, generator=generator) * 0.05
    return state


@pytest.mark.needs_data("reference")
@pytest.mark.parametrize("section", ["aligned", "unaligned"])
def test_every_tensor_of_the_authors_parameter_set_is_imported(section):
    state = authors_state_dict_from_table(section)
    model = import_authors_state_dict(state)
    assert model.config.aligned == (section == "aligned")
    converted = convert_authors_state_dict(state, model.config)
    ours = model.state_dict()
    assert set(converted) == set(ours)
    for name, tensor in converted.items():
        assert torch.equal(ours[name], tensor), name
    unused = [n for n in state if ".pooler." in n]
    assert len(unused) == 6  # the encoders' poolers: in their state dict, unused by their forward pass


@pytest.mark.needs_data("reference")
def test_unaligned_import_runs_the_soft_aligner_on_500_step_inputs():
    state = authors_state_dict_from_table("unaligned")
    model = import_authors_state_dict(state).eval()
    assert model.config.unaligned_steps == 500 and set(model.aligners) == {"visual", "audio"}
    batch = 2
    generator = torch.Generator().manual_seed(1)
    from carat_model import CaratInputs

    inputs = CaratInputs(
        text=torch.randn(batch, 50, 300, generator=generator),
        text_mask=torch.ones(batch, 50),
        visual=torch.randn(batch, 500, 35, generator=generator),
        visual_mask=torch.ones(batch, 500),
        audio=torch.randn(batch, 500, 74, generator=generator),
        audio_mask=torch.ones(batch, 500),
    )
    with torch.no_grad():
        output = model(inputs)
    assert output.scores.shape == (batch, 6) and torch.isfinite(output.scores).all()
    # The aligner's LSTM is really in the path: changing its weights changes the scores.
    with torch.no_grad():
        model.aligners["visual"].lstm.weight_ih_l0.mul_(3.0)
        changed = model(inputs).scores
    assert (changed - output.scores).abs().max() > 1e-6


def test_soft_aligner_mixes_input_steps_by_the_lstm_softmax_without_the_blank():
    from carat_model.model import SoftAligner

    torch.manual_seed(0)
    aligner = SoftAligner(dim=3, steps=4)
    x = torch.randn(2, 6, 3)
    scores, _ = aligner.lstm(x)  # [2, 6, 5]
    weights = scores.softmax(-1)[..., 1:]  # blank dropped: [2, 6, 4]
    expected = torch.stack(
        [torch.stack([sum(weights[b, step, t] * x[b, step] for step in range(6)) for t in range(4)]) for b in range(2)]
    )
    torch.testing.assert_close(aligner(x), expected)


@pytest.mark.needs_data("reference")
def test_check_reference_works_for_an_unaligned_file_of_another_batch_size(tmp_path):
    """An unaligned reference file laid out like the shared one (values from our own model, since the
    shared set is aligned): the command reads its config, imports, runs both passes and compares."""
    state = authors_state_dict_from_table("unaligned")
    authors_config = {
        "num_classes": 6,
        "aligned": False,
        "proto_m": 0.99,
        "text_dim": 300,
        "video_dim": 35,
        "audio_dim": 74,
        "hidden_size": 256,
        "proj_size": 64,
        "moco_queue": 8192,
        "binary_threshold": 0.25,
        "text_num_hidden_layers": 6,
        "visual_num_hidden_layers": 4,
        "audio_num_hidden_layers": 4,
        "lsr_clf_weight": 0.01,
        "recon_clf_weight": 0.0,
        "aug_clf_weight": 0.1,
        "cl_weight": 1.0,
        "aug_mse_weight": 1.0,
        "beta_mse_weight": 0.0,
        "recon_mse_weight": 1.0,
        "total_aug_clf_weight": 1.0,
        "shuffle_aug_clf_weight": 0.0,
        "unaligned_mask_same_length": False,
    }
    batch = 2
    generator = torch.Generator().manual_seed(2)
    inputs = {
        "text": torch.randn(batch, 50, 300, generator=generator),
        "text_mask": torch.ones(batch, 50, dtype=torch.long),
        "visual": torch.randn(batch, 500, 35, generator=generator),
        "visual_mask": torch.ones(batch, 500, dtype=torch.long),
        "audio": torch.randn(batch, 500, 74, generator=generator),
        "audio_mask": torch.ones(batch, 500, dtype=torch.long),
        "labels": torch.tensor([[1.0, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 1]]),
    }
    reference = {"state_dict": state, "config": authors_config, "inputs": inputs}
    base = CaratConfig.from_authors_config(authors_config)
    from carat_model.reference_check import reference_inputs as to_inputs

    carat_inputs, labels = to_inputs(reference)
    model = import_authors_state_dict(state, base).eval()
    with torch.no_grad():
        output = model(carat_inputs)
    reference["eval"] = {"scores": output.scores, "predicted": output.predicted.float()}
    model = import_authors_state_dict(state, base.replace(dropout=0.0)).train()
    output = model(carat_inputs)
    loss = carat_objective(model, output, labels)
    update_training_state(model, output, labels, loss)
    after = {
        f"{m}_{k}_protos": getattr(model, f"{k}_prototypes")[i].clone()
        for i, m in enumerate(MODALITIES)
        for k in ("pos", "neg")
    }
    after.update(
        queue=model.queue.clone(), queue_label=model.queue_labels[:, None].clone(), queue_ptr=model.queue_ptr.clone()
    )
    reference["train"] = {"loss": loss.total.detach(), "scores": output.scores.detach(), "buffers_after": after}
    assert all(d.ok for d in compare(reference))
    path = tmp_path / "unaligned.pt"
    torch.save(reference, path)
    result = run_check_reference(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unaligned, batch 2" in result.stdout
