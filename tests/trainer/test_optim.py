"""Optimiser recipes: parameter groups, the authors' BertAdam and the learning-rate schedules."""

import itertools

import pytest
import torch

from carat_model import Carat
from trainer.loop import default_small_config
from trainer.optim import BertAdam, make_schedule, parameter_groups


def test_weight_decay_skips_biases_and_layer_norms():
    model = Carat(default_small_config())
    decay, plain = parameter_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    undecayed = {names[id(p)] for p in plain["params"]}
    assert "encoders.text.layers.0.qkv.weight" in decayed and "classifier" in decayed
    assert "encoders.text.layers.0.qkv.bias" in undecayed
    assert "encoders.text.embed_norm.weight" in undecayed and "input_norm.audio.weight" in undecayed
    assert len(decayed) + len(undecayed) == len(list(model.parameters()))
    assert plain["weight_decay"] == 0.0 and decay["weight_decay"] == 0.01


def test_bert_adam_has_no_bias_correction_and_clips_each_gradient():
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    optimizer = BertAdam([weight], lr=0.1, weight_decay=0.0, max_grad_norm=1.0)
    weight.grad = torch.tensor([3.0, 4.0])  # norm 5: clipped to [0.6, 0.8]
    optimizer.step()
    # m = 0.1 g, v = 0.001 g^2 (no bias correction): update = 0.1 g / (sqrt(0.001) |g| + 1e-6)
    g = torch.tensor([3.0, 4.0]) / (5.0 + 1e-6)
    expected = torch.tensor([1.0, -2.0]) - 0.1 * (0.1 * g) / ((0.001 * g * g).sqrt() + 1e-6)
    torch.testing.assert_close(weight.detach(), expected)


def test_bert_adam_adds_decoupled_weight_decay_to_the_update():
    weight = torch.nn.Parameter(torch.tensor([2.0]))
    optimizer = BertAdam([weight], lr=0.5, weight_decay=0.1)
    weight.grad = torch.tensor([0.0])
    optimizer.step()
    assert weight.item() == pytest.approx(2.0 - 0.5 * 0.1 * 2.0)


def _learning_rates(recipe: str, steps: int, warmup: float) -> list[float]:
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    schedule = make_schedule(optimizer, recipe, steps, warmup)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def test_authors_schedule_starts_at_zero_warms_up_and_decays_to_zero():
    rates = _learning_rates("authors", 20, 0.1)
    assert rates[:4] == pytest.approx([0.0, 0.5, 1.0, 17 / 18])
    assert rates[-1] == pytest.approx(1 / 18)


def test_default_schedule_moves_on_the_first_update():
    rates = _learning_rates("adamw", 20, 0.1)
    assert rates[0] == pytest.approx(0.5) and rates[1] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(rates[1:]))
