"""Make the shipped voice checkpoints from EmoDB and RAVDESS, after `benchmarks/voice_accuracy.py` has run.

    .venv/bin/python benchmarks/voice_accuracy.py      # folds: figures, epochs, thresholds
    .venv/bin/python scripts/train_voice.py [--no-ravdess] [--work build/voice] [--out models]

Writes, as float16 with `trained_modalities: ["audio"]` (the predictor lets only the voice vote):
- models/carat_voice.safetensors: trained on every EmoDB speaker and RAVDESS actor 01-16 (with the calm
  synthetic voices and noise-only windows) for the folds' median epoch count, with their median threshold
  (nothing is tuned on it);
- models/carat_voice_heldout.safetensors: the benchmark's fold that held out EmoDB speaker 10 (and a group
  of four RAVDESS actors), which never heard the speakers its header names (`held_out_speakers`,
  `held_out_ravdess_actors`): what the real-microphone tests and benchmarks/voice_robustness.py score;
- models/voice_metrics.json and models/VOICE_MODEL_CARD.md, from the benchmark's figures.

RAVDESS is CC BY-NC-SA 4.0, so these weights carry its terms. `--no-ravdess` makes the same checkpoint from
EmoDB alone (CC0), with the epochs and threshold of the benchmark's EmoDB-only training, into `--out`
(models/carat_voice.safetensors by default: give another folder to keep the shipped one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.emodb import CALM_CLIPS, CREDIT, SEED, VOICE_MIN_ROWS
from trainer.voice_corpora import RAVDESS_CREDIT, RAVDESS_LICENSE

HELD_OUT_EMODB = "emodb:10"
DATA = {
    True: "EmoDB (8 German speakers) and RAVDESS (actors 01-16, North American English), voice only",
    False: "EmoDB (Berlin Database of Emotional Speech), 8 speakers, German acted speech, voice only",
}
LICENSE = {True: f"CC0 1.0 (EmoDB) and {RAVDESS_LICENSE} (RAVDESS): the weights carry {RAVDESS_LICENSE}",
           False: "CC0 1.0"}  # fmt: skip


def common(ravdess: bool) -> dict:
    credit = CREDIT + (" " + RAVDESS_CREDIT if ravdess else "")
    return {"trained_modalities": ["audio"], "data": DATA[ravdess], "data_license": LICENSE[ravdess],
            "data_credit": credit}  # fmt: skip


def save_fp16(model, path: Path, feature_spec: dict, extra: dict) -> None:
    import torch

    from carat_model import save_checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model, feature_spec=feature_spec, extra=extra, dtype=torch.float16)


def save_held_out(task: dict, work: Path, out: Path, feature_spec: dict) -> None:
    """The benchmark's task model, with the threshold chosen on its validation speakers, as carat_voice_heldout."""
    from carat_model import load_checkpoint

    model, _ = load_checkpoint(work / "cv" / task["name"] / "model.safetensors")
    model.set_label_thresholds([task["threshold"]] * len(model.config.labels))
    ids = {corpus: [s.split(":")[1] for s in task["test"] if s.startswith(corpus)] for corpus in ("emodb", "ravdess")}
    extra = {**common(True), "held_out_speakers": ids["emodb"], "held_out_ravdess_actors": ids["ravdess"],
             "valid_speakers": task["valid"], "epoch": task["epoch"], "threshold": task["threshold"]}  # fmt: skip
    save_fp16(model, out / "carat_voice_heldout.safetensors", feature_spec, extra)


def recall_rows(both: dict) -> str:
    recorded, room = both["recorded"], both["webcam_room"]
    rows = [
        f"| {c} | {recorded['carat']['recall'][c]:.3f} | {room['carat']['recall'][c]:.3f} | "
        f"{recorded['baseline']['recall'][c]:.3f} |"
        for c in recorded["classes"]
    ]
    rows.append(
        f"| **UAR** | **{recorded['carat']['uar']:.3f}** | **{room['carat']['uar']:.3f}** | "
        f"**{recorded['baseline']['uar']:.3f}** |"
    )
    return "\n".join(rows)


def uar_line(both: dict) -> str:
    return (
        f"CARAT {both['recorded']['carat']['uar']:.3f} as recorded ({both['webcam_room']['carat']['uar']:.3f} in a "
        f"webcam room), baseline {both['recorded']['baseline']['uar']:.3f}"
    )


def write_card(figures: dict, path: Path) -> None:
    bench, ravdess = figures["benchmark"], figures["ravdess"]
    cross = bench["cross_corpus"]
    tasks = "\n".join(
        f"| {t['name']} | {', '.join(t['test'])} | {', '.join(t['valid'])} | {t['epoch']} | {t['threshold']:.3f} | "
        f"{t['carat_uar_recorded']:.3f} | {t['carat_uar_webcam_room']:.3f} | {t['baseline_uar']:.3f} |"
        for t in bench["tasks"]
    )
    trained_on = DATA[ravdess]
    held_out = (
        f"`models/carat_voice_heldout.safetensors` is the benchmark's {figures['held_out']['task']} model (never heard "
        f"{', '.join(figures['held_out']['emodb'] + figures['held_out']['ravdess'])}); the real-microphone tests play "
        "those speakers' clips into the live engine with it, and `benchmarks/voice_robustness.py` measures it."
        if ravdess
        else "This checkpoint was made with `--no-ravdess`: no RAVDESS clip was used."
    )
    path.write_text(
        f"""# Model card: `models/carat_voice.safetensors` (voice only)

A CARAT checkpoint whose **voice** branch is trained; face and words are not (its header says
`trained_modalities: ["audio"]`, so the predictor lets only the voice vote). Use it to see what a voice
says; combine streams with a checkpoint trained on all three.

## Licence of the weights
Trained on {trained_on}. **{LICENSE[ravdess]}.** {"Non-commercial use only, share-alike. " if ravdess else ""}
`scripts/train_voice.py --no-ravdess --out DIR` makes the same model from EmoDB alone (CC0).
Credit: {common(ravdess)["data_credit"]}

## Model
- CARAT (Peng et al., AAAI 2024), `carat_model/`, in the streams' shared shape (trainer/presets.py:
  unaligned, hidden 128, 2 voice layers, 64 voice rows per window).
- Input: the voice rows of `feature_extractors/voice.py`: Whisper tiny.en's encoder (the speech model
  the app already ships), one pass every 0.25 s over the last 1.2 s scaled to a fixed peak, each row the
  mean and std of the encoder states of the last second, 20 rows a second; **rows only where someone speaks**
  (Silero VAD finds speech in at least 40% of the row's second): noise, hum, music and typing give no rows,
  so the voice does not vote on them. The same function for files (`main.py prepare`) and the microphone.
- The voice votes once a window holds 1 s of it ({VOICE_MIN_ROWS} rows, `CaratConfig.audio_min_rows`).
- Decision: one threshold for every label, {figures["threshold"]:.3f} (the median of the benchmark's
  thresholds, each chosen on validation speakers); a window whose scores all stay below it is neutral.
- Trained for {figures["epochs"]} epochs (the benchmark's median kept epoch), seed {SEED}, float16 weights,
  class-balanced epochs (`trainer/balancing.py`), with {CALM_CLIPS} calm synthetic clips (espeak-ng, no label)
  and noise-only windows (no label). Every clip sits in a live-shaped recording: room before and after it
  (digital silence, or room noise, hum, music or typing at -70 to -40 dBFS), and half of them pass through
  a webcam's channel (150-6000 Hz, Opus at 16 kbit/s, room noise 20 dB below the speech;
  `trainer/room_sounds.py`), cut into 7 windows as the live engine scores them.
- Labels: happy, sad, angry, fear, disgust, surprise (RAVDESS's surprised: EmoDB has none); RAVDESS neutral
  and calm, EmoDB neutral and boredom carry none.

## Speaker-independent results (`benchmarks/voice_accuracy.py`, one run, seed {bench["seed"]})
Seven classes (six labels and neutral); a clip's scores are the mean of its live windows' scores; its class
the best label above the threshold, else neutral (a clip with no speech row, too quiet for the speech gate,
is neutral). Each test clip is scored as recorded (in digital silence) and in a webcam user's room (a room
sound around it, half of the clips through a webcam's channel, as in training); one threshold, chosen on the
validation clips of both. Baseline: {bench["baseline"]}, in the same run.

RAVDESS, 4 groups of 4 held-out actors (2 m + 2 f), each group tested by two models that never heard it
({bench["ravdess"]["recorded"]["clips"]} clip tests):

| class | CARAT, recorded | CARAT, webcam room | baseline |
|---|---|---|---|
{recall_rows(bench["ravdess"])}

EmoDB, leave one speaker out ({bench["emodb"]["recorded"]["clips"]} clips; no surprise, UAR over six):

| class | CARAT, recorded | CARAT, webcam room | baseline |
|---|---|---|---|
{recall_rows(bench["emodb"])}

Cross-corpus (UAR): trained on EmoDB alone, tested on RAVDESS 01-16: {uar_line(cross["emodb_to_ravdess"])};
trained on RAVDESS alone, tested on EmoDB: {uar_line(cross["ravdess_to_emodb"])}.

| task | test speakers | validation | epoch | threshold | CARAT UAR, recorded | webcam room | baseline UAR |
|---|---|---|---|---|---|---|---|
{tasks}

Calm voices (60 held-out espeak-ng clips, no emotion): {bench["calm_voice_clip_false_alarm"]:.3f} of the clips raise a
label (mean of folds), {bench["calm_voice_window_false_alarm"]:.3f} of their windows.
Time on 2 CPU cores (one torch thread a process, {bench["jobs"]} trainings at once): the benchmark
{bench["seconds"] / 60:.0f} min wall (preparing the windows once not included); this checkpoint {figures["minutes"]} min.
{held_out}

## Limits
- Acted speech (German and North American English actors, who exaggerate), two neutral sentences in
  RAVDESS; spontaneous speech, children, other languages and accents will score lower.
- The judges hold out other speakers and corpora: these figures are estimates, not a promise.
- One run with one seed: a few points either way is noise.
""",
        encoding="utf-8",
    )


def final_model(work: Path, ravdess: bool, epochs: int, valid: list[str]):
    """The shipped recipe trained on every speaker for `epochs` epochs, its last epoch kept (a finished run
    in work/final is read back, an interrupted one resumes); returns (model, minutes of training)."""
    import csv

    from trainer.datasets import FeatureDataset
    from trainer.emodb import voice_config, voice_settings, with_calm_voices, with_enough_voice
    from trainer.loop import fit
    from trainer.voice_corpora import prepared_voice, split_dataset

    dataset, windows = prepared_voice(work=work)
    speakers = sorted({w["speaker"] for w in windows if ravdess or w["corpus"] != "ravdess"})
    # Validation is only the loop's bookkeeping here (a few speakers, to keep it quick; they are trained on
    # too): the epoch count and threshold come from the benchmark, and the last epoch is kept.
    split = split_dataset(dataset, windows, speakers, valid, [])
    full = FeatureDataset("voice", split.labels, split.aligned, {"train": split.split("train"),
                          "valid": split.split("valid")}, split.feature_spec, split.source)  # fmt: skip
    run_dir = work / ("final" if ravdess else "final_no_ravdess")
    model = fit(with_enough_voice(with_calm_voices(full, work)), voice_config(dataset.feature_dims()),
                voice_settings(epochs), run_dir).model.eval()  # fmt: skip
    with (run_dir / "metrics.csv").open(newline="", encoding="utf-8") as handle:
        seconds = sum(float(row["seconds"]) for row in csv.DictReader(handle))
    return model, round(seconds / 60, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "voice")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--no-ravdess", action="store_true", help="EmoDB alone: weights free of RAVDESS's licence")
    args = parser.parse_args()
    figures_path = args.work / "voice_accuracy.json"
    if not figures_path.is_file():
        print(f"train_voice: no {figures_path}; run benchmarks/voice_accuracy.py first")
        return 2
    import torch

    from trainer.voice_corpora import prepared_voice

    torch.set_num_threads(1)  # two threads on two busy shared cores ran up to 10x slower (measured)
    ravdess = not args.no_ravdess
    benchmark = json.loads(figures_path.read_text(encoding="utf-8"))
    chosen = [t for t in benchmark["tasks"] if t["name"].startswith("fold")] if ravdess else [
        t for t in benchmark["tasks"] if t["name"] == "emodb_to_ravdess"]  # fmt: skip
    epochs = int(np.median([t["epoch"] for t in chosen]))
    threshold = float(np.median([t["threshold"] for t in chosen]))
    dataset, windows = prepared_voice(work=args.work)
    if ravdess:
        held_out = next(t for t in benchmark["tasks"] if t["name"].startswith("fold") and HELD_OUT_EMODB in t["test"])
        save_held_out(held_out, args.work, args.out, dataset.feature_spec)
    speakers = sorted({w["speaker"] for w in windows if ravdess or w["corpus"] != "ravdess"})
    model, minutes = final_model(args.work, ravdess, epochs, chosen[0]["valid"])
    model.set_label_thresholds([threshold] * len(model.config.labels))
    save_fp16(model, args.out / "carat_voice.safetensors", dataset.feature_spec,
              {**common(ravdess), "speakers": [s for s in speakers if s != "noise"], "epochs": epochs,
               "threshold": threshold})  # fmt: skip
    figures = {"epochs": epochs, "threshold": threshold, "ravdess": ravdess, "minutes": minutes,
               "benchmark": benchmark}  # fmt: skip
    if ravdess:
        figures["held_out"] = {"emodb": held_out["test"][:1], "ravdess": held_out["test"][1:], "task": held_out["name"]}
    (args.out / "voice_metrics.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    write_card(figures, args.out / "VOICE_MODEL_CARD.md")
    print(f"wrote {args.out / 'carat_voice.safetensors'} ({epochs} epochs, threshold {threshold:.3f}; "
          f"trained in {minutes} min)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
