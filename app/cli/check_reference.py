"""Compare our model with the authors' reference tensors (a file made by their implementation)."""

from __future__ import annotations

import argparse
from pathlib import Path

from carat_model.reference_check import compare, load_reference


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="reference-tensor file (like official-carat-vectors-aligned.pt)")


def run(args: argparse.Namespace) -> int:
    reference = load_reference(args.file)
    mode = "aligned" if reference["config"].get("aligned", True) else "unaligned"
    batch = reference["inputs"]["labels"].shape[0]
    print(f"{args.file}: {mode}, batch {batch}")
    differences = compare(reference)
    width = max(len(d.name) for d in differences)
    print(f"{'tensor':<{width}}  {'largest |diff|':>14}  {'tolerance':>9}")
    for d in differences:
        print(f"{d.name:<{width}}  {d.largest:>14.3e}  {d.tolerance:>9.0e}  {'ok' if d.ok else 'FAIL'}")
    failed = [d.name for d in differences if not d.ok]
    if failed:
        print(f"beyond tolerance: {', '.join(failed)}")
        return 1
    print("all within tolerance")
    return 0
