"""The CARAT training objective (shared/spec/carat.md, "Training objective").

total = lsr_clf * BCE(clf1) + recon_clf * BCE(clf2) + aug_clf * BCE(clf3)
      + total_clf * (BCE(clf4) + BCE(aggregator))
      + shuffle_clf * BCE(aggregator on shuffled virtual samples)
      + recon_mse * sum_m MSE(recon_m, lsr_m) + aug_mse * sum_m MSE(aug_m, lsr_m) + beta_mse * sum_m MSE(beta_m, lsr_m)
      + contrastive * SupCon(latents of lsr, aug and beta against a queue of earlier latents)

`carat_objective` computes the loss; `update_training_state` then moves the prototypes and the queue
(no gradient), as the authors' step does after the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .model import Carat, CaratOutput


@dataclass
class CaratLoss:
    total: Tensor
    parts: dict[str, Tensor]  # each term before its weight
    contrast_vectors: Tensor  # [N, P] the batch's normalised latents, to enqueue after the step
    contrast_classes: Tensor  # [N]


def carat_objective(
    model: Carat, output: CaratOutput, labels: Tensor, generator: torch.Generator | None = None
) -> CaratLoss:
    config = model.config
    labels = labels.to(output.scores.dtype)
    present = output.present  # [B, 3]
    scored = present.any(dim=1)  # samples with at least one modality; the others carry no signal

    def bce(logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits[scored], labels[scored])

    repeated = labels[:, None, :].expand(-1, 3, -1)  # [B, 3, C]
    parts = {
        "clf_lsr": bce(output.clf_lsr),
        "clf_recon": bce(output.clf_recon),
        "clf_aug": bce(output.clf_aug),
        "clf_beta": bce(output.clf_beta),
        "aggregation": F.binary_cross_entropy_with_logits(output.agg_logits[scored], repeated[scored]),
        "recon_mse": modality_mse(output.recon, output.lsr, present),
        "aug_mse": modality_mse(output.aug, output.lsr, present),
        "beta_mse": modality_mse(output.beta, output.lsr, present),
    }
    zero = output.scores.new_zeros(())
    if config.shuffle_clf_weight:
        shuffled, targets = shuffle_aggregation(output.beta, labels, generator)
        parts["shuffle"] = F.binary_cross_entropy_with_logits(model.aggregate(shuffled), targets)
    else:
        parts["shuffle"] = zero

    vectors, classes = contrast_latents(model, output, labels)
    if config.contrastive_weight:
        parts["contrastive"] = supervised_contrastive_loss(
            vectors, classes, model.queue, model.queue_labels, config.temperature
        )
    else:
        parts["contrastive"] = zero

    weights = {
        "clf_lsr": config.lsr_clf_weight,
        "clf_recon": config.recon_clf_weight,
        "clf_aug": config.aug_clf_weight,
        "clf_beta": config.total_clf_weight,
        "aggregation": config.total_clf_weight,
        "shuffle": config.shuffle_clf_weight,
        "recon_mse": config.recon_mse_weight,
        "aug_mse": config.aug_mse_weight,
        "beta_mse": config.beta_mse_weight,
        "contrastive": config.contrastive_weight,
    }
    total = sum(weights[name] * value for name, value in parts.items() if weights[name])
    return CaratLoss(total=total, parts=parts, contrast_vectors=vectors.detach(), contrast_classes=classes)


@torch.no_grad()
def update_training_state(model: Carat, output: CaratOutput, labels: Tensor, loss: CaratLoss) -> None:
    """After the loss: prototypes take the batch's lsr latents; the queue takes its contrast vectors."""
    model.update_prototypes(output.latent, labels, output.present)
    model.enqueue(loss.contrast_vectors, loss.contrast_classes)


def modality_mse(prediction: Tensor, target: Tensor, present: Tensor) -> Tensor:
    """sum over modalities of the mean squared error [B, 3, C, H], counting present modalities only."""
    squared = (prediction - target).pow(2).mean(dim=(2, 3))  # [B, 3]
    weight = present.to(squared.dtype)
    return ((squared * weight).sum(0) / weight.sum(0).clamp(min=1)).sum()


def contrast_latents(model: Carat, output: CaratOutput, labels: Tensor) -> tuple[Tensor, Tensor]:
    """The 9 latents per sample and label (proj of lsr, aug, beta for t, v, a), l2-normalised, and their
    classes c + C*(2m) (label present) or c + C*(2m+1) (absent); missing modalities left out.

    Order: sample-major, then [lsr t, v, a, aug t, v, a, beta t, v, a], then label (as the authors' queue)."""
    aug_latent = model.per_modality(model.project, output.aug)
    beta_latent = model.per_modality(model.project, output.beta)
    latents = torch.cat([output.latent, aug_latent, beta_latent], dim=1)  # [B, 9, C, P]
    _, _, num_labels, _ = latents.shape
    modality = torch.arange(3, device=latents.device).repeat(3)  # [9]: t, v, a, t, v, a, t, v, a
    label = torch.arange(num_labels, device=latents.device)
    absent = (labels < 0.5).long()[:, None, :]  # [B, 1, C]; a soft target (vote share) counts from 0.5
    classes = label + num_labels * (2 * modality[None, :, None] + absent)  # [B, 9, C]
    keep = output.present.repeat(1, 3)[:, :, None].expand(-1, -1, num_labels)  # [B, 9, C]
    vectors = F.normalize(latents, dim=-1)
    return vectors[keep], classes[keep].to(latents.dtype)


def supervised_contrastive_loss(
    vectors: Tensor, classes: Tensor, queue: Tensor, queue_classes: Tensor, temperature: float
) -> Tensor:
    """SupCon over the batch's vectors followed by the queue, every entry of that set an anchor.

    For anchor i: positives are the other entries of its class; loss_i = -mean_pos(s_ij) + log sum_{k!=i} exp(s_ik),
    s = dot / temperature; an anchor with no positive counts 0 in the mean over all anchors.

    The authors build several full (batch + queue)^2 matrices. Here the positive term comes from
    per-class sums (sum_j s_ij = z_i . (S_class - z_i) / t), and only the log-sum-exp needs pairs:
    see `log_denominators`.
    """
    queue = queue.to(vectors.dtype)
    contrast = torch.cat([vectors, queue])  # [N, P]
    all_classes = torch.cat([classes.to(queue_classes.dtype), queue_classes])

    # Positive term from class sums, in float64: the subtraction S - z_i must not lose digits.
    _, class_index = torch.unique(all_classes, return_inverse=True)
    contrast64 = contrast.double()
    class_sums = torch.zeros(int(class_index.max()) + 1, contrast.shape[1], dtype=torch.float64, device=contrast.device)
    class_sums = class_sums.index_add(0, class_index, contrast64)
    positives = torch.bincount(class_index)[class_index] - 1  # [N]
    positive_sum = (contrast64 * (class_sums[class_index] - contrast64)).sum(-1) / temperature

    log_denominator = torch.cat(log_denominators(vectors, queue, temperature)).double()
    per_anchor = torch.where(
        positives > 0, log_denominator - positive_sum / positives.clamp(min=1), torch.zeros_like(log_denominator)
    )
    return per_anchor.mean().to(vectors.dtype)


# exp() of similarities up to this bound cannot overflow float32 sums over any realistic queue.
_SAFE_EXPONENT = 50.0


def log_denominators(vectors: Tensor, queue: Tensor, temperature: float) -> tuple[Tensor, Tensor]:
    """log sum_{k != i} exp(s_ik) over [batch; queue] for the batch rows and the queue rows.

    With the vectors' norms bounding every s_ik well below overflow (always, for l2-normalised
    latents), one fused pass shares the batch-queue block between batch rows and queue rows and skips
    logsumexp's max-shift; otherwise a plain logsumexp does the same sums.
    """
    largest_norm = torch.cat([vectors.detach(), queue]).norm(dim=1).max()
    if float(largest_norm) ** 2 / temperature <= _SAFE_EXPONENT:
        return _FusedLogDenominators.apply(vectors, queue, 1.0 / temperature)
    contrast = torch.cat([vectors, queue])
    similarity = contrast @ contrast.T / temperature
    similarity = similarity.masked_fill(
        torch.eye(len(contrast), dtype=torch.bool, device=contrast.device), float("-inf")
    )
    log_denominator = similarity.logsumexp(dim=1)
    return log_denominator[: len(vectors)], log_denominator[len(vectors) :]


class _FusedLogDenominators(torch.autograd.Function):
    """Forward: E_bb = exp(V V^T / t) (diagonal 0), E_bq = exp(V Q^T / t), E_qq (no gradient: both
    sides are constants) in chunks; batch rows sum E_bb and E_bq, queue rows sum E_bq's columns and E_qq.
    Backward, with w = grad / row sum: dV = (w_b * (E_bb V) + E_bb (w_b * V) + w_b * (E_bq Q) + E_bq (w_q * Q)) / t,
    as matrix products against [*, P] operands, never building another [b, N] matrix."""

    @staticmethod
    def forward(ctx, vectors: Tensor, queue: Tensor, scale: float) -> tuple[Tensor, Tensor]:
        scaled = vectors * scale
        batch_batch = (scaled @ vectors.T).exp_()
        batch_batch.fill_diagonal_(0.0)
        batch_queue = (scaled @ queue.T).exp_()
        batch_sum = batch_batch.sum(1) + batch_queue.sum(1)
        queue_sum = batch_queue.sum(0) + _queue_self_exp_sum(queue, scale)
        ctx.save_for_backward(vectors, queue, batch_batch, batch_queue, batch_sum, queue_sum)
        ctx.scale = scale
        return batch_sum.log(), queue_sum.log()

    @staticmethod
    def backward(ctx, grad_batch: Tensor, grad_queue: Tensor) -> tuple[Tensor, None, None]:
        vectors, queue, batch_batch, batch_queue, batch_sum, queue_sum = ctx.saved_tensors
        w_batch = (grad_batch / batch_sum)[:, None]
        w_queue = (grad_queue / queue_sum)[:, None]
        grad = w_batch * (batch_batch @ vectors) + batch_batch @ (w_batch * vectors)
        grad += w_batch * (batch_queue @ queue) + batch_queue @ (w_queue * queue)
        return grad * ctx.scale, None, None


@torch.no_grad()
def _queue_self_exp_sum(queue: Tensor, scale: float, chunk: int = 2048) -> Tensor:
    """sum_{k != i} exp(q_i . q_k * scale) for every queue entry i, in row chunks (bounded memory)."""
    result = torch.empty(queue.shape[0], dtype=queue.dtype, device=queue.device)
    scaled = queue * scale
    for start in range(0, queue.shape[0], chunk):
        rows = (scaled[start : start + chunk] @ queue.T).exp_()
        index = torch.arange(rows.shape[0], device=queue.device)
        rows[index, start + index] = 0.0
        result[start : start + chunk] = rows.sum(1)
    return result


def shuffle_aggregation(
    beta: Tensor, labels: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Virtual samples for the aggregator: for each label, each sample's three modality slots are
    permuted, then each slot's samples are permuted. Per label, every (sample, slot) pair of the batch
    appears exactly once; targets follow their source samples. beta [B, 3, C, H] -> [B, 3, C, H], [B, 3, C].
    """
    batch, slots, num_labels, _ = beta.shape
    device = beta.device
    # perm_slot[c, b] permutes sample b's slots; perm_sample[c, m] permutes the samples of slot m.
    perm_slot = torch.rand(num_labels, batch, slots, generator=generator, device=device).argsort(dim=-1)
    perm_sample = torch.rand(num_labels, slots, batch, generator=generator, device=device).argsort(dim=-1)
    label_index = torch.arange(num_labels, device=device)[:, None, None]  # [C, 1, 1]
    slot_index = torch.arange(slots, device=device)[None, :, None]  # [1, 3, 1]
    source_sample = perm_sample  # [C, 3, B]: output (b, m) reads sample perm_sample[c, m, b] ...
    source_slot = perm_slot[label_index, source_sample, slot_index]  # ... at slot perm_slot[c, s, m]
    # Index as [C, 3, B] then move to [B, 3, C].
    shuffled = beta[source_sample, source_slot, label_index].permute(2, 1, 0, 3)
    targets = labels[source_sample, label_index].permute(2, 1, 0)
    return shuffled, targets
