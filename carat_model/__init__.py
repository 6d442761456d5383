"""CARAT in pure PyTorch: the model, its training objective and its checkpoints."""

from .checkpoint import (
    CheckpointError,
    CheckpointInfo,
    import_authors_checkpoint,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)
from .config import MODALITIES, CaratConfig
from .losses import CaratLoss, carat_objective, update_training_state
from .model import NO_MODALITY, Carat, CaratInputs, CaratOutput

__all__ = [
    "MODALITIES",
    "NO_MODALITY",
    "Carat",
    "CaratConfig",
    "CaratInputs",
    "CaratLoss",
    "CaratOutput",
    "CheckpointError",
    "CheckpointInfo",
    "carat_objective",
    "import_authors_checkpoint",
    "load_checkpoint",
    "read_checkpoint_info",
    "save_checkpoint",
    "update_training_state",
]
