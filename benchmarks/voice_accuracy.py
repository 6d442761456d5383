"""Voice accuracy: speaker-independent cross-validation on EmoDB, CARAT on the voice stream against the standard
baseline, both measured in this run.

    .venv/bin/python benchmarks/voice_accuracy.py [--json] [--folds 4] [--emodb ../shared/data/emodb] [--work build/voice]

Data: EmoDB's clips (../shared/data/emodb, 8 speakers) through `main.py prepare` as voice-only live-shaped
windows (trainer/emodb.py `live_windows`: each clip with room around it, 7 windows from half a second into
it to 1.5 s after it, as the live engine scores it; the same extractors and window shape as live:
trainer/presets.py STREAMS_WINDOW). CARAT trains on every window of its speakers; a clip's scores are the
mean of its windows' scores.
Folds: the 8 speakers shuffled by a fixed seed into 4 folds of 2 (`--folds 8`: leave one speaker out, the
usual protocol on EmoDB, whose folds train on 7 speakers); each fold's speakers are tested on a model that
never heard them. Below, for 4 folds: CARAT trains on 5 of the other 6, with the 6th (the next speaker in the
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
    CALM_CLIPS,
    CLASSES,
    FOLDS,
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
    with_calm_voices,
)
from trainer.synthetic_speech import false_alarms, synthetic_voice_windows


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


def cv_dir(work: Path, count: int) -> Path:
    """The folds' runs: work/cv for the default folds (scripts/train_voice.py reads them), else work/cv-N."""
    return work / ("cv" if count == FOLDS else f"cv-{count}")


def results_name(count: int) -> str:
    return "voice_accuracy.json" if count == FOLDS else f"voice_accuracy_{count}_folds.json"


def fold_figures(number: int, emodb: Path, work: Path, epochs: int, count: int = FOLDS) -> dict:
    """One fold, in a process of its own (--jobs): CARAT chosen on the validation speaker, refitted on all 6,
    its six-class predictions for the test speakers' clips, and its false alarms on the held-out calm voices."""
    import torch

    from trainer.loop import predict_scores

    torch.set_num_threads(1)  # two threads on two busy shared cores ran up to 10x slower (measured)
    dataset, windows = prepared_emodb(emodb, work)
    calm, calm_windows = synthetic_voice_windows(work, held_out=True)
    speaker = sorted({w["speaker"] for w in windows})
    test, valid, train = folds(speaker, count)[number]
    window_speaker = np.array([w["speaker"] for w in windows])
    fold = with_calm_voices(fold_dataset(dataset, window_speaker, train, [valid], test), work)
    run_dir = cv_dir(work, count) / f"fold{number}"
    valid_windows = [w for w in windows if w["speaker"] == valid]
    chooser, threshold, epoch = train_voice_carat(fold, run_dir, epochs, valid_windows)
    # The figures come from the model refitted on all 6 of the fold's speakers (the baseline's training
    # speakers too) for the epochs chosen on the validation speaker, with its threshold.
    refitted = with_calm_voices(fold_dataset(dataset, window_speaker, train + [valid], [valid], test), work)
    model = refit_voice_carat(refitted, run_dir / "refit", epoch, threshold)
    test_windows = [w for w in windows if w["speaker"] in test]
    predicted, files = {}, None
    for name, judged in (("refit", model), ("five_speakers", chooser)):
        scores, files = clip_scores(predict_scores(judged, fold.split("test"), absent=("text", "visual")), test_windows)
        predicted[name] = six_class(scores, judged.config.labels, np.asarray(judged.config.thresholds())).tolist()
    calm_scores = predict_scores(model, calm.split("train"), absent=("text", "visual"))
    return {
        "fold": {"test_speakers": test, "valid_speaker": valid, "epoch": epoch, "threshold": threshold,
                 "calm_voice": false_alarms(calm_scores, calm_windows, model.config.thresholds())},
        "files": files, "predicted": predicted,
    }  # fmt: skip


def run(emodb: Path, work: Path, epochs: int, jobs: int = 1, count: int = FOLDS) -> dict:
    began = time.perf_counter()
    # prepared once, before any fold starts
    prepared_emodb(emodb, work), synthetic_voice_windows(work), synthetic_voice_windows(work, held_out=True)
    rows = read_labels(emodb)
    files = [r["file"] for r in rows]
    speaker = np.array([r["speaker"] for r in rows])
    truth = np.array([class_of_letter(r["emodb_letter"]) for r in rows])
    functionals = egemaps_functionals(emodb, files)
    if jobs > 1:  # folds are independent: one process each, one torch thread in each
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(fold_figures, range(count), *zip(*[(emodb, work, epochs, count)] * count)))
    else:
        results = [fold_figures(number, emodb, work, epochs, count) for number in range(count)]
    carat_predicted = np.empty(len(rows), object)
    baseline_predicted = np.empty(len(rows), object)
    per_fold = []
    for number, result in enumerate(results):
        fold = result["fold"]
        tested = np.array([files.index(f) for f in result["files"]])
        carat_predicted[tested] = result["predicted"]["refit"]
        seen = np.isin(speaker, fold["test_speakers"], invert=True)
        baseline_predicted[tested] = baseline_predictions(functionals, truth, seen, tested)
        fold.update(
            carat_uar=uar(truth[tested], carat_predicted[tested]),
            carat_uar_five_speakers=uar(truth[tested], np.array(result["predicted"]["five_speakers"])),
            baseline_uar=uar(truth[tested], baseline_predicted[tested]),
        )
        per_fold.append(fold)
        (cv_dir(work, count) / f"fold{number}" / "fold.json").write_text(json.dumps(fold), encoding="utf-8")
        print(f"fold {number}: {json.dumps(fold)}", file=sys.stderr, flush=True)
    carat_predicted, baseline_predicted = carat_predicted.astype(str), baseline_predicted.astype(str)
    calm = [f["calm_voice"] for f in per_fold]
    return {
        "clips": len(rows),
        "windows_per_clip": len(LIVE_ENDS),
        "speakers": sorted(set(speaker)),
        "classes": list(CLASSES),
        "class_counts": {c: int((truth == c).sum()) for c in CLASSES},
        "seed": SEED,
        "folds": per_fold,
        "carat": {
            "uar": uar(truth, carat_predicted),
            "recall": recalls(truth, carat_predicted),
            # held-out espeak-ng voices saying held-out lines: no emotion in them, so any label is false
            "calm_voice_clip_false_alarm": float(np.mean([c["clip_false_alarm"] for c in calm])),
            "calm_voice_window_false_alarm": float(np.mean([c["window_false_alarm"] for c in calm])),
            "calm_voice_clips": calm[0]["clips"],
        },
        "baseline": {
            "name": "eGeMAPSv02 functionals (88) + logistic regression",
            "uar": uar(truth, baseline_predicted),
            "recall": recalls(truth, baseline_predicted),
        },
        "training": {"class_balanced": True, "calm_voice_clips": CALM_CLIPS, "epochs": epochs},
        "epochs": epochs,
        "jobs": jobs,
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
    lines.append(
        f"calm voices raising a label (CARAT, mean of folds): {result['carat']['calm_voice_clip_false_alarm']:.3f} "
        f"of {result['carat']['calm_voice_clips']} held-out clips, "
        f"{result['carat']['calm_voice_window_false_alarm']:.3f} of their windows"
    )
    lines.append(f"baseline: {result['baseline']['name']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", type=Path, default=ROOT.parent / "shared" / "data" / "emodb")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "voice")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2, help="folds trained at once, a process each (2 cores: 2)")
    parser.add_argument(
        "--folds", type=int, default=FOLDS, choices=(2, 4, 8), help="folds of held-out speakers (8: leave one out)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(args.emodb, args.work, args.epochs, args.jobs, args.folds)
    # scripts/train_voice.py reads the folds' epochs and thresholds (and the card's figures) from here.
    (args.work / results_name(args.folds)).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
