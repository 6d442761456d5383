"""Optimisers and learning-rate schedules.

- "adamw" (default): torch AdamW (bias-corrected, eps 1e-8), weight decay on weights only, linear
  warm-up then linear decay to 0; the first update already has a small learning rate.
- "authors": the authors' BertAdam recipe (shared/spec/carat.md): Adam without bias correction,
  eps 1e-6, decoupled weight decay added to the update, each parameter's gradient clipped to norm 1
  on its own; their schedule gives learning rate 0 on the very first update. We decay linearly to 0
  after warm-up (the continuous form of their schedule).
Both: no weight decay on biases and LayerNorm parameters; a global gradient clip in the loop.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from carat_model.model import InputNorm

RECIPES = ("adamw", "authors")


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """BERT's grouping: decay weights; not biases or LayerNorm scales and shifts."""
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, (nn.LayerNorm, InputNorm)):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
    decay, plain = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (plain if name.endswith("bias") or id(parameter) in no_decay else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


class BertAdam(torch.optim.Optimizer):
    """The authors' optimiser: Adam moments without bias correction, weight decay added to the
    update (decoupled), and each parameter's gradient clipped to `max_grad_norm` before use."""

    def __init__(
        self,
        params: Iterable,
        lr: float,
        betas=(0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.01,
        max_grad_norm: float = 1.0,
    ) -> None:
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
                "max_grad_norm": max_grad_norm,
            },
        )

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["max_grad_norm"] > 0:
                    norm = grad.norm()
                    if norm > group["max_grad_norm"]:
                        grad = grad * (group["max_grad_norm"] / (norm + 1e-6))
                state = self.state[p]
                if not state:
                    state["next_m"] = torch.zeros_like(p)
                    state["next_v"] = torch.zeros_like(p)
                m, v = state["next_m"], state["next_v"]
                m.mul_(beta1).add_(grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                update = m / (v.sqrt() + group["eps"])
                if group["weight_decay"] > 0:
                    update = update + group["weight_decay"] * p
                p.add_(update, alpha=-group["lr"])
        return loss


def make_optimizer(model: nn.Module, recipe: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    groups = parameter_groups(model, weight_decay)
    if recipe == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if recipe == "authors":
        return BertAdam(groups, lr=lr)
    raise ValueError(f"unknown recipe '{recipe}'; choose one of {list(RECIPES)}")


def make_schedule(
    optimizer: torch.optim.Optimizer, recipe: str, total_steps: int, warmup: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over `warmup` (a fraction) of the steps, then linear decay to 0 at the end."""
    total = max(total_steps, 1)
    warmup_steps = max(warmup * total, 1e-9)
    # The authors' schedule is evaluated at the step count before the update (0 first); ours after it.
    offset = 0 if recipe == "authors" else 1

    def factor(step: int) -> float:
        position = step + offset
        if position < warmup_steps:
            return position / warmup_steps
        return max(0.0, (total - position) / max(total - warmup_steps, 1e-9))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
