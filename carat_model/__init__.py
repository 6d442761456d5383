"""CARAT in pure PyTorch: the model, its training objective and its checkpoints.

- config.py      CaratConfig (sizes, the authors' presets) and MODALITIES
- model.py       Carat: modality encoders, label attention, reconstruction, classifiers and their aggregation
- layers.py      its building blocks (input norm, soft aligner, encoder layers, label attention, MLPs)
- inputs.py      CaratInputs (features and masks), CaratOutput, the soft-aligned mask rule
- losses.py      the training objective (classification, contrastive, reconstruction) and its state
- checkpoint.py  safetensors checkpoints with their config, feature spec and thresholds; the authors' import
- atomic.py      writing a file so a crash leaves the old one or the new one, never half
- reference_check.py  comparing our CARAT with the authors' reference tensors
"""

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
