"""Few-shot figure: how far 20 labelled clips a class of new voices take the shipped default.

    .venv/bin/python scripts/few_shot_voice.py [--work build/few_shot_voice] [--per-class 20] [--epochs 4]

The default model never heard RAVDESS (it learnt its voice from EmoDB's German actors); the shared copy holds
RAVDESS actors 01-16 (`CARAT_DATA/ravdess`, trainer/data_folders.py; 17-24 are kept out of it). This takes actors 09-16, 480 clips
of North American English: per class (our six labels, and neutral for RAVDESS's neutral and calm) the first
`--per-class` clips in a fixed shuffle are the user's labelled set (three quarters train, a quarter
validation); every other clip of those actors is the test split. All of it goes the user's way, through
`main.py`: a CSV of clips (voice only: the two sentences are neutral, their words carry nothing) -> `main.py
prepare` (the default's window shape) -> `main.py train --from` (the default, fine-tuned) -> its card: the
fine-tuned checkpoint beside the default on the test clips, per-label F1, macro-F1, seven-class accuracy and
UAR. Prints the card and writes it (and the figures as JSON) into the work folder.

RAVDESS is CC BY-NC-SA 4.0: a checkpoint fine-tuned on it carries those terms.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACTORS = tuple(f"{n:02d}" for n in range(9, 17))
SEED = 40


def write_clip_list(out: Path, per_class: int) -> dict[str, dict[str, int]]:
    """The CSV `main.py prepare` reads: path, labels, modalities (audio), split. Returns counts per class."""
    from trainer.data_folders import corpus
    from trainer.voice_corpora import ravdess_clips

    clips = [c for c in ravdess_clips(corpus("ravdess")) if c["speaker"].split(":")[1] in ACTORS]
    order = np.random.default_rng(SEED).permutation(len(clips))
    taken: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    rows = []
    for index in order:
        clip = clips[index]
        kind = clip["class"]
        taken[kind] = taken.get(kind, 0) + 1
        if taken[kind] <= per_class:
            split = "valid" if taken[kind] > per_class * 3 // 4 else "train"
        else:
            split = "test"
        counts.setdefault(kind, {}).setdefault(split, 0)
        counts[kind][split] += 1
        rows.append((str(Path(clip["path"]).resolve()), clip["labels"].replace(",", ";") or "neutral", "audio", split))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "labels", "modalities", "split"])
        writer.writerows(sorted(rows))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "few_shot_voice")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--epochs", type=int, help="fine-tune epochs (default: main.py train --from's)")
    parser.add_argument("--lr", type=float, help="fine-tune learning rate (default: main.py train --from's)")
    parser.add_argument("--workers", type=int, default=1, help="main.py prepare --workers")
    args = parser.parse_args()

    import main as carat_live

    started = time.perf_counter()
    counts = write_clip_list(args.work / "clips.csv", args.per_class)
    print("clips per class (train / valid / test):", flush=True)
    for kind, per_split in sorted(counts.items()):
        print(f"  {kind}: " + " / ".join(str(per_split.get(s, 0)) for s in ("train", "valid", "test")), flush=True)
    data = args.work / "prepared"
    prepare = ["prepare", str(args.work / "clips.csv"), "--out", str(data), "--workers", str(args.workers), "--quiet"]
    if carat_live.main(prepare) != 0:
        return 2
    prepared_s = time.perf_counter() - started
    run = args.work / f"run-{args.per_class}"
    train = ["train", "--data", str(data), "--out", str(run), "--from", "--quiet"]
    train += ["--epochs", str(args.epochs)] if args.epochs else []
    train += ["--lr", str(args.lr)] if args.lr else []
    if carat_live.main(train) != 0:
        return 2
    card = json.loads((run / "model_card.json").read_text(encoding="utf-8"))
    figures = {
        "actors": list(ACTORS),
        "per_class": args.per_class,
        "clips": counts,
        "test_clips": card["samples"],
        "default": card["other"],
        "fine_tuned": card["new"],
        "verdict": card["verdict"],
        "seconds": {"prepare": round(prepared_s), "total": round(time.perf_counter() - started)},
    }
    (args.work / f"few_shot_{args.per_class}.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(
        f"\nfew-shot: {args.per_class} clips a class of RAVDESS actors {ACTORS[0]}-{ACTORS[-1]} (voices the default never heard)"
    )
    print(f"test: the other {card['samples']} clips of those actors")
    print(f"{'':18s} {'default':>8s} {'fine-tuned':>10s}")
    for label in card["labels_scored"]:
        print(
            f"{'F1 ' + label:18s} {card['other']['per_label_f1'][label]:8.3f} {card['new']['per_label_f1'][label]:10.3f}"
        )
    print(f"{'macro-F1':18s} {card['other']['macro_f1']:8.3f} {card['new']['macro_f1']:10.3f}")
    for key, name in (("accuracy", "7-class accuracy"), ("uar", "7-class UAR")):
        print(f"{name:18s} {card['other']['seven_class'][key]:8.3f} {card['new']['seven_class'][key]:10.3f}")
    print(card["verdict"])
    print(f"({figures['seconds']['total']} s, of which prepare {figures['seconds']['prepare']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
