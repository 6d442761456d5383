"""The default's card (models/MODEL_CARD.md) and its plot (models/default_metrics.png), from the figures the
default recipe (trainer/recipes/default.py) measures. The peers' figures come from the stream recipes'
records in models/ (`peers`), or are given.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from ...emodb import CREDIT as EMODB_CREDIT
from ...words_corpora import GOEMOTIONS_CREDIT, XED_CREDIT

ROOT = Path(__file__).resolve().parents[3]

FACE_LIVE = "default_face_benchmark.json"  # benchmarks/face_accuracy.py on the default, in models/

FERPLUS_CREDIT = (
    "Barsoum, E., Zhang, C., Canton Ferrer, C. and Zhang, Z. (2016). Training Deep Networks for Facial "
    "Expression Recognition with Crowd-Sourced Label Distribution. ICMI 2016. FER+ labels: MIT License, "
    "Copyright (c) Microsoft Corporation."
)
FER2013_CREDIT = (
    "Goodfellow, I. et al. (2013). Challenges in Representation Learning: A report on three machine learning "
    "contests (FER2013). Faces gathered from web image search; no licence is stated for the pixels, which are "
    "distributed for research use: use these weights under the images' research terms."
)


@cache  # read once: the card's table, its second-run table and the plot all ask
def peers(models: Path = ROOT / "models") -> dict:
    """The peers' figures on the same held-out data, from the stream recipes' records in `models`."""
    words = json.loads((models / "words_metrics.json").read_text(encoding="utf-8"))
    voice = json.loads((models / "voice_metrics.json").read_text(encoding="utf-8"))
    found = {"words": {c: words[c]["baseline"] for c in ("xed", "goemotions")}}
    if "cross_validation" in voice:  # EmoDB-only folds; today's speaker folds mix corpora, so they hold no peer
        fold0 = voice["cross_validation"]["folds"][0]
        found["voice"] = {"uar": fold0["baseline_uar"], "test_speakers": fold0["test_speakers"],
                          "name": voice["cross_validation"]["baseline"]["name"]}  # fmt: skip
    face_live = models / FACE_LIVE
    if face_live.is_file():
        found["face_live"] = json.loads(face_live.read_text(encoding="utf-8"))
    return found


def comparison_rows(figures: dict, peers: dict) -> list[tuple[str, float, float, float | None, str]]:
    """(what, default, single-stream checkpoint, peer or None, peer name) for each stream's figure."""
    default, single = figures["default"], figures["single_stream"]
    rows = []
    for corpus, name in (("goemotions", "GoEmotions test"), ("xed", "XED held-out")):
        for metric in ("macro_f1", "micro_f1"):
            rows.append((f"words: {name} {metric.replace('_', '-')}", default["words"][corpus][metric],
                         single["words"][corpus][metric], peers["words"][corpus][metric],
                         "LR on mean MiniLM sentence vectors"))  # fmt: skip
    for metric in ("accuracy", "uar"):
        rows.append((f"face: FER+ test half, 7-class {metric}", default["face"][metric], single["face"][metric],
                     None, ""))  # fmt: skip
    voice_peer = peers.get("voice", {"uar": None, "name": ""})
    rows.append(("voice: EmoDB speakers 10, 12, 6-class UAR", default["voice"]["uar"], single["voice"]["uar"],
                 voice_peer["uar"], voice_peer["name"]))  # fmt: skip
    return rows


def _live_face_table(peers: dict) -> str:
    live = peers.get("face_live")
    if not live:
        return "(`benchmarks/face_accuracy.py --checkpoint models/carat_default.safetensors` not run yet.)"
    ours, fer = live["ours"], live["fer_cnn"]
    classes = list(ours["recall"])
    header = "| | accuracy | UAR | " + " | ".join(classes) + " |\n|---|---|---|" + "---|" * len(classes) + "\n"
    rows = [
        f"| {name} | {r['accuracy']:.3f} | {r['uar']:.3f} | "
        + " | ".join(f"{r['recall'][c]:.3f}" for c in classes)
        + " |"
        for name, r in (("default (this checkpoint)", ours), ("fer's FER2013 CNN (peer)", fer))
    ]
    return header + "\n".join(rows) + f"\n\n{live['faces']} held-out faces through the live face extractor."


def _batch_text(sampling: dict) -> str:
    shares, pairs = sampling["shares_per_batch"], sampling.get("co_present_per_batch") or {}
    single = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in shares.items())
    if not pairs:
        return f"{sum(shares.values())} windows: {single}"
    paired = ", ".join(f"{count} {name}" for name, count in pairs.items())
    return (
        f"{sum(shares.values()) + sum(pairs.values())} windows: {single} single-stream windows, and the "
        f"co-present windows of `trainer/mixing.py` ({paired})"
    )


def co_present_flags(pairs: dict) -> str:
    """The scripts/train_default.py options that give these co-present windows: two-stream pairs, three-stream chains."""
    streams = [len(name.replace("&", "+").split("+")) for name in pairs]
    return (" --co-present" if 2 in streams else "") + (" --three-stream" if 3 in streams else "")


def validation_objective(figures: dict) -> float:
    """The threshold rule's objective on validation (trainer/recipes/default.py THRESHOLD_RULE)."""
    merit = figures["valid_merit"]
    gaps = [merit["default"][s] - merit["single_stream"][s] for s in merit["default"]]
    return min(gaps) + 0.1 * sum(merit["default"].values()) / len(merit["default"])


def _calm_voice_data(shares: dict) -> str:
    if "calm_voice" not in shares:
        return ""
    return (
        "\n- Calm voices (no label): espeak-ng (GPL-3.0; the program, not a recording) saying GoEmotions train\n"
        "  lines in six English accents with 22 voice variants at drawn speeds and pitches, voice only\n"
        f"  (`trainer/synthetic_speech.py`), {shares['calm_voice']} a batch: EmoDB's actors are the only real\n"
        "  voices here, and a voice unlike theirs read wildly before (36 of 42 espeak-ng clips raised a label\n"
        "  with the voice-only checkpoint)."
    )


def _calm_voice_table(figures: dict) -> str:
    voice = figures["single_stream"]["voice"]
    default, single = figures["default"].get("calm_voice"), voice.get("calm_voice")
    if not default or not single:
        return ""
    rows = "\n".join(
        f"| {name} | {r['clip_false_alarm']:.3f} | {r['window_false_alarm']:.3f} |"
        for name, r in (("default (this checkpoint)", default), (f"`{voice['checkpoint']}`", single))
    )
    return (
        f"\nVoices with no emotion in them: {default['clips']} held-out espeak-ng clips (its default British voice\n"
        "and its Caribbean accent, never trained on, saying GoEmotions test lines), voice only. The share that\n"
        "raises any label (lower is better):\n\n| | clips (mean of their windows) | live windows |\n|---|---|---|\n"
        f"{rows}\n"
    )


def epochs_text(figures: dict) -> str:
    done = figures.get("epochs_done", figures["epochs"])
    if done >= figures["epochs"]:
        return f"{figures['epochs']} epochs"
    return f"{done} of {figures['epochs']} planned epochs (stopped by hand, before the schedule decayed to 0)"


def render(figures: dict, peers: dict) -> str:
    """The card's Markdown."""
    rows = comparison_rows(figures, peers)
    return _model_text(figures) + _data_text(figures) + _figures_text(figures, peers, rows) + LIMITS


def _model_text(figures: dict) -> str:
    labels = figures["labels"]
    thresholds = ", ".join(f"{label} {t:.3f}" for label, t in zip(labels, figures["thresholds"]))
    return f"""# Model card: `models/carat_default.safetensors`

The checkpoint the app loads when none is given. It **sees, hears and reads**: one CARAT trained on faces,
voices and words (its header says `trained_modalities: ["text", "visual", "audio"]`), so every stream
present in a window may vote, and the dashboard shows which one decided each emotion.

## Model
- CARAT (Peng et al., AAAI 2024), our implementation in `carat_model/`, in the stream checkpoints' shared
  shape (`trainer/presets.py`): unaligned windows of up to {figures["config"]["text_max_len"]} words of one
  utterance and {figures["config"]["visual_max_len"]} face frames / voice rows, hidden {figures["config"]["hidden"]},
  {figures["config"]["text_layers"]} layers per stream, {figures["config"]["heads"]} heads; float16 weights,
  {figures["size_mb"]:.1f} MB, loaded by the app's predictor in {figures["load_seconds"]:.2f} s.
- Inputs, exactly as the live extractors make them (`feature_extractors/`): words = per-word vectors of
  all-MiniLM-L6-v2 with our fine-tuned layers (`models/words_encoder.safetensors`); face = FaceLandmarker
  geometry + 52 blendshapes + our expression CNN's embedding; voice = Whisper tiny.en encoder rows.
- Per-label thresholds ({thresholds}) chosen on the three validation parts together for the mean of what
  each stream is judged by: words macro-F1, face 7-class (accuracy + UAR) / 2, voice 6-class UAR. A window
  where no label passes its threshold is neutral.

"""


def _data_text(figures: dict) -> str:
    samples, shares = figures["samples"], figures["sampling"]["shares_per_batch"]
    return f"""## Data, licence and credit
No labelled data holds face, voice and words together. Each source carries one stream; CARAT's
missing-modality rule rebuilds the absent ones, which never vote.
- Words: XED English subtitle lines (+ neutral lines) and GoEmotions Reddit comments (Ekman six), CC BY 4.0.
  {XED_CREDIT} {GOEMOTIONS_CREDIT}
- Faces: FER+ ({FERPLUS_CREDIT}) on the FER2013 images ({FER2013_CREDIT})
- Voices: EmoDB, CC0 1.0. {EMODB_CREDIT}{_calm_voice_data(shares)}
- Models inside the extractors: all-MiniLM-L6-v2 (Apache 2.0), Whisper tiny.en (MIT), MediaPipe
  FaceLandmarker (Apache 2.0).
No image, recording, sentence or feature of the data is in this repository; scripts read `../shared/data`.

Training windows (train / validation / held-out test): words {samples["words"]["train"]} /
{samples["words"]["valid"]} / XED + GoEmotions test lines; faces {samples["face"]["train"]} /
{samples["face"]["valid"]} / {samples["face"]["test"]} (FER+ train; FER+ valid halved by seed 12);
voices {samples["voice"]["train"]} / {samples["voice"]["valid"]} / {samples["voice"]["test"]} (EmoDB
speakers 08, 09, 13, 14, 15 / 11 / 10 and 12). Every batch holds {_batch_text(figures["sampling"])}, so every stream's
encoder gets a gradient at every step (in one pooled shuffle the few hundred voice clips beside 60,000
sentences would reach the voice branch in one batch of three while the shared parts moved with the words);
{figures["sampling"]["steps_per_epoch"]} steps an epoch, {epochs_text(figures)} at a peak learning rate of
{figures.get("lr", 1e-3):g} (warm-up, then linear decay), the epoch
({figures["best_epoch"]}) chosen by the mean of the sources' validation micro-F1. Seed {figures["seed"]}.
`scripts/train_default.py --seed {figures["seed"]} --lr {figures.get("lr", 1e-3):g} --epochs {figures["epochs"]} --voice-min-rows {figures["config"].get("audio_min_rows", 1)}{co_present_flags(figures["sampling"].get("co_present_per_batch") or {})}` reproduces it
from `../shared/data` in {figures["minutes"]} min
({figures["cpu_minutes"]} CPU min, {figures["threads"]} thread) once the stream features are prepared
(words by `scripts/train_words.py`'s preparation, faces by `scripts/train_face.py`'s, voices by
`trainer/emodb.py`).

"""


def _figures_text(figures: dict, peers: dict, rows: list) -> str:
    single = figures["single_stream"]
    table = "\n".join(
        f"| {what} | **{d:.3f}** | {s:.3f} | {d - s:+.3f} | " + (f"{p:.3f} ({name})" if p is not None else "-") + " |"
        for what, d, s, p, name in rows
    )
    second_text = _second_run_text(figures, peers, rows)
    return f"""## Held-out figures, beside the single-stream checkpoints and the peers
The same held-out windows for the default and for each stream's own checkpoint
(`{single["words"]["checkpoint"]}`, `{single["face"]["checkpoint"]}`, `{single["voice"]["checkpoint"]}`, the
voice one trained and chosen on the same speakers), each at its own thresholds. Peers: the words benchmark's
logistic regression on the same lines and the voice benchmark's baseline on the same held-out speakers
(its fold 0); the face peer runs on the live extractor below.

![default vs single-stream](default_metrics.png)

| figure | default | single-stream | difference | peer |
|---|---|---|---|---|
{table}

Face, through the live extractor and the app's predictor (`benchmarks/face_accuracy.py`), beside fer's CNN
in the same run:

{_live_face_table(peers)}
{_calm_voice_table(figures)}
{second_text}

"""


def _second_run_text(figures: dict, peers: dict, rows: list) -> str:
    second = figures.get("second_run")
    if second:
        second_rows = "\n".join(
            f"| {what} | {d:.3f} | {d2:.3f} | {d2 - d:+.3f} |"
            for (what, d, *_), (_, d2, *_) in zip(rows, comparison_rows(second, peers))
        )
        second_text = (
            f"A second run with seed {second['seed']} ({second['minutes']} min), same data and recipe:\n\n"
            f"| figure | seed {figures['seed']} (shipped) | seed {second['seed']} | difference |\n|---|---|---|---|\n"
            f"{second_rows}"
        )
        if "valid_merit" in second:
            second_text += (
                f"\n\nOf the two runs the one shipped has the higher validation objective (the threshold rule's: the "
                f"least gap of a stream behind its single-stream checkpoint, + 0.1 x the mean): seed {figures['seed']} "
                f"{validation_objective(figures):.3f}, seed {second['seed']} {validation_objective(second):.3f}. "
                "Both runs' held-out figures had been measured when the choice was made; they agree with it, but the "
                "choice is the validation figure's."
            )
    else:
        second_text = "A second seed's run has not been recorded yet."
    return second_text


LIMITS = """## Limits
- Acted German voices (EmoDB, 10 speakers, 2 s clips): spontaneous speech, other languages and other
  rooms will score lower; EmoDB has no surprise, so the voice never learnt it. The calm synthetic voices
  teach it that a voice unlike EmoDB's actors is not by itself an emotion; how it reads real, spontaneous
  neutral voices of other people is not measured here (no such labelled data in `../shared`).
- 48-pixel grey still faces (FER2013), jittered to look like video: webcam colour, sharpness and motion differ.
- Written words (subtitles, Reddit) while the app reads Whisper tiny.en's transcripts, which mishear.
- No data holds all three streams, so fusion across streams is untested on real three-stream recordings:
  the fusion tests (`tests/first_run/test_fusion.py`) combine real faces, real voices and synthetic speech
  in made-up clips. When streams disagree, which one wins is what this mix of sources taught, not what
  people do.
- The labels are noisy and culture-bound; read single decisions as hints, not verdicts.
"""


def plot(figures: dict, path: Path, peers: dict) -> None:
    """Bars: each stream's held-out figure for the default, its single-stream checkpoint and the peer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = comparison_rows(figures, peers)
    x = np.arange(len(rows))
    figure, axes = plt.subplots(figsize=(11, 3.6), dpi=100)
    axes.bar(x - 0.27, [r[1] for r in rows], 0.27, label="default (three streams)")
    axes.bar(x, [r[2] for r in rows], 0.27, label="single-stream checkpoint")
    axes.bar(x + 0.27, [r[3] if r[3] is not None else 0 for r in rows], 0.27, label="peer / baseline")
    axes.set_xticks(x, [r[0].replace(": ", ":\n", 1) for r in rows], fontsize=6.5)
    axes.set_ylim(0, 1)
    axes.set_ylabel("held-out figure")
    axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
