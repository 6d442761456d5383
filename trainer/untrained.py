"""A randomly initialised checkpoint in the shipped extractors' feature spec: what tests and benchmarks load
when the figures they measure do not depend on trained weights (timing, plumbing, file formats)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from carat_model import MODALITIES, Carat, CaratConfig, save_checkpoint
from carat_model.config import feature_dim_fields
from feature_extractors.spec import default_feature_spec


def build_untrained_checkpoint(
    path: str | os.PathLike,
    *,
    size: str = "small",
    trained_modalities: tuple[str, ...] = MODALITIES,
    seed: int = 0,
) -> Path:
    """A randomly initialised checkpoint with the shipped extractors' FeatureSpec, for tests,
    benchmarks and trying the app before trained weights exist. Its scores mean nothing.

    "small": 2 layers of 128 per modality; "full": the paper's encoder sizes. Both are unaligned with
    128 steps per visual/acoustic window, sized for a ~3 s live window.
    """
    spec = default_feature_spec()
    sizes = {"text_layers": 2, "visual_layers": 2, "audio_layers": 2, "hidden": 128, "intermediate": 128, "heads": 4}
    if size == "full":
        sizes = {}
    elif size != "small":
        raise ValueError(f"size must be 'small' or 'full', got {size!r}")
    config = CaratConfig(
        **feature_dim_fields(spec.dims),
        aligned=False,
        unaligned_steps=128,
        text_max_len=32,
        visual_max_len=128,
        audio_max_len=128,
        queue_size=64,
        **sizes,
    )
    torch.manual_seed(seed)
    model = Carat(config).eval()
    return save_checkpoint(
        path, model, feature_spec=spec.to_dict(), extra={"trained_modalities": list(trained_modalities)}
    )
