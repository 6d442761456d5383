"""What the shipped default checkpoint was trained on, for tests whose expectations depend on it."""

from __future__ import annotations


def scores_every_stream() -> bool:
    """Whether the shipped default was trained on words, faces and voices (issue 15), from its header."""
    from app.defaults import default_checkpoint
    from carat_model import read_checkpoint_info

    trained = read_checkpoint_info(default_checkpoint()).extra.get("trained_modalities") or []
    return set(trained) == {"text", "visual", "audio"}
