"""Write synthetic data in the official aligned CMU-MOSEI layout (for tests and benchmarks only).

Labels depend on the modalities as trainer/synthetic.py describes: happy, sad and angry each visible in
one modality (text, visual, audio), surprise, disgust and fear only in a combination of two.
"""

from __future__ import annotations

import argparse

from trainer.synthetic import SyntheticSizes, best_micro_f1_without, generate_synthetic, write_official_aligned

from .common import add_settings_arguments, settings_from_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="file to write (.pt)")
    parser.add_argument(
        "--mosei-sized",
        action="store_true",
        help="CMU-MOSEI's split sizes, feature sizes (300/35/74) and lengths (up to 60)",
    )
    add_settings_arguments(parser, SyntheticSizes, unset=True)  # unset: the base is MOSEI-sized or not
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    base = SyntheticSizes.mosei_sized() if args.mosei_sized else SyntheticSizes()
    sizes = settings_from_arguments(SyntheticSizes, args, base=base)
    if sizes.min_steps < 1 or sizes.max_steps < sizes.min_steps:
        print("make-synthetic: need 1 <= --min-steps <= --max-steps")
        return 2
    data = generate_synthetic(sizes, seed=args.seed)
    path = write_official_aligned(args.out, data.layout)
    print(
        f"wrote {path}: {sizes.train}/{sizes.valid}/{sizes.test} samples, features "
        f"{sizes.text_dim}/{sizes.visual_dim}/{sizes.audio_dim}, {sizes.min_steps}-{sizes.max_steps} steps"
    )
    bounds = {m: round(best_micro_f1_without(data, "test", m), 4) for m in ("text", "visual", "audio")}
    print(f"best test micro-F1 of any predictor ignoring a modality: {bounds}")
    return 0
