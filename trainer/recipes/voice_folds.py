"""The voice recipe's folds: speaker-independent trainings over EmoDB and RAVDESS, and cross-corpus, CARAT on
the voice stream beside the standard baseline trained on exactly the same clips in the same run. They choose
the shipped voice checkpoint's epochs and threshold (trainer/recipes/voice.py) and give its card's figures;
benchmarks/voice_accuracy.py prints them.

Data: EmoDB (8 German speakers) and RAVDESS (actors 01-16, English) as voice-only live-shaped windows
(trainer/voice_corpora.py: each clip in a recording with room around it, 7 windows from half a second into
the speech to 1.5 s after it, made by `main.py prepare`'s code with the live extractors); a clip's scores are
the mean of its windows' scores.

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

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..live_clips import SEED
from ..loop import predict_scores
from ..synthetic_speech import false_alarms, synthetic_voice_windows
from ..voice_corpora import (
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
# The record's keys in the order the benchmark always wrote them (the voice card reads them).
RECORD_KEYS = (
    "seed",
    "classes",
    "epochs",
    "conditions",
    "ravdess",
    "emodb",
    "cross_corpus",
    "calm_voice_clip_false_alarm",
    "calm_voice_window_false_alarm",
    "tasks",
    "baseline",
    "jobs",
    "seconds",
)
ROOT = Path(__file__).resolve().parents[2]
RECORD = "voice_accuracy.json"  # the folds' figures, in the work folder


@dataclass(frozen=True)
class FoldSettings:
    """Where the voice windows and runs live, each training's epochs, and trainings at once (2 cores: 2)."""

    work: Path = ROOT / "build" / "voice"
    epochs: int = 10
    jobs: int = 2


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


def cross_validation(settings: FoldSettings = FoldSettings()) -> dict:
    """Every task trained (a rerun redoes only what is missing) and scored beside the baseline; the figures
    are written to settings.work/voice_accuracy.json and returned."""
    began = time.perf_counter()
    work, epochs, jobs = Path(settings.work), settings.epochs, settings.jobs
    clips = corpus_clips()
    results = train_tasks(clips, work, epochs, jobs)
    result = pooled_figures(clips, results)
    result.update(seed=SEED, epochs=epochs, jobs=jobs, seconds=round(time.perf_counter() - began, 1))
    result = {key: result[key] for key in RECORD_KEYS}
    (work / RECORD).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def recorded_or_run(settings: FoldSettings = FoldSettings()) -> dict:
    """The folds' figures this recipe wrote into settings.work before, or a fresh cross-validation."""
    path = Path(settings.work) / RECORD
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return cross_validation(settings)


def train_tasks(clips: list[dict[str, str]], work: Path, epochs: int, jobs: int) -> list[dict]:
    """Each task's evaluation (run_task), the windows prepared once before any task starts."""
    prepared_voice(work=work), prepared_voice(work=work, clean=True)
    synthetic_voice_windows(work), synthetic_voice_windows(work, held_out=True)
    plan = tasks(clips)
    if jobs > 1:  # trainings are independent: one process each, one torch thread in each
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(run_task, plan, [work] * len(plan), [epochs] * len(plan)))
    return [run_task(task, work, epochs) for task in plan]


def pooled_figures(clips: list[dict[str, str]], results: list[dict]) -> dict:
    """The tasks' clip classes pooled per corpus and per cross-corpus task, beside the baseline's."""
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
        "classes": list(CLASSES),
        "conditions": list(CONDITIONS),
        "ravdess": figures("ravdess"),
        "emodb": figures("emodb"),
        "cross_corpus": {name: figures(name) for name in ("emodb_to_ravdess", "ravdess_to_emodb")},
        "calm_voice_clip_false_alarm": float(np.mean([r["calm_voice"]["clip_false_alarm"] for r in folds])),
        "calm_voice_window_false_alarm": float(np.mean([r["calm_voice"]["window_false_alarm"] for r in folds])),
        "tasks": per_task,
        "baseline": "eGeMAPSv02 functionals (88) + logistic regression, trained on the same clips as recorded",
    }
