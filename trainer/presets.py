"""The window shape and CARAT size shared by the stream checkpoints (face, voice, words) and the default.

One shape for all of them, so datasets prepared from different sources (faces, voices, sentences) can be
trained together into one model, and a single-stream checkpoint is directly comparable with the combined
one. Unaligned: words, video frames and voice rows each keep their own sequence (a face-only or
voice-only window has no words to align to). Media rows per window equal the soft aligner's steps,
because the live predictor feeds `unaligned_steps` visual and acoustic rows (app/predictor.py).
"""

from __future__ import annotations

from carat_model import CaratConfig
from carat_model.config import MOSEI_LABELS, feature_dim_fields

from .sample_windows import WindowShape

TEXT_STEPS = 32  # words of one utterance
MEDIA_STEPS = 64  # face frames / voice rows in one window (the most recent are kept)

STREAMS_WINDOW = WindowShape(aligned=False, text_steps=TEXT_STEPS, media_steps=MEDIA_STEPS)


def streams_config(dims: dict[str, int], **overrides) -> CaratConfig:
    """A modest unaligned CARAT for CPU training: hidden 128, 2 layers per modality, 4 heads.

    `dims` gives each modality's feature size (FeatureSpec.dims); `overrides` change any other field."""
    config = CaratConfig(
        **feature_dim_fields(dims),
        aligned=False,
        text_max_len=TEXT_STEPS,
        visual_max_len=MEDIA_STEPS,
        audio_max_len=MEDIA_STEPS,
        unaligned_steps=MEDIA_STEPS,
        text_layers=2,
        visual_layers=2,
        audio_layers=2,
        hidden=128,
        intermediate=256,
        heads=4,
        projection=32,
        queue_size=1024,
        dropout=0.1,
        labels=MOSEI_LABELS,
    )
    return config.replace(**overrides)
