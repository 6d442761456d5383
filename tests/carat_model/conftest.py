import pytest
import torch

from carat_model import CaratConfig, CaratInputs
from trainer.data_folders import reference_root

REFERENCE = reference_root()
ALIGNED_REFERENCE = REFERENCE / "official-carat-vectors-aligned.pt"
STATE_DICT_TABLE = REFERENCE / "official-carat-state-dict.tsv"


@pytest.fixture(scope="session")
def reference(needs_data) -> dict:
    needs_data("reference")
    if not ALIGNED_REFERENCE.is_file():
        pytest.fail(f"the reference folder lacks the authors' tensors: {ALIGNED_REFERENCE}")
    return torch.load(ALIGNED_REFERENCE, map_location="cpu", weights_only=True)


def small_config(**changes) -> CaratConfig:
    """A CARAT small enough for fast tests, with every part of the real one."""
    base = CaratConfig(
        text_dim=12,
        visual_dim=7,
        audio_dim=5,
        text_max_len=16,
        visual_max_len=16,
        audio_max_len=16,
        text_layers=2,
        visual_layers=1,
        audio_layers=1,
        hidden=16,
        intermediate=16,
        heads=2,
        projection=8,
        queue_size=64,
        dropout=0.0,
    )
    return base.replace(**changes)


def random_inputs(config: CaratConfig, batch: int = 3, steps: int = 10, seed: int = 0) -> CaratInputs:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (batch,), generator=generator)
    mask = (torch.arange(steps)[None, :] < lengths[:, None]).float()

    def features(dim: int) -> torch.Tensor:
        return torch.randn(batch, steps, dim, generator=generator)

    return CaratInputs(
        text=features(config.text_dim),
        text_mask=mask.clone(),
        visual=features(config.visual_dim),
        visual_mask=mask.clone(),
        audio=features(config.audio_dim),
        audio_mask=mask.clone(),
    )
