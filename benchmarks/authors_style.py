"""The contrastive loss and prototype update written the way the authors' code computes them
(shared/spec/carat.md): full (batch + queue)^2 matrices with masks, and Python loops over samples and
labels. Used only as the baseline the model benchmark measures ours against, in the same run.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


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


# -- batch-1 inference the way the authors' model runs it --------------------------------------------
# Their encoders are BERT modules (names in shared/reference/official-carat-state-dict.tsv): separate
# query/key/value linears, attention by explicit matmul and softmax, a pooler that runs and is never
# used, and no trimming of padding. The CARAT head is the same arithmetic as ours, one modality at a time.


class TFStyleLayerNorm(nn.Module):
    """The authors' input norm, written out: mean, variance, eps inside the square root."""

    def __init__(self, weight: Tensor, bias: Tensor, eps: float) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(weight.clone()), nn.Parameter(bias.clone()), eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(-1, keepdim=True)
        variance = (x - mean).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - mean) / torch.sqrt(variance + self.eps)) + self.bias


def linear_from(weight: Tensor, bias: Tensor) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    layer.weight.data.copy_(weight)
    layer.bias.data.copy_(bias)
    return layer


def layer_norm_from(norm: nn.LayerNorm) -> nn.LayerNorm:
    copy = nn.LayerNorm(norm.normalized_shape, eps=norm.eps)
    copy.load_state_dict(norm.state_dict())
    return copy


class BertStyleLayer(nn.Module):
    def __init__(self, layer, heads: int, dropout: float) -> None:
        super().__init__()
        query, key, value = layer.qkv.weight.detach().chunk(3)
        query_bias, key_bias, value_bias = layer.qkv.bias.detach().chunk(3)
        self.query, self.key, self.value = (
            linear_from(query, query_bias),
            linear_from(key, key_bias),
            linear_from(value, value_bias),
        )
        self.attention_output = linear_from(layer.attention_out.weight, layer.attention_out.bias)
        self.attention_norm = layer_norm_from(layer.attention_norm)
        self.intermediate = linear_from(layer.ff_in.weight, layer.ff_in.bias)
        self.output = linear_from(layer.ff_out.weight, layer.ff_out.bias)
        self.output_norm = layer_norm_from(layer.ff_norm)
        self.heads = heads
        self.dropout = nn.Dropout(dropout)

    def split_heads(self, x: Tensor) -> Tensor:
        batch, steps, hidden = x.shape
        return x.view(batch, steps, self.heads, hidden // self.heads).permute(0, 2, 1, 3)

    def forward(self, x: Tensor, extended_mask: Tensor) -> Tensor:
        query, key, value = (
            self.split_heads(self.query(x)),
            self.split_heads(self.key(x)),
            self.split_heads(self.value(x)),
        )
        scores = query @ key.transpose(-1, -2) / math.sqrt(query.shape[-1]) + extended_mask
        probabilities = self.dropout(scores.softmax(dim=-1))
        context = (probabilities @ value).permute(0, 2, 1, 3).contiguous()
        context = context.view(x.shape)
        attended = self.attention_norm(self.dropout(self.attention_output(context)) + x)
        hidden = F.gelu(self.intermediate(attended))
        return self.output_norm(self.dropout(self.output(hidden)) + attended)


class BertStyleEncoder(nn.Module):
    def __init__(self, encoder, heads: int, dropout: float) -> None:
        super().__init__()
        self.word_embeddings = linear_from(encoder.embed.weight, encoder.embed.bias)
        self.position_embeddings = nn.Embedding.from_pretrained(encoder.positions.weight.detach().clone())
        self.embedding_norm = layer_norm_from(encoder.embed_norm)
        self.layers = nn.ModuleList(BertStyleLayer(layer, heads, dropout) for layer in encoder.layers)
        hidden = encoder.embed.weight.shape[0]
        self.pooler = nn.Linear(hidden, hidden)  # runs on the first step's state; its output is unused
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        positions = torch.arange(x.shape[1], dtype=torch.long, device=x.device).unsqueeze(0).expand(x.shape[:2])
        embedded = self.dropout(self.embedding_norm(self.word_embeddings(x) + self.position_embeddings(positions)))
        extended_mask = (1.0 - mask.unsqueeze(1).unsqueeze(2)) * -10000.0
        for layer in self.layers:
            embedded = layer(embedded, extended_mask)
        torch.tanh(self.pooler(embedded[:, 0]))
        return embedded


class AuthorsStyleInference(nn.Module):
    """The inference pass of a `Carat` (its weights, copied), computed the authors' way, modality by modality.
    Gives the same scores as `Carat` (the benchmark checks it) for inputs with every modality present."""

    def __init__(self, model) -> None:
        super().__init__()
        config = model.config
        self.modalities = ("text", "visual", "audio")
        self.input_norms = nn.ModuleList(
            TFStyleLayerNorm(
                model.input_norm[m].weight.detach(), model.input_norm[m].bias.detach(), config.layer_norm_eps
            )
            for m in self.modalities
        )
        self.encoders = nn.ModuleList(
            BertStyleEncoder(model.encoders[m], config.heads, config.dropout) for m in self.modalities
        )
        self.model = model  # the label-wise head's weights, read as parameters

    def forward(self, inputs) -> Tensor:
        model = self.model
        lsr, recon, padding = [], [], []
        for i, m in enumerate(self.modalities):
            mask = inputs.mask(m)
            states = self.encoders[i](self.input_norms[i](inputs.features(m)), mask)
            scores = (states @ model.label_attention[m].weight.T).transpose(1, 2)
            scores = scores.masked_fill(mask[:, None, :] == 0, float("-inf"))
            representation = scores.softmax(dim=-1) @ states
            latent = model.project[m](representation)
            z = F.normalize(latent, dim=-1)
            positive = (z * model.pos_prototypes[i]).sum(-1) >= (z * model.neg_prototypes[i]).sum(-1)
            winner = torch.where(positive[..., None], model.pos_prototypes[i], model.neg_prototypes[i])
            lsr.append(representation)
            recon.append(model.deproject[m](latent))
            padding.append(model.deproject[m](winner))
        aug = [
            model.reconstruct["text"](torch.cat([padding[0], recon[1], recon[2]], dim=-1)),
            model.reconstruct["visual"](torch.cat([recon[0], padding[1], recon[2]], dim=-1)),
            model.reconstruct["audio"](torch.cat([recon[0], recon[1], padding[2]], dim=-1)),
        ]
        beta = [model.reconstruct[m](torch.cat(aug, dim=-1)) for m in self.modalities]
        logits = torch.stack([(beta[i] * model.classifier[i]).sum(-1) for i in range(3)], dim=1)
        clf_beta = logits.max(dim=1).values
        aggregated = torch.stack([model.aggregator(b.flatten(start_dim=1)) for b in beta], dim=1)
        return (aggregated.sigmoid().mean(dim=1) + clf_beta.sigmoid()) / 2
