"""Shared synthetic data: small, written in the official aligned layout and read by the real reader."""

import pickle

import pytest

from trainer.synthetic import SyntheticSizes, generate_synthetic, unaligned_layout, write_official_aligned

TINY = SyntheticSizes(
    train=96, valid=32, test=32, text_dim=10, visual_dim=6, audio_dim=8, min_steps=3, max_steps=9
)


@pytest.fixture(scope="session")
def tiny_synthetic():
    return generate_synthetic(TINY, seed=3)


@pytest.fixture(scope="session")
def tiny_file(tiny_synthetic, tmp_path_factory):
    return write_official_aligned(
        tmp_path_factory.mktemp("tiny") / "train_valid_test.pt", tiny_synthetic.layout
    )


@pytest.fixture(scope="session")
def unaligned_file(tiny_synthetic, tmp_path_factory):
    """The same samples in the unaligned pickle's layout (text 12 steps, visual/audio 30)."""
    path = tmp_path_factory.mktemp("unaligned") / "mosei_senti_data_noalign.pkl"
    path.write_bytes(
        pickle.dumps(unaligned_layout(tiny_synthetic.layout, {"text": 12, "visual": 30, "audio": 30}))
    )
    return path
