"""Voice robustness: how much the voice branch's scores move when the microphone's gain changes, noise is
added or a webcam's channel carries the voice, on clips of speakers the checkpoint never heard.

    .venv/bin/python benchmarks/voice_robustness.py [--checkpoint A.safetensors [--checkpoint B.safetensors]]
        [--clips-from C.safetensors] [--limit N] [--json]

Clips: the EmoDB clips of a header's `held_out_speakers` and the RAVDESS clips of its
`held_out_ravdess_actors` (a checkpoint without that key was trained on EmoDB alone: no RAVDESS clips).
Each checkpoint's own header names its clips unless `--clips-from` names the checkpoint whose header does:
then every checkpoint scores the same clips (e.g. the EmoDB-only checkpoint before and the RAVDESS-trained
one after, on the new one's held-out speakers and actors). A checkpoint that heard some of those speakers in
training is flagged. `--limit N` keeps N clips of each corpus, evenly spread over its sorted list.

Conditions, each clip: at its own level, at -10 dB and -20 dB gain, with noise at 20 dB SNR (white noise;
babble: the first four EmoDB clips, by file, of speakers not scored, mixed) and through a webcam's channel
(trainer/room_sounds.py `webcam_channel`: band limit, Opus at 16 kbit/s, room noise 20 dB below the speech).
The noises are drawn from a seed per clip, so a clip's noise does not depend on which other clips run. Each
variant goes through the voice extractor and `build_window` (one window over the whole clip) and the model's
raw scores.

Reported per checkpoint, corpus and condition: the mean absolute change of the six scores against the clip
at its own level (per 10 dB for the gains), the seven-class UAR (trainer/voice_corpora.py: the best label
above its threshold, else neutral; over the classes present) and how many clips gave no voice rows (the
speech gate found no speech: the voice does not vote, every score is 0, the clip counts as neutral).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feature_extractors.acoustic import SAMPLE_RATE
from trainer.data_folders import corpus as corpus_folder
from trainer.live_clips import clip_seed
from trainer.voice_corpora import decide, emodb_clips, ravdess_clips, read_clip, uar

SNR_DB = 20.0
GAINS_DB = (-10, -20)
CONDITIONS = ("own level", "-10 dB", "-20 dB", "white noise 20 dB SNR", "babble 20 dB SNR", "webcam channel")
CORPORA = ("emodb", "ravdess")


def at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`noise` scaled so the clip's power over it is `snr_db`, added to the clip."""
    signal, noise_power = float(np.mean(clean**2)), float(np.mean(noise**2))
    return (clean + noise * np.sqrt(signal / (noise_power * 10 ** (snr_db / 10)))).astype(np.float32)


def held_out(extra: dict) -> dict[str, list[str]]:
    """The header's held-out EmoDB speakers and RAVDESS actors (none for an EmoDB-only checkpoint)."""
    return {"emodb": list(extra.get("held_out_speakers", [])),
            "ravdess": list(extra.get("held_out_ravdess_actors", []))}  # fmt: skip


def spread(clips: list, limit: int | None) -> list:
    """`limit` clips evenly spread over the list (sorted by file, so by emotion too), or all of them."""
    if limit is None or limit >= len(clips):
        return clips
    return [clips[round(i * len(clips) / limit)] for i in range(limit)]


def variants(clip: np.ndarray, name: str, babble: np.ndarray) -> dict[str, np.ndarray]:
    from trainer.room_sounds import webcam_channel

    rng = np.random.default_rng(clip_seed(name))
    out = {"own level": clip}
    out.update({f"{gain} dB": clip * np.float32(10 ** (gain / 20)) for gain in GAINS_DB})
    out["white noise 20 dB SNR"] = at_snr(clip, rng.standard_normal(len(clip)).astype(np.float32), SNR_DB)
    out["babble 20 dB SNR"] = at_snr(clip, np.resize(babble, len(clip)), SNR_DB)  # repeated for long clips
    out["webcam channel"] = webcam_channel(clip, rng)
    return out


def summary(clips, scores, silent, labels, thresholds, heard) -> dict:
    """One corpus's figures for one checkpoint: per condition, score change, UAR and clips without voice."""
    result = {"clips": len(clips), "heard_in_training": heard, "conditions": {}}
    if not clips:
        return result
    truth = np.array([c["class"] for c in clips])
    base = np.stack(scores["own level"])
    for name in CONDITIONS:
        stacked = np.stack(scores[name])
        change = float(np.abs(stacked - base).mean())
        key = "mean_abs_score_change"
        if name.startswith("-"):
            change, key = change / (abs(float(name.split()[0])) / 10), key + " per 10 dB"
        result["conditions"][name] = {
            key: round(change, 4),
            "uar": round(uar(truth, decide(stacked, labels, thresholds)), 3),
            "no_voice_clips": silent[name],
        }
    return result


def babble(emodb: list[dict], held: list[str]) -> np.ndarray:
    """As before: the first four EmoDB clips (by file) of speakers not scored, mixed."""
    talkers = [read_clip(c["path"]) for c in emodb if c["speaker"].removeprefix("emodb:") not in held][:4]
    mixed = np.zeros(max(map(len, talkers)), np.float32)
    for talker in talkers:
        mixed[: len(talker)] += talker
    return mixed


def score(predictor, rows, duration: float) -> np.ndarray:
    """The model's raw scores for the voice rows alone, one window over the whole clip."""
    from feature_extractors.windows import TimedRows, build_window

    empty = {m: TimedRows.empty(predictor.feature_spec.dims[m]) for m in ("text", "visual")}
    window = build_window(empty["text"], empty["visual"], rows, 0.0, duration,
                          aligned=predictor.aligned, lengths=predictor.lengths)  # fmt: skip
    predictor.smoother.reset()  # each clip on its own
    return np.array(predictor.predict(window, 0.0).raw_scores)


def heard_in_training(extra: dict, ids: dict[str, list[str]]) -> dict[str, list[str]]:
    """The scored speakers this checkpoint trained on (one without `held_out_ravdess_actors` was trained on
    EmoDB alone: it heard no RAVDESS actor)."""
    own = held_out(extra)
    return {
        "emodb": sorted(set(ids["emodb"]) - set(own["emodb"])),
        "ravdess": sorted(set(ids["ravdess"]) - set(own["ravdess"])) if "held_out_ravdess_actors" in extra else [],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, action="append",
                        help="repeat to compare (default models/carat_voice_heldout.safetensors)")  # fmt: skip
    parser.add_argument("--clips-from", type=Path, help="score the clips this checkpoint's header holds out")
    parser.add_argument("--emodb", type=Path, default=corpus_folder("emodb"))
    parser.add_argument("--ravdess", type=Path, default=corpus_folder("ravdess"))
    parser.add_argument("--limit", type=int, help="at most N clips of each corpus (a quick check)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    checkpoints = args.checkpoint or [ROOT / "models" / "carat_voice_heldout.safetensors"]

    import torch

    from app.predictor import Predictor
    from carat_model.checkpoint import read_checkpoint_info
    from feature_extractors.voice import VoiceExtractor

    torch.set_num_threads(1)
    predictors = [Predictor(path) for path in checkpoints]
    common = held_out(read_checkpoint_info(args.clips_from).extra) if args.clips_from else None
    # Checkpoints that score the same clips share one pass of the voice extractor over them.
    groups: dict[str, list[int]] = {}
    for index, predictor in enumerate(predictors):
        groups.setdefault(json.dumps(common or held_out(predictor.info.extra), sort_keys=True), []).append(index)
    pools = {"emodb": emodb_clips(args.emodb), "ravdess": []}
    if any(json.loads(key)["ravdess"] for key in groups):
        pools["ravdess"] = ravdess_clips(args.ravdess)

    voice = VoiceExtractor()
    blocks: list[dict] = [{} for _ in predictors]
    for key, members in groups.items():
        ids = json.loads(key)
        clips = {
            corpus: spread([c for c in pools[corpus] if c["speaker"].split(":")[1] in ids[corpus]], args.limit)
            for corpus in CORPORA
        }
        noise_of_talkers = babble(pools["emodb"], ids["emodb"])
        scores = {m: {corpus: {name: [] for name in CONDITIONS} for corpus in CORPORA} for m in members}
        silent = {corpus: dict.fromkeys(CONDITIONS, 0) for corpus in CORPORA}
        for corpus in CORPORA:
            for clip in clips[corpus]:
                for name, samples in variants(read_clip(clip["path"]), clip["file"], noise_of_talkers).items():
                    rows = voice.extract(samples)
                    silent[corpus][name] += len(rows) == 0  # the speech gate kept nothing: all scores 0
                    for m in members:
                        scores[m][corpus][name].append(score(predictors[m], rows, len(samples) / SAMPLE_RATE))
        for m in members:
            predictor = predictors[m]
            heard = heard_in_training(predictor.info.extra, ids)
            blocks[m] = {
                "checkpoint": str(checkpoints[m]),
                "held_out_speakers": ids["emodb"],
                "held_out_ravdess_actors": ids["ravdess"],
                "clips_from": str(args.clips_from or checkpoints[m]),
                "corpora": {
                    corpus: summary(clips[corpus], scores[m][corpus], silent[corpus], predictor.labels,
                                    np.asarray(predictor.thresholds), heard[corpus])
                    for corpus in CORPORA
                },
            }
    if args.json:
        print(json.dumps({"limit": args.limit, "checkpoints": blocks}, indent=1))
        return 0
    for block in blocks:
        print(f"{block['checkpoint']} (clips held out by {block['clips_from']})")
        for corpus, result in block["corpora"].items():
            who = block["held_out_speakers" if corpus == "emodb" else "held_out_ravdess_actors"]
            print(f"  {corpus}: {result['clips']} clips of {who or 'no held-out speakers in the header'}")
            if result["heard_in_training"]:
                print(f"    WARNING: this checkpoint trained on {result['heard_in_training']}: not held out for it")
            for name, figures in result["conditions"].items():
                print(f"    {name:<22} " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
