"""The CARAT objective's pieces against slow, obviously-correct versions."""

import pytest
import torch
import torch.nn.functional as F

from carat_model import Carat, carat_objective, update_training_state
from carat_model.losses import shuffle_aggregation, supervised_contrastive_loss

from .conftest import random_inputs, small_config


def slow_supervised_contrastive_loss(vectors, classes, queue, queue_classes, temperature):
    """The definition, one anchor and one pair at a time."""
    everything = torch.cat([vectors, queue])
    all_classes = torch.cat([classes, queue_classes]).tolist()
    total = everything.new_zeros(())
    for i in range(len(everything)):
        others = [k for k in range(len(everything)) if k != i]
        positives = [j for j in others if all_classes[j] == all_classes[i]]
        if not positives:
            continue  # counts 0, still in the mean
        log_denominator = torch.logsumexp(torch.stack([everything[i] @ everything[k] / temperature for k in others]), 0)
        total = (
            total
            - torch.stack([everything[i] @ everything[j] / temperature - log_denominator for j in positives]).mean()
        )
    return total / len(everything)


@pytest.mark.parametrize("normalised_queue", [True, False])
def test_contrastive_loss_and_gradient_equal_the_slow_definition(normalised_queue):
    generator = torch.Generator().manual_seed(3)
    vectors = F.normalize(torch.randn(14, 5, generator=generator, dtype=torch.float64), dim=-1).requires_grad_()
    classes = torch.randint(0, 4, (14,), generator=generator).double()
    queue = torch.randn(9, 5, generator=generator, dtype=torch.float64)
    # An unnormalised queue with large norms takes the plain log-sum-exp path.
    queue = F.normalize(queue, dim=-1) if normalised_queue else queue * 3
    queue_classes = torch.tensor([0, 1, 1, 7, 7, 2, 9.5, 3, 0], dtype=torch.float64)  # 9.5: matches nothing

    fast = supervised_contrastive_loss(vectors, classes, queue, queue_classes, 0.07)
    (fast_grad,) = torch.autograd.grad(fast, vectors)
    slow = slow_supervised_contrastive_loss(vectors, classes, queue, queue_classes, 0.07)
    (slow_grad,) = torch.autograd.grad(slow, vectors)
    torch.testing.assert_close(fast, slow, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(fast_grad, slow_grad, atol=1e-9, rtol=1e-7)


def test_contrastive_loss_counts_anchors_without_positives_as_zero():
    vectors = F.normalize(torch.eye(3, dtype=torch.float64), dim=-1)
    classes = torch.tensor([0.0, 1.0, 2.0])
    queue = torch.zeros(0, 3, dtype=torch.float64)
    loss = supervised_contrastive_loss(vectors, classes, queue, torch.zeros(0, dtype=torch.float64), 0.07)
    assert loss.item() == 0.0


def test_vectorised_prototype_update_equals_the_sequential_rule():
    config = small_config(labels=("a", "b", "c", "d"))
    model = Carat(config)
    generator = torch.Generator().manual_seed(5)
    model.pos_prototypes.copy_(torch.randn(model.pos_prototypes.shape, generator=generator))
    model.neg_prototypes.copy_(torch.randn(model.neg_prototypes.shape, generator=generator))
    latent = torch.randn(7, 3, 4, config.projection, generator=generator)
    labels = torch.randint(0, 2, (7, 4), generator=generator).float()
    present = torch.ones(7, 3, dtype=torch.bool)
    present[2, 1] = False  # a sample without a face leaves the visual prototypes alone

    pos, neg = model.pos_prototypes.clone(), model.neg_prototypes.clone()
    z = F.normalize(latent, dim=-1)
    mu = config.prototype_momentum
    for b in range(7):
        for m in range(3):
            if not present[b, m]:
                continue
            for c in range(4):
                target = pos if labels[b, c] else neg
                target[m, c] = mu * target[m, c] + (1 - mu) * z[b, m, c]

    model.update_prototypes(latent, labels, present)
    torch.testing.assert_close(model.pos_prototypes, pos, atol=1e-6, rtol=0)
    torch.testing.assert_close(model.neg_prototypes, neg, atol=1e-6, rtol=0)


def test_shuffle_keeps_every_sample_and_slot_exactly_once_per_label():
    batch, labels_count, hidden = 6, 4, 2
    # Encode (sample, slot, label) in the representation itself so we can read where each came from.
    beta = torch.zeros(batch, 3, labels_count, hidden)
    for b in range(batch):
        for m in range(3):
            beta[b, m, :, 0] = b
            beta[b, m, :, 1] = m
    labels = torch.randint(0, 2, (batch, labels_count)).float()
    shuffled, targets = shuffle_aggregation(beta, labels, torch.Generator().manual_seed(7))
    assert shuffled.shape == beta.shape and targets.shape == (batch, 3, labels_count)
    moved = False
    for c in range(labels_count):
        pairs = [(int(shuffled[b, m, c, 0]), int(shuffled[b, m, c, 1])) for b in range(batch) for m in range(3)]
        assert sorted(pairs) == [(b, m) for b in range(batch) for m in range(3)]
        for b in range(batch):
            for m in range(3):
                source = int(shuffled[b, m, c, 0])
                assert targets[b, m, c] == labels[source, c]  # targets follow their source sample
                moved |= source != b or int(shuffled[b, m, c, 1]) != m
    assert moved


def test_objective_parts_are_finite_and_weighted_into_the_total():
    config = small_config()
    model = Carat(config).train()
    inputs = random_inputs(config, batch=4)
    labels = torch.tensor([[1.0, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 1]])
    loss = carat_objective(model, model(inputs), labels, torch.Generator().manual_seed(0))
    assert all(torch.isfinite(v) for v in loss.parts.values())
    expected = (
        config.lsr_clf_weight * loss.parts["clf_lsr"]
        + config.aug_clf_weight * loss.parts["clf_aug"]
        + config.total_clf_weight * (loss.parts["clf_beta"] + loss.parts["aggregation"])
        + config.shuffle_clf_weight * loss.parts["shuffle"]
        + config.recon_mse_weight * loss.parts["recon_mse"]
        + config.aug_mse_weight * loss.parts["aug_mse"]
        + config.contrastive_weight * loss.parts["contrastive"]
    )
    torch.testing.assert_close(loss.total, expected)
    assert loss.parts["shuffle"] > 0
    assert loss.contrast_vectors.shape == (4 * 9 * config.num_labels, config.projection)


def test_a_bf16_autocast_step_gives_the_fp32_loss_and_keeps_the_buffers_fp32():
    """The mixed-precision path the trainer and benchmark take on CUDA, run under CPU autocast: the loss
    (custom autograd included) accepts bf16 latents, and prototypes and queue stay fp32."""
    torch.manual_seed(0)
    config = small_config()
    full, mixed = Carat(config).train(), Carat(config).train()
    mixed.load_state_dict(full.state_dict())
    inputs = random_inputs(config, batch=8)
    labels = (torch.rand(8, config.num_labels, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    torch.manual_seed(2)  # the same dropout masks and shuffles for both
    full_loss = carat_objective(full, full(inputs), labels).total
    torch.manual_seed(2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = mixed(inputs)
        loss = carat_objective(mixed, output, labels)
    assert output.latent.dtype == torch.bfloat16
    loss.total.backward()
    update_training_state(mixed, output, labels, loss)
    assert abs(loss.total.item() - full_loss.item()) < 0.02 * abs(full_loss.item())
    assert all(torch.isfinite(p.grad).all() for p in mixed.parameters() if p.grad is not None)
    for buffer in (mixed.pos_prototypes, mixed.neg_prototypes, mixed.queue):
        assert buffer.dtype == torch.float32 and torch.isfinite(buffer).all()
    assert mixed.pos_prototypes.abs().sum() > 0
