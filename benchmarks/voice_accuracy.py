"""Voice accuracy: speaker-independent folds over EmoDB and RAVDESS, and cross-corpus, CARAT on the voice
stream beside the standard baseline trained on exactly the same clips in the same run.

    .venv/bin/python benchmarks/voice_accuracy.py [--json] [--epochs 10] [--jobs 2] [--work build/voice]

Data: EmoDB (../shared/data/emodb, 8 German speakers) and RAVDESS (../shared/data/ravdess, actors 01-16,
English) as voice-only live-shaped windows (trainer/voice_corpora.py: each clip in a recording with room
around it, 7 windows from half a second into the speech to 1.5 s after it, made by `main.py prepare`'s
code with the live extractors); a clip's scores are the mean of its windows' scores.

Folds (seed 0): EmoDB leave one speaker out (8 folds); RAVDESS in 4 groups of 4 actors (2 male, 2 female,
drawn by the seed). Fold k tests EmoDB speaker k and RAVDESS group k mod 4, so each RAVDESS actor is tested
twice, by two models that never heard them (its figures count both). Fold k's validation (the epoch the
training loop keeps, and one threshold for every label, chosen on the validation clips' seven-class UAR) is
the next EmoDB speaker and one male and one female actor of the next RAVDESS group; it trains on the rest
(6 EmoDB speakers, 10 RAVDESS actors), the calm synthetic voices and noise-only windows. Figures come from
that model (no refit). Cross-corpus: trained on EmoDB alone (one speaker for validation) and tested on all of
RAVDESS 01-16, and trained on RAVDESS alone (two actors for validation) and tested on all of EmoDB.

A clip none of whose windows holds speech (the speech gate kept no voice row: a few quiet RAVDESS clips) is
scored as live shows it: no vote, so neutral.

Seven classes (the six labels and neutral; RAVDESS calm and EmoDB boredom are neutral): CARAT's class is its
best label above the threshold, or neutral when none passes. UAR is over the classes present (EmoDB has no
surprise: its UAR is over six, though CARAT may still answer surprise).

Baseline: openSMILE eGeMAPSv02 functionals (88 per clip, of the clean clip), standardised, multinomial
logistic regression (scikit-learn), trained on the same speakers' clips (train + validation) of each task.
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

from trainer.emodb import SEED
from trainer.voice_corpora import (
    CLASSES,
    best_threshold,
    clip_scores_of,
    confusion,
    corpus_clips,
    decide,
    fit_voice,
    prepared_voice,
    read_clip,
    recalls,
    split_dataset,
    uar,
)

# Test clips are scored twice: as recorded (in digital silence: comparable with other work, and what the
# baseline hears), and in a webcam user's room (the training windows' recipe: a room sound around the clip,
# and half of the clips through a webcam's channel).
CONDITIONS = ("recorded", "webcam_room")


def speaker_groups(clips: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    """EmoDB's speakers in the seed's order, and RAVDESS's actors in 4 groups of 2 male + 2 female."""
    rng = np.random.default_rng(SEED)
    emodb = sorted({c["speaker"] for c in clips if c["corpus"] == "emodb"})
    emodb = [emodb[i] for i in rng.permutation(len(emodb))]
    by_sex = {
        sex: sorted({c["speaker"] for c in clips if c["corpus"] == "ravdess" and c["sex"] == sex}) for sex in "mf"
    }
    for sex in "mf":
        by_sex[sex] = [by_sex[sex][i] for i in rng.permutation(len(by_sex[sex]))]
    groups = [by_sex["m"][2 * g : 2 * g + 2] + by_sex["f"][2 * g : 2 * g + 2] for g in range(4)]
    return emodb, groups


def tasks(clips: list[dict[str, str]]) -> list[dict]:
    """Every training of the benchmark: its name, test, validation and training speakers."""
    emodb, groups = speaker_groups(clips)
    every = emodb + [a for g in groups for a in g]
    result = []
    for k in range(len(emodb)):
        next_group = groups[(k + 1) % 4]
        test = [emodb[k]] + groups[k % 4]
        valid = [emodb[(k + 1) % len(emodb)], next_group[0], next_group[2]]
        result.append({"name": f"fold{k}", "test": test, "valid": valid,
                       "train": [s for s in every if s not in test + valid] + ["noise"]})  # fmt: skip
    ravdess = [a for g in groups for a in g]
    result.append({"name": "emodb_to_ravdess", "test": ravdess, "valid": [emodb[0]], "train": emodb[1:] + ["noise"]})
    result.append({"name": "ravdess_to_emodb", "test": emodb, "valid": [groups[0][0], groups[0][2]],
                   "train": [a for a in ravdess if a not in (groups[0][0], groups[0][2])] + ["noise"]})  # fmt: skip
    return result


def run_task(task: dict, work: Path, epochs: int) -> dict:
    """One training in a process of its own (--jobs), and its test clips' classes in both conditions
    (CONDITIONS) with one threshold chosen on the validation clips of both, and its calm-voice false alarms."""
    from trainer.loop import predict_scores
    from trainer.synthetic_speech import false_alarms, synthetic_voice_windows

    run_dir = work / "cv" / task["name"]
    if (run_dir / "evaluation.json").is_file():  # done by an earlier run: a rerun redoes only what is missing
        return json.loads((run_dir / "evaluation.json").read_text(encoding="utf-8"))
    prepared = {condition: prepared_voice(work=work, clean=condition == "recorded") for condition in CONDITIONS}
    dataset, windows = prepared["webcam_room"]
    model, epoch = fit_voice(split_dataset(dataset, windows, task["train"], task["valid"], []), run_dir, epochs, work)
    scored = {}
    for condition, (data, rows) in prepared.items():
        split = split_dataset(data, rows, [], task["valid"], task["test"])
        scored[condition] = {
            part: clip_scores_of(model, split.split(part), [w for w in rows if w["speaker"] in task[part]])
            for part in ("valid", "test")
        }
    truth = {c["file"]: c["class"] for c in corpus_clips()}
    valid_scores = np.concatenate([scored[c]["valid"][0] for c in CONDITIONS])
    valid_truth = np.array([truth[f] for c in CONDITIONS for f in scored[c]["valid"][1]])
    threshold = best_threshold(valid_scores, model.config.labels, valid_truth)
    model.set_label_thresholds([threshold] * len(model.config.labels))
    files = [c["file"] for c in corpus_clips() if c["speaker"] in task["test"]]
    predicted, voiceless = {}, {}
    for condition in CONDITIONS:
        scores, scored_files = scored[condition]["test"]
        # A clip none of whose windows holds speech (the gate kept no row) gets no vote: neutral, as live.
        decided = dict(zip(scored_files, decide(scores, model.config.labels, model.config.thresholds())))
        predicted[condition] = [decided.get(f, "neutral") for f in files]
        voiceless[condition] = len(files) - len(decided)
    calm, calm_windows = synthetic_voice_windows(work, held_out=True)
    calm_scores = predict_scores(model, calm.split("train"), absent=("text", "visual"))
    figures = {**task, "epoch": epoch, "threshold": threshold, "files": files, "predicted": predicted,
               "voiceless_clips": voiceless,
               "calm_voice": false_alarms(calm_scores, calm_windows, model.config.thresholds())}  # fmt: skip
    (run_dir / "evaluation.json").write_text(json.dumps(figures), encoding="utf-8")
    print(f"voice: {task['name']}: epoch {epoch}, threshold {threshold:.3f}", file=sys.stderr, flush=True)
    return figures


def egemaps_functionals(clips: list[dict[str, str]]) -> np.ndarray:
    """The baseline's features: eGeMAPSv02 functionals of each whole clean clip (16 kHz)."""
    import opensmile

    smile = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)
    return np.stack([smile.process_signal(read_clip(c["path"]), 16000).to_numpy()[0] for c in clips]).astype(np.float64)


def baseline_predictions(features, truth, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0))
    model.fit(features[train], truth[train])
    return model.predict(features[test])


def figures_of(truth: np.ndarray, carat: np.ndarray, baseline: np.ndarray) -> dict:
    present = [c for c in CLASSES if (truth == c).any()]
    return {
        "clips": len(truth),
        "classes": present,
        "carat": {"uar": uar(truth, carat), "recall": recalls(truth, carat), "confusion": confusion(truth, carat)},
        "baseline": {
            "uar": uar(truth, baseline),
            "recall": recalls(truth, baseline),
            "confusion": confusion(truth, baseline),
        },
    }


def run(work: Path, epochs: int, jobs: int) -> dict:
    began = time.perf_counter()
    clips = corpus_clips()
    prepared_voice(work=work), prepared_voice(work=work, clean=True)  # prepared once, before any task starts
    from trainer.synthetic_speech import synthetic_voice_windows

    synthetic_voice_windows(work), synthetic_voice_windows(work, held_out=True)
    plan = tasks(clips)
    if jobs > 1:  # trainings are independent: one process each, one torch thread in each
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(run_task, plan, [work] * len(plan), [epochs] * len(plan)))
    else:
        results = [run_task(task, work, epochs) for task in plan]
    print("voice_accuracy: the baseline's features", file=sys.stderr, flush=True)
    functionals = egemaps_functionals(clips)
    files = [c["file"] for c in clips]
    truth_of = {c["file"]: c["class"] for c in clips}
    speaker = np.array([c["speaker"] for c in clips])
    truth = np.array([c["class"] for c in clips])
    corpus = {c["file"]: c["corpus"] for c in clips}
    names = ("emodb", "ravdess", "emodb_to_ravdess", "ravdess_to_emodb")
    pooled = {name: {"truth": [], "baseline": [], **{c: [] for c in CONDITIONS}} for name in names}
    per_task = []
    for result in results:
        tested = np.array([files.index(f) for f in result["files"]])
        seen = np.isin(speaker, result["train"] + result["valid"])
        baseline = baseline_predictions(functionals, truth, seen, tested)
        for position, file in enumerate(result["files"]):
            key = result["name"] if not result["name"].startswith("fold") else corpus[file]
            pooled[key]["truth"].append(truth_of[file])
            pooled[key]["baseline"].append(baseline[position])
            for condition in CONDITIONS:
                pooled[key][condition].append(result["predicted"][condition][position])
        row = {k: result[k] for k in ("name", "test", "valid", "epoch", "threshold", "voiceless_clips", "calm_voice")}
        row.update({f"carat_uar_{c}": uar(truth[tested], np.array(result["predicted"][c])) for c in CONDITIONS})
        row["baseline_uar"] = uar(truth[tested], baseline)
        per_task.append(row)
        print(f"{result['name']}: {json.dumps(row)}", file=sys.stderr, flush=True)
    folds = [r for r in per_task if r["name"].startswith("fold")]

    def figures(name: str) -> dict:
        got = {k: np.array(v) for k, v in pooled[name].items()}
        return {c: figures_of(got["truth"], got[c], got["baseline"]) for c in CONDITIONS}

    return {
        "seed": SEED,
        "classes": list(CLASSES),
        "epochs": epochs,
        "conditions": list(CONDITIONS),
        "ravdess": figures("ravdess"),
        "emodb": figures("emodb"),
        "cross_corpus": {name: figures(name) for name in ("emodb_to_ravdess", "ravdess_to_emodb")},
        "calm_voice_clip_false_alarm": float(np.mean([r["calm_voice"]["clip_false_alarm"] for r in folds])),
        "calm_voice_window_false_alarm": float(np.mean([r["calm_voice"]["window_false_alarm"] for r in folds])),
        "tasks": per_task,
        "baseline": "eGeMAPSv02 functionals (88) + logistic regression, trained on the same clips as recorded",
        "jobs": jobs,
        "seconds": round(time.perf_counter() - began, 1),
    }


def table(result: dict) -> str:
    lines = [
        (
            f"seven classes, seed {result['seed']}, {result['seconds'] / 60:.0f} min; UAR and recall of CARAT "
            "(voice) on the clips as recorded and in a webcam user's room, and of the baseline (as recorded)"
        )
    ]
    for title, both in (
        ("RAVDESS, 4 groups of 4 held-out actors (each tested twice)", result["ravdess"]),
        ("EmoDB, leave one speaker out", result["emodb"]),
        ("cross-corpus: EmoDB -> RAVDESS 01-16", result["cross_corpus"]["emodb_to_ravdess"]),
        ("cross-corpus: RAVDESS -> EmoDB", result["cross_corpus"]["ravdess_to_emodb"]),
    ):
        recorded, room = both["recorded"], both["webcam_room"]
        lines.append(f"{title}: {recorded['clips']} clip tests")
        lines.append(f"  {'':<10}{'recorded':>10}{'webcam room':>13}{'baseline':>10}")
        lines.append(
            f"  {'UAR':<10}{recorded['carat']['uar']:>10.3f}{room['carat']['uar']:>13.3f}{recorded['baseline']['uar']:>10.3f}"
        )
        for name in recorded["classes"]:
            lines.append(
                f"  {name:<10}{recorded['carat']['recall'][name]:>10.3f}{room['carat']['recall'][name]:>13.3f}"
                f"{recorded['baseline']['recall'][name]:>10.3f}"
            )
    lines.append(
        f"calm voices raising a label (mean of folds): {result['calm_voice_clip_false_alarm']:.3f} of clips, "
        f"{result['calm_voice_window_false_alarm']:.3f} of windows"
    )
    lines.append(f"baseline: {result['baseline']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "voice")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="trainings at once, a process each (2 cores: 2)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(args.work, args.epochs, args.jobs)
    # scripts/train_voice.py reads the folds' epochs and thresholds (and the card's figures) from here.
    (args.work / "voice_accuracy.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
