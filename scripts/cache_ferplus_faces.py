"""FER+ faces through the live face extractor once: landmarks, blendshapes and aligned crops, cached.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/cache_ferplus_faces.py [--data CARAT_DATA/ferplus/ferplus48.npz]

Writes build/face/ferplus_faces.npz (git-ignored: it holds crops of the FER2013 images, never commit it).
The CNN training script, the feature comparison and `main.py prepare` on the FER+ file read it instead of
landmarking 31,704 faces again (about 12 ms a face on one core).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.data_folders import corpus
from trainer.face_images import cache_face_observations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(corpus("ferplus") / "ferplus48.npz"))
    parser.add_argument("--out", default="build/face/ferplus_faces.npz")
    args = parser.parse_args()
    start = time.perf_counter()
    cache = cache_face_observations(Path(args.data), Path(args.out), progress=True)
    found = cache["found"]
    print(f"{found.mean():.4f} of {len(found)} faces found in {time.perf_counter() - start:.0f} s -> {args.out}")
    for split, name in ((0, "train"), (1, "valid")):
        print(f"  {name}: {found[cache['split'] == split].mean():.4f} found")


if __name__ == "__main__":
    main()
