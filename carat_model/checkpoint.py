"""Checkpoints: our format (safetensors + a JSON header), and import of the authors' state dicts.

Our checkpoint is one `.safetensors` file. Its header metadata holds, under the key "carat", a JSON
object: format and version, the CaratConfig (labels and thresholds included), the FeatureSpec the
weights were trained on (opaque here: `feature_extractors` owns it), free-form `extra` facts (trained
modalities, metrics, ...) and the library versions that wrote it. Weights never pass through pickle.
"""

from __future__ import annotations

import json
import pickle
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from .atomic import write_atomically
from .config import MODALITIES, CaratConfig
from .model import Carat

FORMAT = "carat-live-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, with what was wrong and what to do."""


@dataclass
class CheckpointInfo:
    config: CaratConfig
    feature_spec: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


def save_checkpoint(
    path: str | Path,
    model: Carat,
    *,
    feature_spec: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write the model atomically (a crash never leaves half a file). `dtype=torch.float16` halves
    the size of floating-point weights; buffers that count (the queue pointer) keep their type."""
    path = Path(path)
    tensors = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        tensors[name] = tensor.contiguous()
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "feature_spec": feature_spec,
        "extra": extra or {},
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: save_file(tensors, temporary, metadata={"carat": json.dumps(header)}))
    return path


def read_checkpoint_info(path: str | Path) -> CheckpointInfo:
    """The header alone, without the weights (for pickers and compatibility checks)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one (main.py train) or pick an existing file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint ({error}); it may be corrupt or truncated. "
            "For the authors' pytorch_model_N.bin files use import_authors_checkpoint."
        ) from error
    if "carat" not in metadata:
        raise CheckpointError(
            f"{path} is a safetensors file but not a CARAT Live checkpoint (no 'carat' header); "
            "pick one made by main.py train, or import the authors' weights with import_authors_checkpoint"
        )
    damaged = f"{path} has a damaged CARAT Live header"
    remedy = "re-save it with main.py train, or pick another checkpoint"
    try:
        header = json.loads(metadata["carat"])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{damaged} (not JSON: {error}); {remedy}") from error
    if not isinstance(header, dict):
        raise CheckpointError(f"{damaged} (a JSON {type(header).__name__}, not an object); {remedy}")
    if header.get("format") != FORMAT or header.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format {header.get('format')} v{header.get('format_version')}; this version reads "
            f"{FORMAT} up to v{FORMAT_VERSION}: update CARAT Live"
        )
    if not isinstance(header.get("config"), dict):
        raise CheckpointError(f"{damaged} (no model 'config' in it); {remedy}")
    try:
        config = CaratConfig.from_dict(header["config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{damaged} (its model config is unusable: {error}); {remedy}") from error
    return CheckpointInfo(
        config=config,
        feature_spec=header.get("feature_spec"),
        extra=header.get("extra") or {},
        versions=header.get("versions") or {},
    )


def load_checkpoint(
    path: str | Path, *, expected: CaratConfig | None = None, device: str | torch.device = "cpu"
) -> tuple[Carat, CheckpointInfo]:
    """Build the model the checkpoint describes and load its weights (as float32).

    With `expected`, refuse a checkpoint made for other feature sizes or labels than the caller's.
    """
    info = read_checkpoint_info(path)
    if expected is not None:
        check_compatible(info.config, expected, source=str(path))
    model = Carat(info.config)
    tensors = load_file(str(path))
    load_state_dict_checked(
        model, {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}, str(path)
    )
    return model.to(device), info


def check_compatible(found: CaratConfig, expected: CaratConfig, source: str) -> None:
    for modality in MODALITIES:
        have, want = found.feature_dim(modality), expected.feature_dim(modality)
        if have != want:
            raise CheckpointError(
                f"{source} expects {modality} features of size {have} but the extractors in use give {want}; "
                "use a checkpoint trained with these extractors or retrain (main.py train)"
            )
    if tuple(found.labels) != tuple(expected.labels):
        raise CheckpointError(f"{source} predicts labels {list(found.labels)}, expected {list(expected.labels)}")
    if found.aligned != expected.aligned:
        mode = {True: "aligned", False: "unaligned"}
        raise CheckpointError(f"{source} is an {mode[found.aligned]} model; expected {mode[expected.aligned]}")


def load_state_dict_checked(model: Carat, state: dict[str, torch.Tensor], source: str) -> None:
    """Load every tensor, asserting each one's shape; name both shapes when they differ."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{source} does not fit this model: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    for name, tensor in state.items():
        if tensor.shape != own[name].shape:
            raise CheckpointError(
                f"{source}: {name} has shape {tuple(tensor.shape)} but this model expects "
                f"{tuple(own[name].shape)}; the checkpoint was made for other feature sizes or settings"
            )
    model.load_state_dict(state, strict=True)


# -- the authors' checkpoints ---------------------------------------------------------------------

# Their encoder sublayer names -> ours (query/key/value are fused into `qkv` separately).
_ENCODER_LAYER_NAMES = {
    "attention.output.dense": "attention_out",
    "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "ff_in",
    "output.dense": "ff_out",
    "output.LayerNorm": "ff_norm",
}
# Their reconstruction maps are named by source modalities; ours by the target.
_RECONSTRUCT_NAMES = {"va2t": "text", "ta2v": "visual", "tv2a": "audio"}
_ALIGNER_NAMES = {"v2t_ctc": "visual", "a2t_ctc": "audio"}


def read_authors_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a `pytorch_model_N.bin` written by the authors' trainer, with tensors only: a file that
    holds any other Python object is refused, never unpickled."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no file at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"refusing to load {path}: it holds Python objects other than tensors, which could run code "
            f"when unpickled ({str(error).splitlines()[0]}). Only plain state dicts are imported."
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch state dict ({error}); it may be truncated") from error
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is not a state dict (a mapping of names to tensors)")
    return {name.removeprefix("module."): tensor for name, tensor in state.items()}


def config_from_authors_state_dict(state: dict[str, torch.Tensor], base: CaratConfig | None = None) -> CaratConfig:
    """The sizes a state dict of the authors' implies; loss weights and labels come from `base`
    (the MOSEI preset by default)."""
    base = base or CaratConfig.mosei_aligned()

    def layers(modality: str) -> int:
        found = {int(m.group(1)) for k in state if (m := re.match(rf"{modality}\.encoder\.layer\.(\d+)\.", k))}
        return max(found) + 1 if found else 0

    labels, hidden = state["text_clf_weight"].shape
    aligned = "v2t_ctc.pred_output_position_inclu_blank.weight_ih_l0" not in state
    changes: dict[str, Any] = {
        "text_dim": state["text.embeddings.word_embeddings.weight"].shape[1],
        "visual_dim": state["visual.embeddings.word_embeddings.weight"].shape[1],
        "audio_dim": state["audio.embeddings.word_embeddings.weight"].shape[1],
        "text_max_len": state["text.embeddings.position_embeddings.weight"].shape[0],
        "visual_max_len": state["visual.embeddings.position_embeddings.weight"].shape[0],
        "audio_max_len": state["audio.embeddings.position_embeddings.weight"].shape[0],
        "text_layers": layers("text"),
        "visual_layers": layers("visual"),
        "audio_layers": layers("audio"),
        "hidden": hidden,
        "intermediate": state["text.encoder.layer.0.intermediate.dense.weight"].shape[0],
        "projection": state["text_pos_protos"].shape[1],
        "queue_size": state["queue"].shape[0],
        "aligned": aligned,
    }
    if not aligned:
        changes["unaligned_steps"] = state["v2t_ctc.pred_output_position_inclu_blank.weight_hh_l0"].shape[1] - 1
    if labels != base.num_labels:
        changes["labels"] = tuple(f"label_{i}" for i in range(labels))
        changes["label_thresholds"] = None
    return base.replace(**changes)


def convert_authors_state_dict(state: dict[str, torch.Tensor], config: CaratConfig) -> dict[str, torch.Tensor]:
    """Rename (and where we fuse or stack, combine) the authors' tensors into our state dict.
    Their encoders' poolers are never used in the forward pass and are dropped."""
    ours: dict[str, torch.Tensor] = {}
    used: set[str] = set()

    def take(name: str) -> torch.Tensor:
        if name not in state:
            raise CheckpointError(f"the authors' state dict lacks {name}; is it a CARAT checkpoint?")
        used.add(name)
        return state[name]

    for m in MODALITIES:
        ours[f"input_norm.{m}.weight"] = take(f"{m}_norm.norm2d.weight")
        ours[f"input_norm.{m}.bias"] = take(f"{m}_norm.norm2d.bias")
        encoder = f"encoders.{m}"
        for kind in ("weight", "bias"):
            ours[f"{encoder}.embed.{kind}"] = take(f"{m}.embeddings.word_embeddings.{kind}")
            ours[f"{encoder}.embed_norm.{kind}"] = take(f"{m}.embeddings.LayerNorm.{kind}")
        ours[f"{encoder}.positions.weight"] = take(f"{m}.embeddings.position_embeddings.weight")
        for i in range(getattr(config, f"{m}_layers")):
            theirs, layer = f"{m}.encoder.layer.{i}", f"{encoder}.layers.{i}"
            for kind in ("weight", "bias"):
                ours[f"{layer}.qkv.{kind}"] = torch.cat(
                    [take(f"{theirs}.attention.self.{part}.{kind}") for part in ("query", "key", "value")]
                )
                for their_name, our_name in _ENCODER_LAYER_NAMES.items():
                    ours[f"{layer}.{our_name}.{kind}"] = take(f"{theirs}.{their_name}.{kind}")
        used.update(k for k in state if k.startswith(f"{m}.pooler."))
        ours[f"label_attention.{m}.weight"] = take(f"{m}_attention.attention.weight")
        for their_prefix, our_prefix in ((f"proj_{m}", f"project.{m}"), (f"de_proj_{m}", f"deproject.{m}")):
            for kind in ("weight", "bias"):
                ours[f"{our_prefix}.0.{kind}"] = take(f"{their_prefix}.linear.0.{kind}")
                ours[f"{our_prefix}.2.{kind}"] = take(f"{their_prefix}.output.{kind}")
    for their_name, m in _RECONSTRUCT_NAMES.items():
        for kind in ("weight", "bias"):
            ours[f"reconstruct.{m}.{kind}"] = take(f"{their_name}.output.{kind}")
    for kind in ("weight", "bias"):
        ours[f"aggregator.0.{kind}"] = take(f"agg.linear.0.{kind}")
        ours[f"aggregator.2.{kind}"] = take(f"agg.output.{kind}")
    ours["classifier"] = torch.stack([take(f"{m}_clf_weight") for m in MODALITIES])
    ours["pos_prototypes"] = torch.stack([take(f"{m}_pos_protos") for m in MODALITIES])
    ours["neg_prototypes"] = torch.stack([take(f"{m}_neg_protos") for m in MODALITIES])
    ours["queue"] = take("queue")
    ours["queue_labels"] = take("queue_label").reshape(-1).float()
    ours["queue_ptr"] = take("queue_ptr").reshape(1).long()
    if not config.aligned:
        for their_name, m in _ALIGNER_NAMES.items():
            for name in [k for k in state if k.startswith(f"{their_name}.pred_output_position_inclu_blank.")]:
                ours[f"aligners.{m}.lstm.{name.rsplit('.', 1)[1]}"] = take(name)
    left_over = sorted(set(state) - used)
    if left_over:
        raise CheckpointError(f"the authors' state dict holds tensors this import does not know: {left_over[:5]}")
    return ours


def import_authors_state_dict(state: dict[str, torch.Tensor], base: CaratConfig | None = None) -> Carat:
    config = config_from_authors_state_dict(state, base)
    model = Carat(config)
    load_state_dict_checked(model, convert_authors_state_dict(state, config), "the authors' state dict")
    return model


def import_authors_checkpoint(path: str | Path, base: CaratConfig | None = None) -> Carat:
    """A model from the authors' `pytorch_model_N.bin` (their trainer's output)."""
    return import_authors_state_dict(read_authors_state_dict(path), base)
