"""Which voice features carry emotion: the measurement behind feature_extractors/voice.py's choice.

    .venv/bin/python benchmarks/voice_features.py [--emodb ../shared/data/emodb]   (about 8 minutes, 1 core)

EmoDB, leave one speaker out (8 folds), six classes (boredom counts as neutral), standardised features and
a plain logistic regression (scikit-learn, C=1) per fold; UAR over all clips. Candidates:
- eGeMAPSv02 functionals (88 per clip); eGeMAPSv02 low-level descriptors + voicing, mean and std per clip;
- Whisper tiny.en encoder states (CTranslate2), mean and std, over the whole 2 s clip (raw and peak-scaled);
- rows like a live stream's: spans of 1.0 s or 1.5 s ending every 0.25 s from 0.5 s (raw or peak-scaled),
  a classifier on rows with the clip's class from its rows' mean probability; also span-level eGeMAPS.
Prints one line per candidate, with its cost in ms per second of audio on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feature_extractors.acoustic import SAMPLE_RATE  # noqa: E402
from trainer.emodb import class_of_letter, read_labels, uar  # noqa: E402

ENDS = np.arange(0.5, 2.0001, 0.25)


def loso(features: np.ndarray, truth: np.ndarray, speakers: np.ndarray) -> float:
    """features [N, D] (one per clip) or [N, R, D] (rows; the clip takes its rows' mean probability)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    predicted = np.empty(len(truth), object)
    for speaker in np.unique(speakers):
        test, train = speakers == speaker, speakers != speaker
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))
        if features.ndim == 3:
            rows = features.shape[1]
            model.fit(features[train].reshape(-1, features.shape[2]), np.repeat(truth[train], rows))
            scores = model.predict_proba(features[test].reshape(-1, features.shape[2]))
            predicted[test] = model.classes_[scores.reshape(test.sum(), rows, -1).mean(1).argmax(1)]
        else:
            predicted[test] = model.fit(features[train], truth[train]).predict(features[test])
    return uar(truth, predicted.astype(str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", type=Path, default=ROOT.parent / "shared" / "data" / "emodb")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # sklearn's convergence chatter
    import opensmile
    import soundfile
    import soxr

    from feature_extractors.acoustic import AcousticExtractor
    from feature_extractors.voice import VoiceExtractor, normalise_span

    rows = read_labels(args.emodb)
    truth = np.array([class_of_letter(r["emodb_letter"]) for r in rows])
    speakers = np.array([r["speaker"] for r in rows])
    voice, lld = VoiceExtractor(), AcousticExtractor()
    functionals = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)

    def mean_and_std(values: np.ndarray) -> np.ndarray:
        return np.concatenate([values.mean(0), values.std(0)])

    def whisper(samples: np.ndarray) -> np.ndarray:
        return mean_and_std(voice.encoder_states(samples))

    def scaled(samples: np.ndarray) -> np.ndarray:
        found = normalise_span(samples)
        return samples if found is None else found  # a span of padding only stays silent

    candidates = {
        "eGeMAPS functionals (88), per clip": lambda x: functionals.process_signal(x, SAMPLE_RATE).to_numpy()[0],
        "eGeMAPS LLD mean+std (52), per clip": lambda x: mean_and_std(lld.extract(x).values),
        "Whisper enc mean+std, whole clip, raw": whisper,
        "Whisper enc mean+std, whole clip, peak-scaled": lambda x: whisper(scaled(x)),
    }
    spans = {
        f"Whisper rows, {span:g} s spans, {kind}": (span, kind)
        for span in (1.0, 1.5)
        for kind in ("raw", "peak-scaled")
    }
    spans["eGeMAPS functionals rows, 1.5 s spans"] = (1.5, "functionals")
    spans["eGeMAPS functionals rows, 1.0 s spans"] = (1.0, "functionals")
    spans["Whisper rows 1.0 s peak-scaled + eGeMAPS functionals 1.0 s"] = (1.0, "both")
    found: dict[str, list] = {name: [] for name in list(candidates) + list(spans)}
    cost: dict[str, float] = dict.fromkeys(found, 0.0)
    audio_s = 0.0
    for row in rows:
        samples, rate = soundfile.read(args.emodb / "wav" / row["file"], dtype="float32")
        samples = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)
        audio_s += len(samples) / SAMPLE_RATE
        for name, make in candidates.items():
            began = time.perf_counter()
            found[name].append(make(samples))
            cost[name] += time.perf_counter() - began
        for name, (span, kind) in spans.items():
            began = time.perf_counter()
            pieces = [samples[int(max(0.0, end - span) * SAMPLE_RATE) : int(end * SAMPLE_RATE)] for end in ENDS]
            if kind in ("functionals", "both"):
                rows_of = [functionals.process_signal(p, SAMPLE_RATE).to_numpy()[0] for p in pieces]
                if kind == "both":
                    rows_of = [np.concatenate([whisper(scaled(p)), f]) for p, f in zip(pieces, rows_of)]
                found[name].append(np.stack(rows_of))
            else:
                found[name].append(np.stack([whisper(scaled(p) if kind != "raw" else p) for p in pieces]))
            cost[name] += time.perf_counter() - began
    print(f"EmoDB {len(rows)} clips, leave one speaker out, six classes, logistic regression")
    for name, values in found.items():
        features = np.stack(values).astype(np.float64)
        print(f"  {name:<48} UAR {loso(features, truth, speakers):.3f}   {1000 * cost[name] / audio_s:6.1f} ms/s audio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
