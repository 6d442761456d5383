"""Voice accuracy: speaker-independent cross-validation on EmoDB, CARAT on the voice stream against the standard
baseline, both measured in this run.

    .venv/bin/python benchmarks/voice_accuracy.py [--json] [--emodb ../shared/data/emodb] [--work build/voice]

Data: EmoDB's clips (../shared/data/emodb, 8 speakers) through `main.py prepare` as voice-only live-shaped
windows (trainer/emodb.py `live_windows`: each clip with room around it, 7 windows from half a second into
it to 1.5 s after it, as the live engine scores it; the same extractors and window shape as live:
trainer/presets.py STREAMS_WINDOW). CARAT trains on every window of its speakers; a clip's scores are the
mean of its windows' scores.
Folds: the 8 speakers shuffled by a fixed seed into 4 folds of 2; each fold's 2 speakers are tested on a
model that never heard them. CARAT trains on 5 of the other 6, with the 6th (the next speaker in the
shuffled order) as validation: the epoch count and the decision threshold are chosen there, never on the
test speakers. Then it is trained again, from scratch, on all 6 for that many epochs and keeps that
threshold: that refitted model gives the figures, so CARAT and the baseline learn from the same speakers
(the first model's test UAR is reported beside it per fold, `carat_uar_five_speakers`).

Six classes (happy, sad, angry, fear, disgust, neutral; boredom counts as neutral: it carries none of
the labels): CARAT's class is its best label above the threshold, or neutral when none passes
(trainer/emodb.py `six_class`). Reported: unweighted average recall (UAR) over the six and each class's
recall, over all test clips of all folds.

Baseline: openSMILE eGeMAPSv02 functionals (88 per clip), standardised, multinomial logistic regression
(scikit-learn), trained on the same 6 speakers (train + validation) of each fold.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feature_extractors.acoustic import SAMPLE_RATE
from trainer.emodb import (
    CLASSES,
    LIVE_ENDS,
    SEED,
    class_of_letter,
    clip_scores,
    fold_dataset,
    folds,
    prepared_emodb,
    read_labels,
    recalls,
    refit_voice_carat,
    six_class,
    train_voice_carat,
    uar,
)


def egemaps_functionals(emodb: Path, files: list[str]) -> np.ndarray:
    """The baseline's features: eGeMAPSv02 functionals of each whole clip (at 16 kHz)."""
    import opensmile
    import soundfile
    import soxr

    smile = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)
    features = []
    for name in files:
        samples, rate = soundfile.read(emodb / "wav" / name, dtype="float32")
        samples = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)
        features.append(smile.process_signal(samples, SAMPLE_RATE).to_numpy()[0])
    return np.stack(features).astype(np.float64)


def baseline_predictions(features: np.ndarray, truth: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0))
    model.fit(features[train], truth[train])
    return model.predict(features[test])


def run(emodb: Path, work: Path, epochs: int) -> dict:
    from trainer.loop import predict_scores

    began = time.perf_counter()
    dataset, windows = prepared_emodb(emodb, work)
    rows = read_labels(emodb)
    files = [r["file"] for r in rows]
    speaker = np.array([r["speaker"] for r in rows])
    truth = np.array([class_of_letter(r["emodb_letter"]) for r in rows])
    window_speaker = np.array([w["speaker"] for w in windows])
    functionals = egemaps_functionals(emodb, files)
    carat_predicted = np.empty(len(rows), object)
    baseline_predicted = np.empty(len(rows), object)
    per_fold = []
    for number, (test, valid, train) in enumerate(folds(sorted(set(speaker)))):
        fold = fold_dataset(dataset, window_speaker, train, [valid], test)
        run_dir = work / "cv" / f"fold{number}"
        valid_windows = [w for w in windows if w["speaker"] == valid]
        chooser, threshold, epoch = train_voice_carat(fold, run_dir, epochs, valid_windows)
        # The figures come from the model refitted on all 6 of the fold's speakers (the baseline's training
        # speakers too) for the epochs chosen on the validation speaker, with its threshold.
        refitted = fold_dataset(dataset, window_speaker, train + [valid], [valid], test)
        model = refit_voice_carat(refitted, run_dir / "refit", epoch, threshold)
        test_windows = [w for w in windows if w["speaker"] in test]
        tested_files, chosen_predicted = None, {}
        for name, judged in (("refit", model), ("five_speakers", chooser)):
            scores, tested_files = clip_scores(
                predict_scores(judged, fold.split("test"), absent=("text", "visual")), test_windows
            )
            chosen_predicted[name] = six_class(scores, judged.config.labels, np.asarray(judged.config.thresholds()))
        tested = np.array([files.index(f) for f in tested_files])
        carat_predicted[tested] = chosen_predicted["refit"]
        seen = np.isin(speaker, train + [valid])
        baseline_predicted[tested] = baseline_predictions(functionals, truth, seen, tested)
        per_fold.append(
            {
                "test_speakers": test,
                "valid_speaker": valid,
                "epoch": epoch,
                "threshold": threshold,
                "carat_uar": uar(truth[tested], carat_predicted[tested]),
                "carat_uar_five_speakers": uar(truth[tested], chosen_predicted["five_speakers"]),
                "baseline_uar": uar(truth[tested], baseline_predicted[tested]),
            }
        )
        (run_dir / "fold.json").write_text(json.dumps(per_fold[-1]), encoding="utf-8")
        print(f"fold {number}: {json.dumps(per_fold[-1])}", file=sys.stderr, flush=True)
    carat_predicted, baseline_predicted = carat_predicted.astype(str), baseline_predicted.astype(str)
    return {
        "clips": len(rows),
        "windows_per_clip": len(LIVE_ENDS),
        "speakers": sorted(set(speaker)),
        "classes": list(CLASSES),
        "class_counts": {c: int((truth == c).sum()) for c in CLASSES},
        "seed": SEED,
        "folds": per_fold,
        "carat": {"uar": uar(truth, carat_predicted), "recall": recalls(truth, carat_predicted)},
        "baseline": {
            "name": "eGeMAPSv02 functionals (88) + logistic regression",
            "uar": uar(truth, baseline_predicted),
            "recall": recalls(truth, baseline_predicted),
        },
        "epochs": epochs,
        "seconds": round(time.perf_counter() - began, 1),
    }


def table(result: dict) -> str:
    lines = [
        (
            f"EmoDB, {result['clips']} clips of {len(result['speakers'])} speakers, {len(result['folds'])} folds of "
            f"held-out speakers (seed {result['seed']}), six classes, {result['seconds']:.0f} s"
        ),
        f"{'':<10}{'CARAT (voice)':>15}{'baseline':>12}",
        f"{'UAR':<10}{result['carat']['uar']:>15.3f}{result['baseline']['uar']:>12.3f}",
    ]
    for name in result["classes"]:
        lines.append(f"{name:<10}{result['carat']['recall'][name]:>15.3f}{result['baseline']['recall'][name]:>12.3f}")
    lines.append(f"baseline: {result['baseline']['name']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", type=Path, default=ROOT.parent / "shared" / "data" / "emodb")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "voice")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(args.emodb, args.work, args.epochs)
    # scripts/train_voice.py reads the folds' epochs and thresholds (and the card's figures) from here.
    (args.work / "voice_accuracy.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
