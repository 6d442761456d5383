"""How well the words stream reads emotion: held-out corpora, plain statements, written vs ASR-style text.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/words_accuracy.py [--checkpoint PATH] [--json] [--spoken]

In one run, with the checkpoint's own thresholds:
- XED's held-out lines (split by seed 0, rebuilt from the XED corpus folder, trainer/data_folders.py) and GoEmotions' test split
  (Ekman six): micro- and macro-F1 of the words checkpoint, beside logistic regression on the original
  all-MiniLM-L6-v2's mean sentence embedding trained on the same training lines, thresholds tuned on
  validation (`trainer/words_baseline.py`; `--no-baseline` skips it);
- the plain statements (`tests/data/plain_statements.tsv`: 10 unambiguous sentences per emotion and 10
  neutral ones): the share where the true emotion ranks first (neutral: no label passes its threshold);
  also the stricter share where it ranks first *and* passes its threshold;
- the written-vs-ASR gap: XED's held-out lines and GoEmotions' test lines as written and as an ASR might give them (lower case, no
  punctuation): the mean over lines of the largest per-label score difference, and micro- and macro-F1 of each
  form (the ASR-style figures are closest to what the app reads);
- the words stream's cost per utterance (median over the plain statements, one thread, this machine);
- with `--spoken`, the plain statements spoken by espeak-ng into one audio file (2 s of silence between
  sentences) and read through the whole app (`main.py replay`): per sentence, the event whose words lie
  inside the sentence's time span and are the most (ties: the last), ranked on its raw scores.

Text goes through `main.py prepare`'s code with the live encoder into `build/words/bench/` (cached per
encoder version and window shape; derived from the data, never committed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLAIN_STATEMENTS = ROOT / "tests" / "data" / "plain_statements.tsv"
WORK = ROOT / "build" / "words" / "bench"
CORPORA = ("xed", "goemotions")
GAP_SECONDS = 2.0  # silence between spoken statements


def plain_statements(path: Path = PLAIN_STATEMENTS) -> list[tuple[str, str]]:
    """(sentence, label) pairs; label "neutral" means none of the six."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sentence, label = line.split("\t")
            rows.append((sentence, label))
    return rows


def asr_style(text: str) -> str:
    """The same words as an ASR may give them: lower case, no punctuation (apostrophes inside words kept)."""
    return " ".join(re.sub(r"[^\w' ]+|(?<!\w)'|'(?!\w)", " ", text.lower()).split())


def window_shape(config):
    from trainer.sample_windows import WindowShape

    return WindowShape(aligned=config.aligned, text_steps=config.text_max_len, media_steps=config.visual_max_len)


def score_lines(model, lines, name: str, work: Path = WORK) -> tuple[np.ndarray, np.ndarray]:
    """(scores [N, 6], targets [N, 6]) of `lines` through prepare's text path and the model."""
    from feature_extractors.spec import default_feature_spec
    from trainer.datasets import load_prepared_dataset
    from trainer.loop import predict_scores
    from trainer.prepare import prepare_dataset
    from trainer.words_corpora import write_corpus

    shape = window_shape(model.config)
    version = hashlib.sha256(json.dumps([default_feature_spec().text.to_dict(), repr(shape)]).encode()).hexdigest()
    folder = work / version[:12]
    corpus = write_corpus(lines, folder / f"{name}.tsv")
    summary = prepare_dataset(corpus, folder / name, shape=shape, only_split="test", chunk_size=1024, progress=False)
    if summary.failures:
        raise RuntimeError(f"{name}: {len(summary.failures)} lines could not be prepared, e.g. {summary.failures[0]}")
    split = load_prepared_dataset(folder / name).split("test")
    return predict_scores(model, split), split.labels


def f1s(targets: np.ndarray, scores: np.ndarray, thresholds) -> dict:
    from trainer.metrics import compute_metrics

    metrics = compute_metrics(targets, scores > np.asarray(thresholds))
    return {"micro_f1": round(metrics.micro_f1, 4), "macro_f1": round(metrics.macro_f1, 4)}


def ranked_first(scores: np.ndarray, truth: list[str], labels: list[str], thresholds) -> dict:
    """Share where the true label ranks first (neutral: none passes its threshold), overall and per label."""
    passes = scores > np.asarray(thresholds)
    first, strict = [], []
    for row, passed, label in zip(scores, passes, truth):
        if label == "neutral":
            first.append(not passed.any())
            strict.append(not passed.any())
        else:
            top = labels[int(np.argmax(row))] == label
            first.append(top)
            strict.append(top and bool(passed[labels.index(label)]))
    per_label = {
        label: round(float(np.mean([f for f, t in zip(first, truth) if t == label])), 3)
        for label in dict.fromkeys(truth)
    }
    return {
        "sentences": len(truth),
        "ranked_first": round(float(np.mean(first)), 3),
        "ranked_first_and_decided": round(float(np.mean(strict)), 3),
        "per_label": per_label,
    }


def utterance_cost(model, statements: list[tuple[str, str]]) -> dict:
    """Median milliseconds per utterance (one thread): encoding its words, and one CARAT forward pass."""
    import time

    import torch

    from feature_extractors.text import TextEncoder
    from trainer.datasets import FeatureSplit
    from trainer.loop import predict_scores

    encoder = TextEncoder()
    encode_ms, forward_ms = [], []
    for sentence, _ in statements:
        started = time.perf_counter()
        vectors = encoder.encode_sentence(sentence)
        encode_ms.append((time.perf_counter() - started) * 1000)
        steps = model.config.text_max_len
        text = np.zeros((1, steps, vectors.shape[1]), np.float32)
        text[0, : len(vectors)] = vectors[:steps]
        mask = (np.arange(steps) < len(vectors)).astype(np.float32)[None]
        absent = {m: np.zeros((1, 1, getattr(model.config, f"{m}_dim")), np.float32) for m in ("visual", "audio")}
        split = FeatureSplit(
            text=text, text_mask=mask, labels=np.zeros((1, len(model.config.labels)), np.float32),
            visual=absent["visual"], visual_mask=np.zeros((1, 1), np.float32),
            audio=absent["audio"], audio_mask=np.zeros((1, 1), np.float32),
        )  # fmt: skip
        with torch.inference_mode():
            started = time.perf_counter()
            predict_scores(model, split, batch_size=1)
            forward_ms.append((time.perf_counter() - started) * 1000)
    return {
        "encode_ms_median": round(float(np.median(encode_ms)), 1),
        "carat_forward_ms_median": round(float(np.median(forward_ms)), 1),
        "threads": torch.get_num_threads(),
    }


def written_vs_asr_gap(model, thresholds, corpus: str = "xed") -> dict:
    from trainer.words_corpora import Line, corpus_split

    written = [line for line in corpus_split(corpus, "test") if asr_style(line.text)]
    spoken = [Line(asr_style(line.text), line.labels) for line in written]
    scores_written, targets = score_lines(model, written, f"{corpus}_test_written")
    scores_asr, _ = score_lines(model, spoken, f"{corpus}_test_asr")
    difference = np.abs(scores_written - scores_asr)
    return {
        "lines": len(written),
        "mean_max_label_gap": round(float(difference.max(1).mean()), 4),
        "mean_label_gap": round(float(difference.mean()), 4),
        "micro_f1_written": f1s(targets, scores_written, thresholds)["micro_f1"],
        "micro_f1_asr_style": f1s(targets, scores_asr, thresholds)["micro_f1"],
        "macro_f1_written": f1s(targets, scores_written, thresholds)["macro_f1"],
        "macro_f1_asr_style": f1s(targets, scores_asr, thresholds)["macro_f1"],
    }


def spoken_statements(checkpoint: Path, statements: list[tuple[str, str]], labels: list[str], work: Path) -> dict:
    """Speak the statements with espeak-ng into one file, replay it through main.py, rank each sentence."""
    work.mkdir(parents=True, exist_ok=True)
    audio, spans, cursor, rate = [], [], GAP_SECONDS, None
    for number, (sentence, _) in enumerate(statements):
        path = work / f"s{number:02d}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), sentence], check=True)
        with wave.open(str(path)) as handle:
            rate = rate or handle.getframerate()  # espeak-ng writes 16-bit mono at one rate (22050 Hz)
            if handle.getframerate() != rate or handle.getsampwidth() != 2 or handle.getnchannels() != 1:
                raise RuntimeError(f"espeak-ng wrote {path} in an unexpected format")
            samples = np.frombuffer(handle.readframes(handle.getnframes()), np.int16)
        if not audio:
            audio.append(np.zeros(int(GAP_SECONDS * rate), np.int16))
        spans.append((cursor, cursor + len(samples) / rate))
        cursor += len(samples) / rate + GAP_SECONDS
        audio += [samples, np.zeros(int(GAP_SECONDS * rate), np.int16)]
    speech = work / "plain_statements.wav"
    with wave.open(str(speech), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.concatenate(audio).tobytes())
    out = work / "replay"
    subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "replay", str(speech), "--checkpoint", str(checkpoint),
         "--out", str(out)],
        check=True,
        capture_output=True,
    )
    events = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    rows, heard, missing = [], [], 0
    for start, end in spans:
        inside = [
            e for e in events
            if e["words"] and all(start - 0.5 <= w["start"] and w["end"] <= end + 0.5 for w in e["words"])
        ]
        if not inside:
            missing += 1
            rows.append(None)
            heard.append("")
            continue
        best = max(inside, key=lambda e: (len(e["words"]), e["window_end"]))
        rows.append(np.array(best["raw_scores"]))
        heard.append(" ".join(w["text"] for w in best["words"]))
    thresholds = events[0]["thresholds"] if events else [0.5] * len(labels)
    kept = [i for i, row in enumerate(rows) if row is not None]
    result = ranked_first(
        np.stack([rows[i] for i in kept]) if kept else np.zeros((0, len(labels))),
        [statements[i][1] for i in kept],
        labels,
        thresholds,
    ) if kept else {"ranked_first": 0.0}
    # A sentence the app produced no event for counts as wrong.
    result["ranked_first"] = round(result["ranked_first"] * len(kept) / len(statements), 3)
    if "ranked_first_and_decided" in result:
        result["ranked_first_and_decided"] = round(result["ranked_first_and_decided"] * len(kept) / len(statements), 3)
    result.update(sentences=len(statements), without_event=missing, policy="raw scores of the fullest event")
    result["heard"] = heard
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "carat_default.safetensors")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-baseline", action="store_true", help="skip the logistic-regression baseline")
    parser.add_argument("--spoken", action="store_true", help="also speak the plain statements through main.py replay")
    args = parser.parse_args()

    import torch

    from carat_model import load_checkpoint
    from trainer.words_corpora import Line, corpus_split

    torch.set_num_threads(1)
    model, _ = load_checkpoint(args.checkpoint)
    labels, thresholds = list(model.config.labels), list(model.config.thresholds())
    report: dict = {"checkpoint": str(args.checkpoint), "thresholds": thresholds}
    baseline = None
    if not args.no_baseline:
        from trainer.words_baseline import corpora_baseline

        baseline = corpora_baseline(CORPORA)
    for corpus in CORPORA:
        scores, targets = score_lines(model, corpus_split(corpus, "test"), f"{corpus}_test")
        report[corpus] = {"lines": len(targets), "checkpoint": f1s(targets, scores, thresholds)}
        if baseline is not None:
            report[corpus]["baseline"] = f1s(targets, baseline[1][corpus], baseline[0])
    statements = plain_statements()
    as_lines = [Line(s, () if label == "neutral" else (label,)) for s, label in statements]
    scores, _ = score_lines(model, as_lines, "plain_statements")
    report["plain_statements_text"] = ranked_first(scores, [label for _, label in statements], labels, thresholds)
    report["written_vs_asr"] = written_vs_asr_gap(model, thresholds)  # XED (the key earlier runs wrote)
    report["written_vs_asr_goemotions"] = written_vs_asr_gap(model, thresholds, "goemotions")
    report["cost_per_utterance"] = utterance_cost(model, statements)
    if args.spoken:
        report["plain_statements_spoken"] = spoken_statements(args.checkpoint, statements, labels, WORK / "spoken")
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"checkpoint {args.checkpoint}")
    for corpus in CORPORA:
        row = report[corpus]
        base = row.get("baseline", {})
        print(
            f"{corpus:>10} test ({row['lines']} lines): micro-F1 {row['checkpoint']['micro_f1']:.3f} "
            f"macro-F1 {row['checkpoint']['macro_f1']:.3f} | baseline micro {base.get('micro_f1', float('nan')):.3f} "
            f"macro {base.get('macro_f1', float('nan')):.3f}"
        )
    for key in ("plain_statements_text", "plain_statements_spoken"):
        if key in report:
            print(f"{key}: ranked first {report[key]['ranked_first']:.3f} per label {report[key].get('per_label')}")
    for key, corpus in (("written_vs_asr", "XED"), ("written_vs_asr_goemotions", "GoEmotions")):
        gap = report[key]
        print(
            f"written vs ASR-style ({gap['lines']} {corpus} test lines): "
            f"mean largest label gap {gap['mean_max_label_gap']:.4f}, "
            f"micro-F1 {gap['micro_f1_written']:.3f} written / {gap['micro_f1_asr_style']:.3f} ASR-style, "
            f"macro-F1 {gap['macro_f1_written']:.3f} / {gap['macro_f1_asr_style']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
