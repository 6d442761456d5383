"""Which face features carry expression: plain classifiers on each candidate, FER+ validation faces.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/compare_face_features.py [--cnn]

Reads the live extractor's observations of FER+ (scripts/cache_ferplus_faces.py). Candidates: the 17
landmark-geometry features, the 52 FaceLandmarker blendshapes, both, and with --cnn the expression CNN's
64-d embedding (alone and with the others). Each: standardised, multinomial logistic regression trained on
FER+ train (faces found, majority class among neutral + our six), scored on the validation half of FER+
valid (held_out_halves; the test half is not read). Faces the extractor missed are left out here (same
for every candidate). Prints 7-class majority accuracy and UAR per candidate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.face_images import held_out_halves, majority_class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default="build/face/ferplus_faces.npz")
    parser.add_argument("--cnn", action="store_true", help="also the expression CNN's embedding")
    parser.add_argument("--cnn-weights", help="the CNN's weights (default: the shipped ones)")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from feature_extractors.visual import face_features

    cache = np.load(args.cache)
    found, split = cache["found"], cache["split"]
    truth = majority_class(cache["votes"])
    train = np.flatnonzero(found & (split == 0) & (truth >= 0))
    validation = held_out_halves(split)[0]
    validation = validation[found[validation] & (truth[validation] >= 0)]
    rows = np.concatenate([train, validation])
    geometry = np.stack([face_features(p.astype(np.float64)) for p in cache["points"][rows]])
    parts = {"geometry (17)": geometry, "blendshapes (52)": cache["blendshapes"][rows]}
    if args.cnn:
        from feature_extractors.expression_cnn import DEFAULT_WEIGHTS, ExpressionEmbedder

        crops = cache["crops"][rows]
        for mirrored, name in ((False, "CNN embedding (64)"), (True, "CNN embedding, mirror-averaged (64)")):
            embedder = ExpressionEmbedder(args.cnn_weights or DEFAULT_WEIGHTS, mirrored=mirrored)
            parts[name] = np.concatenate([embedder.embed(crops[i : i + 512])[0] for i in range(0, len(crops), 512)])
    candidates = {name: [name] for name in parts}  # each alone, then combinations
    candidates["geometry + blendshapes (69)"] = ["geometry (17)", "blendshapes (52)"]
    if args.cnn:
        candidates["CNN + blendshapes (116)"] = ["CNN embedding (64)", "blendshapes (52)"]
        candidates["all three (133)"] = ["geometry (17)", "blendshapes (52)", "CNN embedding (64)"]
        candidates["all three, mirror-averaged CNN (133)"] = [
            "geometry (17)", "blendshapes (52)", "CNN embedding, mirror-averaged (64)"
        ]
    n = len(train)
    print(f"{n} training faces, {len(validation)} validation faces (found, majority in the 7 classes)")
    for name, members in candidates.items():
        x = np.concatenate([parts[m] for m in members], axis=1)
        scaler = StandardScaler().fit(x[:n])
        start = time.perf_counter()
        model = LogisticRegression(max_iter=2000, C=1.0).fit(scaler.transform(x[:n]), truth[train])
        predicted = model.predict(scaler.transform(x[n:]))
        y = truth[validation]
        uar = np.mean([(predicted[y == k] == k).mean() for k in range(7)])
        seconds = time.perf_counter() - start
        print(f"{name:38s} accuracy {(predicted == y).mean():.4f}  UAR {uar:.4f}  ({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
