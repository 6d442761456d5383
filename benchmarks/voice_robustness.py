"""Voice robustness: how much the voice branch's scores move when the microphone's gain changes or noise
is added, on clips of speakers the checkpoint never heard.

    .venv/bin/python benchmarks/voice_robustness.py [--checkpoint models/carat_voice_heldout.safetensors] [--json]

For every EmoDB clip of the checkpoint's held-out speakers (its header's `held_out_speakers`): the clip at
its own level, at -10 dB and -20 dB gain, and with noise at 20 dB SNR (white noise; and babble: four clips
of other speakers mixed), each through the voice extractor and `build_window` (the live window shape) and
the model. Reported: the mean absolute change of the six scores against the clip at its own level, per
10 dB of gain and for each noise, and the six-class UAR in each condition (trainer/emodb.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feature_extractors.acoustic import SAMPLE_RATE  # noqa: E402
from trainer.emodb import class_of_letter, read_labels, six_class, uar  # noqa: E402

SNR_DB = 20.0


def at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`noise` scaled so the clip's power over it is `snr_db`, added to the clip."""
    signal, noise_power = float(np.mean(clean**2)), float(np.mean(noise**2))
    return (clean + noise * np.sqrt(signal / (noise_power * 10 ** (snr_db / 10)))).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "carat_voice_heldout.safetensors")
    parser.add_argument("--emodb", type=Path, default=ROOT.parent / "shared" / "data" / "emodb")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import soundfile
    import soxr
    import torch

    from app.predictor import Predictor
    from feature_extractors.voice import VoiceExtractor
    from feature_extractors.windows import TimedRows, build_window

    torch.set_num_threads(1)
    predictor = Predictor(args.checkpoint)
    held_out = predictor.info.extra["held_out_speakers"]
    rows = read_labels(args.emodb)
    voice = VoiceExtractor()

    def load(name: str) -> np.ndarray:
        samples, rate = soundfile.read(args.emodb / "wav" / name, dtype="float32")
        return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)

    others = [load(r["file"]) for r in rows if r["speaker"] not in held_out][:4]
    babble = np.sum(others, axis=0)
    rng = np.random.default_rng(0)
    tested = [r for r in rows if r["speaker"] in held_out]
    conditions = {"own level": [], "-10 dB": [], "-20 dB": [], "white noise 20 dB SNR": [], "babble 20 dB SNR": []}
    empty = {m: TimedRows.empty(predictor.feature_spec.dims[m]) for m in ("text", "visual")}
    for row in tested:
        clip = load(row["file"])
        variants = {
            "own level": clip,
            "-10 dB": clip * np.float32(10 ** (-10 / 20)),
            "-20 dB": clip * np.float32(10 ** (-20 / 20)),
            "white noise 20 dB SNR": at_snr(clip, rng.standard_normal(len(clip)).astype(np.float32), SNR_DB),
            "babble 20 dB SNR": at_snr(clip, babble[: len(clip)], SNR_DB),
        }
        for name, samples in variants.items():
            window = build_window(
                empty["text"], empty["visual"], voice.extract(samples), 0.0, len(samples) / SAMPLE_RATE,
                aligned=predictor.aligned, lengths=predictor.lengths,
            )  # fmt: skip
            predictor.smoother.reset()  # each clip on its own
            conditions[name].append(np.array(predictor.predict(window, 0.0).raw_scores))
    labels, thresholds = predictor.labels, np.asarray(predictor.thresholds)
    truth = np.array([class_of_letter(r["emodb_letter"]) for r in tested])
    base = np.stack(conditions["own level"])
    result = {"checkpoint": str(args.checkpoint), "held_out_speakers": held_out, "clips": len(tested), "conditions": {}}
    for name, scores in conditions.items():
        scores = np.stack(scores)
        change = float(np.abs(scores - base).mean())
        if name.endswith("dB") and name.startswith("-"):
            change /= abs(float(name.split()[0])) / 10  # per 10 dB
        result["conditions"][name] = {
            "mean_abs_score_change" + (" per 10 dB" if name.startswith("-") else ""): round(change, 4),
            "uar": round(uar(truth, six_class(scores, labels, thresholds)), 3),
        }
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{result['clips']} clips of held-out speakers {held_out}, checkpoint {args.checkpoint}")
        for name, figures in result["conditions"].items():
            print(f"  {name:<24} " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
