"""The contrastive loss and prototype update written the way the authors' code computes them
(shared/spec/carat.md): full (batch + queue)^2 matrices with masks, and Python loops over samples and
labels. Used only as the baseline the model benchmark measures ours against, in the same run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def full_matrix_supervised_contrastive_loss(
    vectors: Tensor, classes: Tensor, queue: Tensor, queue_classes: Tensor, temperature: float
) -> Tensor:
    """Every entry of [batch; queue] is an anchor against the same set, all pairs materialised."""
    features = torch.cat([vectors, queue])
    labels = torch.cat([classes, queue_classes]).reshape(-1, 1)
    mask = torch.eq(labels, labels.T).float()
    anchor_dot_contrast = features @ features.T / temperature
    logits_max, _ = anchor_dot_contrast.max(dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(features.shape[0]).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    positives = mask.sum(1)
    mean_log_prob_pos = (mask * log_prob).sum(1) / positives.clamp(min=1)
    return -(mean_log_prob_pos * (positives > 0)).mean()


@torch.no_grad()
def looped_prototype_update(pos: Tensor, neg: Tensor, latent: Tensor, labels: Tensor, momentum: float) -> None:
    """pos/neg [3, C, P], latent [B, 3, C, P]: one sample, modality and label at a time."""
    z = F.normalize(latent, dim=-1)
    for b in range(latent.shape[0]):
        for m in range(latent.shape[1]):
            for c in range(latent.shape[2]):
                target = pos if labels[b, c] else neg
                target[m, c] = momentum * target[m, c] + (1 - momentum) * z[b, m, c]
