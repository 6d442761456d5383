"""Our expression CNN: an aligned 48x48 grey face crop -> a 64-d expression embedding (and FER+ class scores).

A lean net for two CPU cores (about 130k parameters, about 10 M multiply-adds a face): three stages of a
full 3x3 convolution then a depthwise-separable one, each halving the size, global average pooling, and a
64-d embedding whose linear head scores FER+'s eight classes. It is trained on FER+ vote shares by
`scripts/train_face_cnn.py`; the face stream feeds the embedding to CARAT (spec.FACE_CNN_NAMES).

Crops come from `face_crop.aligned_face_crop` (eye line level, fixed interocular distance), the same code for
live frames and for the training faces. Each crop is standardised on its own (zero mean, unit deviation),
so the camera's exposure and contrast matter little. Weights load from a safetensors file, by path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .face_crop import CROP_SIZE
from .spec import FACE_CNN_DIM

FERPLUS_CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
DEFAULT_WEIGHTS = Path(__file__).with_name("models") / "expression_cnn.safetensors"
FLIP_AVERAGE = True  # +1.1 points 7-class accuracy on FER+ validation (compare_face_features.py) for 0.3 ms


def _conv(c_in: int, c_out: int, groups: int = 1, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    """A full 3x3 convolution, a depthwise-separable one (3x3 per channel, 1x1 across), then halve."""
    return nn.Sequential(_conv(c_in, c_out), _conv(c_out, c_out, groups=c_out), _conv(c_out, c_out, kernel=1),
                         nn.MaxPool2d(2))  # fmt: skip


class ExpressionCnn(nn.Module):
    """[B, 1, 48, 48] standardised crops -> (embedding [B, 64], FER+ logits [B, 8])."""

    def __init__(self, embedding: int = FACE_CNN_DIM, classes: int = len(FERPLUS_CLASSES)) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv(1, 16), nn.MaxPool2d(2))  # 48 -> 24
        self.stages = nn.Sequential(_stage(16, 32), _stage(32, 64), _stage(64, 128))  # 24 -> 12 -> 6 -> 3
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(128, embedding), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(embedding, classes)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.stages(self.stem(crops))  # [B, 128, 3, 3]
        embedding = self.embed(x.mean(dim=(2, 3)))  # global average pool -> [B, 64]
        return embedding, self.head(self.dropout(embedding))


class _ResidualBlock(nn.Module):
    """Two 3x3 convolutions added to the input (a 1x1 projection where the size or width changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(c_in, c_out, stride=stride), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)
        )
        self.skip = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class ExpressionResNet(nn.Module):
    """[B, 1, 48, 48] standardised crops -> (embedding [B, 64], FER+ logits [B, 8]); the larger candidate
    (about 1.25 M parameters, 2.7 ms a crop with its mirror on one thread), tried for a stronger face stream and
    not wired in (models/FACE_MODEL_CARD.md: it gives CARAT's features no more): a stem to 24x24, then
    four residual stages of 32, 64, 128 and 256 channels (24 -> 12 -> 6 -> 3), global average pooling and the
    same 64-d embedding and head as ExpressionCnn. Dense 3x3 convolutions train as fast on a CPU thread as
    the small net's depthwise ones (about 110 s a FER+ epoch) for ten times the parameters."""

    def __init__(self, embedding: int = FACE_CNN_DIM, classes: int = len(FERPLUS_CLASSES)) -> None:
        super().__init__()
        widths = (32, 64, 128, 256)
        self.stem = nn.Sequential(_conv(1, 16), _conv(16, widths[0], stride=2))  # 48 -> 24
        stages, c_in = [], widths[0]
        for i, width in enumerate(widths):
            stages.append(_ResidualBlock(c_in, width, stride=1 if i == 0 else 2))
            c_in = width
        self.stages = nn.Sequential(*stages)
        self.embed = nn.Sequential(nn.Linear(widths[-1], embedding), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(embedding, classes)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.embed(self.stages(self.stem(crops)).mean(dim=(2, 3)))
        return embedding, self.head(self.dropout(embedding))


def standardise(crops: np.ndarray | torch.Tensor) -> torch.Tensor:
    """[B, 48, 48] crops (uint8, or float in 0-255) -> float [B, 1, 48, 48], each at zero mean and unit deviation."""
    x = torch.as_tensor(np.asarray(crops, np.float32)).reshape(-1, 1, CROP_SIZE, CROP_SIZE)
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True).clamp_min(4.0)  # a flat crop stays flat, not noise blown up
    return (x - mean) / std


class ExpressionEmbedder:
    """The trained CNN in eval mode on the CPU: crops -> embeddings (numpy). With `mirrored`, each crop and
    its mirror image are embedded and averaged (an expression reads the same mirrored; see FLIP_AVERAGE)."""

    def __init__(self, weights: str | Path = DEFAULT_WEIGHTS, *, mirrored: bool | None = None) -> None:
        from safetensors.torch import load_file

        weights = Path(weights)
        if not weights.is_file():
            raise FileNotFoundError(
                f"expression CNN weights not found at {weights}; train them with scripts/train_face_cnn.py"
            )
        model = ExpressionCnn()
        model.load_state_dict(load_file(str(weights)))
        # Frozen for inference: batch norm folded into the convolutions, oneDNN kernels. Same embeddings
        # (within 1e-5), and a crop with its mirror costs 1.3 ms of CPU instead of 2.4 (one thread).
        self.model = torch.jit.optimize_for_inference(torch.jit.script(model.eval()))
        self.mirrored = FLIP_AVERAGE if mirrored is None else mirrored

    @torch.inference_mode()
    def embed(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 [B, 48, 48] -> (embeddings [B, 64] float32, FER+ class probabilities [B, 8])."""
        x = standardise(crops)
        if self.mirrored:
            x = torch.cat([x, x.flip(-1)])
        embedding, logits = self.model(x)
        probabilities = torch.softmax(logits, dim=1)
        if self.mirrored:
            embedding = (embedding[: len(crops)] + embedding[len(crops) :]) / 2
            probabilities = (probabilities[: len(crops)] + probabilities[len(crops) :]) / 2
        return embedding.numpy(), probabilities.numpy()
