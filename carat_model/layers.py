"""CARAT's building blocks: input norm, soft aligner, BERT encoder layers, label-wise attention, MLPs.

The attribute names here are part of the checkpoints' state-dict names (`encoders.text.layers.0.qkv.weight`),
which checkpoint.py maps to the authors' names: renaming one breaks every saved model.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import CaratConfig


class InputNorm(nn.Module):
    """LayerNorm over the feature dimension, TensorFlow style (eps inside the square root)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)


class SoftAligner(nn.Module):
    """Unaligned inputs only: a 2-layer LSTM scores, for each input step, T target steps plus a blank;
    softmax over them, drop the blank, and mix the input into T steps: [B, L, D] -> [B, T, D]."""

    def __init__(self, dim: int, steps: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, steps + 1, num_layers=2, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        position_scores, _ = self.lstm(x)  # [B, L, T+1]
        weights = position_scores.softmax(dim=-1)[..., 1:]  # drop the blank: [B, L, T]
        return weights.transpose(1, 2) @ x  # [B, T, D]


class EncoderLayer(nn.Module):
    """BERT layer, post-LayerNorm: self-attention block, then feed-forward block."""

    def __init__(self, config: CaratConfig) -> None:
        super().__init__()
        hidden = config.hidden
        self.heads = config.heads
        self.dropout = config.dropout
        self.qkv = nn.Linear(hidden, 3 * hidden)  # query, key and value in one matrix product
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.ff_in = nn.Linear(hidden, config.intermediate)
        self.ff_out = nn.Linear(config.intermediate, hidden)
        self.ff_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)

    def forward(self, x: Tensor, additive_mask: Tensor) -> Tensor:
        batch, steps, hidden = x.shape
        q, k, v = (
            self.qkv(x).view(batch, steps, 3, self.heads, hidden // self.heads).permute(2, 0, 3, 1, 4)
        )  # each [B, heads, L, H/heads]
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=additive_mask, dropout_p=self.dropout if self.training else 0.0
        )
        attended = attended.transpose(1, 2).reshape(batch, steps, hidden)
        x = self.attention_norm(x + F.dropout(self.attention_out(attended), self.dropout, self.training))
        hidden_ff = F.gelu(self.ff_in(x))  # exact (erf) GELU, as BERT
        return self.ff_norm(x + F.dropout(self.ff_out(hidden_ff), self.dropout, self.training))


class ModalityEncoder(nn.Module):
    """Features [B, L, D] -> contextual states [B, L, H]: linear embedding + learned positions."""

    def __init__(self, config: CaratConfig, dim: int, max_len: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Linear(dim, config.hidden)
        self.positions = nn.Embedding(max_len, config.hidden)
        self.embed_norm = nn.LayerNorm(config.hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(layers))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        steps = x.shape[1]
        if steps > self.positions.num_embeddings:
            raise ValueError(
                f"sequence of {steps} steps is longer than this encoder's {self.positions.num_embeddings}"
                " positions; cut the input to the model's sequence length"
            )
        x = self.embed(x) + self.positions.weight[:steps]
        x = self.dropout(self.embed_norm(x))
        # BERT's additive mask, [B, 1, 1, L]: -10000 on padded keys.
        additive_mask = ((1.0 - mask.to(x.dtype)) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, additive_mask)
        return x


class LabelAttention(nn.Module):
    """One attention distribution over time per label: [B, L, H] -> [B, C, H]."""

    def __init__(self, config: CaratConfig) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(config.num_labels, config.hidden))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        scores = (x @ self.weight.T).transpose(1, 2)  # [B, C, L]
        scores = scores.masked_fill(~mask.bool()[:, None, :], float("-inf"))
        # A fully padded row is all -inf; its softmax is NaN. Zero it: the caller replaces it.
        weights = torch.nan_to_num(scores.softmax(dim=-1), nan=0.0)
        return weights @ x


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def trim_trailing_padding(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Cut the steps after the last real step of any sample (keeping at least one)."""
    real_steps = mask.bool().any(dim=0).nonzero()
    length = int(real_steps[-1]) + 1 if len(real_steps) else 1
    if length == x.shape[1]:
        return x, mask
    return x[:, :length], mask[:, :length]
