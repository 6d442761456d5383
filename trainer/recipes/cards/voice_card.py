"""The voice checkpoint's card (models/VOICE_MODEL_CARD.md) from the figures the voice recipe
(trainer/recipes/voice.py) measures (models/voice_metrics.json), and the data terms its headers carry.
"""

from __future__ import annotations

from ...emodb import CREDIT
from ...live_clips import SEED
from ...voice_corpora import RAVDESS_CREDIT, RAVDESS_LICENSE
from ...voice_training import CALM_CLIPS, VOICE_MIN_ROWS

DATA = {
    True: "EmoDB (8 German speakers) and RAVDESS (actors 01-16, North American English), voice only",
    False: "EmoDB (Berlin Database of Emotional Speech), 8 speakers, German acted speech, voice only",
}
LICENSE = {True: f"CC0 1.0 (EmoDB) and {RAVDESS_LICENSE} (RAVDESS): the weights carry {RAVDESS_LICENSE}",
           False: "CC0 1.0"}  # fmt: skip


def data_terms(ravdess: bool) -> dict:
    """What a voice checkpoint's header says of its data: streams, corpora, licence, credit."""
    credit = CREDIT + (" " + RAVDESS_CREDIT if ravdess else "")
    return {"trained_modalities": ["audio"], "data": DATA[ravdess], "data_license": LICENSE[ravdess],
            "data_credit": credit}  # fmt: skip


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


def render(figures: dict) -> str:
    """The card's Markdown."""
    ravdess = figures["ravdess"]
    return _licence_text(ravdess) + _model_text(figures) + _results_text(figures) + LIMITS


def _licence_text(ravdess: bool) -> str:
    trained_on = DATA[ravdess]
    return f"""# Model card: `models/carat_voice.safetensors` (voice only)

A CARAT checkpoint whose **voice** branch is trained; face and words are not (its header says
`trained_modalities: ["audio"]`, so the predictor lets only the voice vote). Use it to see what a voice
says; combine streams with a checkpoint trained on all three.

## Licence of the weights
Trained on {trained_on}. **{LICENSE[ravdess]}.** {"Non-commercial use only, share-alike. " if ravdess else ""}
`scripts/train_voice.py --no-ravdess --out DIR` makes the same model from EmoDB alone (CC0).
Credit: {data_terms(ravdess)["data_credit"]}

"""


def _model_text(figures: dict) -> str:
    return f"""## Model
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

"""


def _results_text(figures: dict) -> str:
    bench, ravdess = figures["benchmark"], figures["ravdess"]
    cross = bench["cross_corpus"]
    tasks = "\n".join(
        f"| {t['name']} | {', '.join(t['test'])} | {', '.join(t['valid'])} | {t['epoch']} | {t['threshold']:.3f} | "
        f"{t['carat_uar_recorded']:.3f} | {t['carat_uar_webcam_room']:.3f} | {t['baseline_uar']:.3f} |"
        for t in bench["tasks"]
    )
    held_out = (
        f"`models/carat_voice_heldout.safetensors` is the benchmark's {figures['held_out']['task']} model (never heard "
        f"{', '.join(figures['held_out']['emodb'] + figures['held_out']['ravdess'])}); the real-microphone tests play "
        "those speakers' clips into the live engine with it, and `benchmarks/voice_robustness.py` measures it."
        if ravdess
        else "This checkpoint was made with `--no-ravdess`: no RAVDESS clip was used."
    )
    return f"""## Speaker-independent results (`benchmarks/voice_accuracy.py`, one run, seed {bench["seed"]})
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

"""


LIMITS = """## Limits
- Acted speech (German and North American English actors, who exaggerate), two neutral sentences in
  RAVDESS; spontaneous speech, children, other languages and accents will score lower.
- The judges hold out other speakers and corpora: these figures are estimates, not a promise.
- One run with one seed: a few points either way is noise.
"""
