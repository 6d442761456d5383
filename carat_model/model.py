"""CARAT: Contrastive Feature Reconstruction and Aggregation (Peng et al., AAAI 2024).

The forward pass reads in the order of the method (see shared/spec/carat.md):
input norm -> (unaligned: soft aligner) -> modality encoders -> label-wise attention -> latent space
-> prototypes -> first-level reconstruction (aug) -> second-level reconstruction (beta)
-> label-wise classifiers, max-pooled over modalities -> aggregation -> scores.

B = batch, L = steps, C = labels, H = hidden, P = projection; modality index m: 0 text, 1 visual, 2 audio.

Our additions to the authors' model:
- A missing modality (its mask all zero: no face, silence, no words) is defined, never NaN. Its
  label-wise representation is decoded from the midpoint of its positive and negative prototypes (no
  evidence for or against any label), so the other modalities' reconstructions still receive a
  plausible input; it gets no vote in the max-pools over modalities, and its aggregation slot is left out
  of the mean. A sample with no modality at all scores 0 with no deciding modality.
- `deciding_modality`: the modality behind clf4's max-pool, per label.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import MODALITIES, SOFT_ALIGNED, CaratConfig
from .inputs import CaratInputs, CaratOutput, SoftAlignment, check_finite, soft_aligned_mask
from .layers import InputNorm, LabelAttention, ModalityEncoder, SoftAligner, mlp, trim_trailing_padding

# The model's inputs and layers live in inputs.py and layers.py; callers import them from here too.
__all__ = [
    "NO_MODALITY",
    "Carat",
    "CaratInputs",
    "CaratOutput",
    "InputNorm",
    "SoftAligner",
    "SoftAlignment",
    "check_finite",
    "parameter_count",
    "soft_aligned_mask",
    "trim_trailing_padding",
]

NO_MODALITY = -1  # deciding_modality of a sample with no modality present


class Carat(nn.Module):
    def __init__(self, config: CaratConfig) -> None:
        super().__init__()
        self.config = config
        # Skip steps that are padding in every sample: exact (padded keys get exp(-10000) = 0 weight),
        # and much faster for short live windows. Off where shapes must stay fixed (CUDA graphs).
        self.trim_padding = True
        # Checks that read values back from the device (NaN/inf inputs; is any modality missing?).
        # CUDA graphs and torch.compile(fullgraph=True) cannot hold them: see prepare_for_graph_capture.
        self.host_checks = True
        c = config
        labels, hidden, projection = c.num_labels, c.hidden, c.projection

        self.input_norm = nn.ModuleDict({m: InputNorm(c.feature_dim(m), c.layer_norm_eps) for m in MODALITIES})
        self.aligners = nn.ModuleDict(
            {} if c.aligned else {m: SoftAligner(c.feature_dim(m), c.unaligned_steps) for m in SOFT_ALIGNED}
        )
        self.encoders = nn.ModuleDict(
            {
                "text": ModalityEncoder(c, c.text_dim, c.text_max_len, c.text_layers),
                "visual": ModalityEncoder(c, c.visual_dim, c.visual_max_len, c.visual_layers),
                "audio": ModalityEncoder(c, c.audio_dim, c.audio_max_len, c.audio_layers),
            }
        )
        self.label_attention = nn.ModuleDict({m: LabelAttention(c) for m in MODALITIES})
        self.project = nn.ModuleDict({m: mlp([hidden, hidden // 2, projection]) for m in MODALITIES})
        self.deproject = nn.ModuleDict({m: mlp([projection, hidden // 2, hidden]) for m in MODALITIES})
        # f_m: rebuilds modality m from [text, visual, audio] representations concatenated.
        self.reconstruct = nn.ModuleDict({m: nn.Linear(3 * hidden, hidden) for m in MODALITIES})
        # Label-wise classifiers W_m[c], one per modality: [3, C, H].
        self.classifier = nn.Parameter(torch.empty(3, labels, hidden))
        nn.init.xavier_uniform_(self.classifier)
        self.aggregator = mlp([labels * hidden, hidden, labels])

        # Training state, saved with the weights.
        self.register_buffer("pos_prototypes", torch.zeros(3, labels, projection))
        self.register_buffer("neg_prototypes", torch.zeros(3, labels, projection))
        self.register_buffer("queue", F.normalize(torch.randn(c.queue_size, projection), dim=-1))
        # Queue entries start with class -1, which matches no real class (classes are 0 .. 6C-1).
        self.register_buffer("queue_labels", torch.full((c.queue_size,), -1.0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))
        # Derived from the config (which the checkpoint header stores), so not saved with the weights.
        self.register_buffer("label_thresholds", torch.tensor(c.thresholds(), dtype=torch.float32), persistent=False)

    # -- pieces of the forward pass -------------------------------------------------------------

    def encode(self, inputs: CaratInputs) -> tuple[Tensor, Tensor]:
        """Label-wise representations lsr [B, 3, C, H] and which modalities are present [B, 3]."""
        representations, present = [], []
        for m in MODALITIES:
            x, mask = inputs.features(m), inputs.mask(m)
            x = self.input_norm[m](x)
            if m in self.aligners:
                x = self.aligners[m](x)
            if mask.shape[1] != x.shape[1]:
                raise ValueError(f"{m} mask has {mask.shape[1]} steps but the {m} sequence has {x.shape[1]}")
            if self.trim_padding:
                x, mask = trim_trailing_padding(x, mask)
            states = self.encoders[m](x, mask)
            representations.append(self.label_attention[m](states, mask))
            present.append(mask.bool().any(dim=1))
        return torch.stack(representations, dim=1), torch.stack(present, dim=1)

    def prototype_padding(self, latent: Tensor) -> Tensor:
        """The padding latent [B, 3, C, P]: a mix of each label's positive and negative prototypes,
        weighted by softmax similarity (training), or the winning prototype (inference)."""
        z = F.normalize(latent, dim=-1)
        similarity = torch.stack(
            [(z * self.pos_prototypes).sum(-1), (z * self.neg_prototypes).sum(-1)], dim=-1
        )  # [B, 3, C, 2]
        if self.training:
            weights = similarity.softmax(dim=-1)
        else:
            weights = F.one_hot(similarity.argmax(dim=-1), 2).to(latent.dtype)
        return weights[..., :1] * self.pos_prototypes + weights[..., 1:] * self.neg_prototypes

    def per_modality(self, modules: nn.ModuleDict, x: Tensor) -> Tensor:
        """Apply each modality's own module to its slot of [B, 3, ...]."""
        return torch.stack([modules[m](x[:, i]) for i, m in enumerate(MODALITIES)], dim=1)

    def classify(self, representations: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        """Label-wise classifiers, then max over present modalities: logits [B, C] and the argmax."""
        logits = torch.einsum("bmch,mch->bmc", representations, self.classifier)
        logits = logits.masked_fill(~present[:, :, None], float("-inf"))
        best, modality = logits.max(dim=1)
        return best, modality

    def prepare_for_graph_capture(self) -> Carat:
        """Fixed shapes and no reads back to the host, so one CUDA graph (or torch.compile with
        fullgraph=True) holds the whole forward pass. The scores do not change; the missing-modality repair
        is then computed for every sample, and the caller checks inputs for NaN/inf (check_finite) before
        copying them into the graph's static inputs."""
        self.trim_padding = False
        self.host_checks = False
        return self

    # -- the forward pass -------------------------------------------------------------------------

    def forward(self, inputs: CaratInputs) -> CaratOutput:
        if self.host_checks:
            check_finite(inputs)
        lsr, present = self.encode(inputs)  # [B, 3, C, H], [B, 3]
        latent = self.per_modality(self.project, lsr)  # [B, 3, C, P]

        # A missing modality: decode the midpoint of its prototypes (see the module docstring).
        missing = ~present[:, :, None, None]
        if not self.host_checks or missing.any():
            midpoint = self.per_modality(
                self.deproject, ((self.pos_prototypes + self.neg_prototypes) / 2).expand_as(latent)
            )
            lsr = torch.where(missing, midpoint, lsr)
            latent = torch.where(missing, self.per_modality(self.project, lsr), latent)

        recon = self.per_modality(self.deproject, latent)  # [B, 3, C, H]
        padding = self.per_modality(self.deproject, self.prototype_padding(latent))  # [B, 3, C, H]

        # First-level reconstruction: each modality from the other two and its own prototype padding.
        aug = torch.stack(
            [
                self.reconstruct["text"](torch.cat([padding[:, 0], recon[:, 1], recon[:, 2]], dim=-1)),
                self.reconstruct["visual"](torch.cat([recon[:, 0], padding[:, 1], recon[:, 2]], dim=-1)),
                self.reconstruct["audio"](torch.cat([recon[:, 0], recon[:, 1], padding[:, 2]], dim=-1)),
            ],
            dim=1,
        )
        # Second-level reconstruction: the same maps on all three first-level reconstructions.
        aug_all = torch.cat([aug[:, 0], aug[:, 1], aug[:, 2]], dim=-1)
        beta = torch.stack([self.reconstruct[m](aug_all) for m in MODALITIES], dim=1)

        clf_lsr, _ = self.classify(lsr, present)
        clf_recon, _ = self.classify(recon, present)
        clf_aug, _ = self.classify(aug, present)
        clf_beta, deciding = self.classify(beta, present)

        agg_logits = self.aggregate(beta)  # [B, 3, C]
        slot_weight = present.to(agg_logits.dtype)[:, :, None]
        agg_score = (agg_logits.sigmoid() * slot_weight).sum(1) / slot_weight.sum(1).clamp(min=1)
        scores = (agg_score + clf_beta.sigmoid()) / 2  # sigmoid(-inf) = 0 when nothing is present

        anything = present.any(dim=1, keepdim=True)
        deciding = deciding.masked_fill(~anything, NO_MODALITY)
        predicted = scores > self.label_thresholds
        return CaratOutput(
            scores=scores,
            predicted=predicted,
            deciding_modality=deciding,
            present=present,
            lsr=lsr,
            latent=latent,
            recon=recon,
            aug=aug,
            beta=beta,
            clf_lsr=clf_lsr,
            clf_recon=clf_recon,
            clf_aug=clf_aug,
            clf_beta=clf_beta,
            agg_logits=agg_logits,
        )

    def aggregate(self, beta: Tensor) -> Tensor:
        """The aggregator on each modality slot's flattened label-wise representations: [B, 3, C]."""
        return self.aggregator(beta.flatten(start_dim=2))

    # -- training state ---------------------------------------------------------------------------

    @torch.no_grad()
    def update_prototypes(self, latent: Tensor, labels: Tensor, present: Tensor | None = None) -> None:
        """The authors' sequential EMA, vectorised: for each sample in batch order and each label,
        pos[c] <- mu*pos[c] + (1-mu)*z[b, c] if the label is present, else the same on neg[c].

        A run of n updates folds into mu^n * old + (1-mu) * sum_k mu^(n-k) * z_k, so each prototype
        takes its samples' latents weighted by how many of its own updates still follow them.
        Missing modalities (present = False) leave their prototypes untouched.
        """
        mu = self.config.prototype_momentum
        z = F.normalize(latent.float(), dim=-1)  # [B, 3, C, P]
        positive = (labels >= 0.5)[:, None, :].expand(-1, 3, -1)  # [B, 3, C]; soft targets count from 0.5
        usable = present[:, :, None].expand_as(positive) if present is not None else torch.ones_like(positive)
        for prototypes, selected in (
            (self.pos_prototypes, positive & usable),
            (self.neg_prototypes, ~positive & usable),
        ):
            selected = selected.to(z.dtype)
            count = selected.sum(0)  # [3, C]
            later = count - selected.cumsum(0)  # updates after sample b's own
            weights = selected * (1 - mu) * mu**later  # [B, 3, C]
            prototypes.mul_(mu ** count[..., None]).add_((weights[..., None] * z).sum(0))

    @torch.no_grad()
    def enqueue(self, vectors: Tensor, classes: Tensor) -> None:
        """First in, first out: write the batch's latents over the oldest queue entries."""
        vectors, classes = vectors.detach().to(self.queue.dtype), classes.to(self.queue_labels.dtype)
        size = self.queue.shape[0]
        if vectors.shape[0] > size:
            vectors, classes = vectors[-size:], classes[-size:]
        start = int(self.queue_ptr)
        positions = (start + torch.arange(vectors.shape[0], device=vectors.device)) % size
        self.queue[positions] = vectors
        self.queue_labels[positions] = classes
        self.queue_ptr[0] = (start + vectors.shape[0]) % size

    def set_label_thresholds(self, thresholds: list[float]) -> None:
        """Per-label decision thresholds (tuned on validation); kept in the config for checkpoints."""
        self.config = self.config.replace(label_thresholds=tuple(float(t) for t in thresholds))
        self.label_thresholds.copy_(torch.tensor(self.config.thresholds()))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
