"""Read the benchmark feature files (pickles) without ever running code from them.

The official CMU-MOSEI/M3ED files are pickles holding numpy arrays, lists, dicts, strings and numbers.
Unpickling calls whatever callable a file names, so a crafted file could run anything. Here:
- `.pt` files (torch.save) go through torch.load(weights_only=True), with only numpy's array
  reconstruction functions added to its allow-list;
- plain pickles go through `RestrictedUnpickler`, which admits numpy arrays and plain containers and
  refuses every other name, saying which.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch


class UnsafePickleError(ValueError):
    """A pickle names a class or function outside the allow-list; nothing from it was run."""


# (module, name) pairs numpy arrays and scalars need, in numpy 1 and numpy 2 spellings.
_NUMPY_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype")}
_BUILTIN_GLOBALS = {
    ("builtins", name)
    for name in ("list", "dict", "tuple", "set", "frozenset", "bytearray", "complex", "slice")
} | {("collections", "OrderedDict"), ("_codecs", "encode")}  # _codecs.encode: how pickle stores bytes


class InertNamespace:
    """Stands in for argparse.Namespace (the authors keep their build settings in one): it only
    receives attribute values and runs nothing, unlike the class it replaces."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only numpy-array and plain-container names."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            numpy_module = np.core.multiarray if "multiarray" in module else np
            return getattr(numpy_module, name)
        if (module, name) in _BUILTIN_GLOBALS:
            return pickle.Unpickler.find_class(self, module, name)
        if module.startswith("numpy") and name.endswith("DType"):  # numpy.dtypes.Float32DType and kin
            return pickle.Unpickler.find_class(self, module, name)
        if (module, name) == ("argparse", "Namespace"):
            return InertNamespace
        raise UnsafePickleError(
            f"refusing to unpickle {module}.{name}: the file names a Python object other than numpy arrays, "
            "lists, dicts and numbers, and loading it could run code. Use the official feature files "
            "unmodified, or convert your data to a prepared dataset (trainer.datasets.write_prepared_dataset)."
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            "this pickle refers to external storage (e.g. torch tensors in a plain pickle); "
            "save tensors with torch.save or convert the data to a prepared dataset"
        )


def restricted_loads(data: bytes) -> Any:
    import io

    return RestrictedUnpickler(io.BytesIO(data)).load()


def load_restricted_pickle(path: str | Path) -> Any:
    with open(path, "rb") as handle:
        return RestrictedUnpickler(handle).load()


def _numpy_safe_globals() -> list[Any]:
    from numpy.core import multiarray

    dtype_classes = [type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGSUVOMm"]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtype_classes]


def load_feature_file(path: str | Path) -> Any:
    """Load a benchmark feature file: torch.save archives with weights_only=True (numpy arrays
    allowed), anything else with the restricted unpickler. Never falls back to unsafe unpickling."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no feature file at {path}")
    if zipfile.is_zipfile(path) or _is_legacy_torch_file(path):
        return _torch_load_numpy(path)
    try:
        return load_restricted_pickle(path)
    except UnsafePickleError as error:
        raise UnsafePickleError(f"{path}: {error}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ValueError(
            f"{path} is not a readable pickle ({error}); it may be truncated or corrupt"
        ) from error


def _is_legacy_torch_file(path: Path) -> bool:
    """torch.save's pre-1.6 format starts with a pickled magic number, then protocol and sys info."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    return head[:2] == b"\x80\x02" and head[2:3] == b"\x8a"  # protocol 2, LONG1 (the magic number)


def _torch_load_numpy(path: Path) -> Any:
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()
        # torch names the refused global in its message; argparse.Namespace (the authors' build
        # settings) we can read with the inert stand-in from the archive's pickle, nothing else.
        if "argparse.Namespace" in str(error) and zipfile.is_zipfile(path):
            return _read_zip_pickle_restricted(path)
        reason = next(
            (line for line in first_line if "GLOBAL" in line or "Unsupported" in line), first_line[0]
        )
        raise UnsafePickleError(
            f"refusing to load {path}: it holds Python objects other than numpy arrays, tensors, lists, dicts "
            f"and numbers, which could run code when unpickled ({reason.strip()})"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(
            f"{path} is not a readable torch.save file ({error}); it may be truncated"
        ) from error
    return loaded


def _read_zip_pickle_restricted(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
        return restricted_loads(archive.read(name))
