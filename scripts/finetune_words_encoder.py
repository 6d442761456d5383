"""Fine-tune the words stream's text encoder (all-MiniLM-L6-v2) on GoEmotions + XED; ship its layers.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/finetune_words_encoder.py [--epochs 1] [--out models]

Frozen MiniLM token vectors do not separate emotions well enough (logistic regression on their sentence
mean reaches macro-F1 0.42 on GoEmotions' Ekman six), so the six transformer layers are trained with a
small multi-label head (mean of the token vectors -> linear -> sigmoid, BCE; neutral = no label) on
GoEmotions train + XED's train split, the text normalised as the live encoder reads it
(`feature_extractors.text.normalise_text`: lower case, no punctuation; Whisper's vary). The word-embedding
matrix stays frozen, so only the layers are shipped (`models/words_encoder.safetensors`, float16) and
`TextEncoder` lays them over the packaged base model. The step kept is the one with the best macro-F1 on
GoEmotions dev + XED valid (thresholds tuned there); test lines are never read here. The head is not
shipped: CARAT is trained on the fine-tuned token vectors (scripts/train_words.py, scripts/train_default.py).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carat_model.config import MOSEI_LABELS

MAX_TOKENS = 48  # 98% of the training lines fit; longer ones are cut (the live windows hold 32 words)
SEED = 0


def labelled(lines) -> tuple[list[str], np.ndarray]:
    from feature_extractors.text import normalise_text

    texts = [normalise_text(line.text) for line in lines]
    targets = np.array([[label in line.labels for label in MOSEI_LABELS] for line in lines], np.float32)
    return texts, targets


class Tagger:
    """The encoder under training + its head: token vectors -> their mean -> six logits."""

    def __init__(self, torch, base: Path) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
        self.encoder = AutoModel.from_pretrained(str(base), local_files_only=True)
        for parameter in self.encoder.embeddings.parameters():
            parameter.requires_grad = False  # frozen: only the layers are shipped
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(MOSEI_LABELS))
        self.dropout = torch.nn.Dropout(0.1)

    def parameters(self):
        return [p for p in self.encoder.encoder.parameters()] + list(self.head.parameters())

    def train(self, mode: bool = True) -> None:
        self.encoder.train(mode)
        self.dropout.train(mode)

    def logits(self, texts: list[str]):
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        tokens = self.encoder(**batch).last_hidden_state  # [B, T, 384]
        mask = batch["attention_mask"].unsqueeze(-1).float()
        mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(mean))

    def scores(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        self.train(False)
        out = []
        order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
        with self.torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chunk = [texts[i] for i in order[start : start + batch_size]]
                out.append(self.torch.sigmoid(self.logits(chunk)).numpy())
        scores = np.zeros((len(texts), len(MOSEI_LABELS)), np.float32)
        scores[order] = np.concatenate(out)
        self.train(True)
        return scores


def bucketed_batches(texts: list[str], batch_size: int, pool: int = 50) -> list[list[int]]:
    """Random batches of similar length (sorted within pools of `pool` batches): a third less padding."""
    order = list(range(len(texts)))
    random.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * pool):
        chunk = sorted(order[start : start + batch_size * pool], key=lambda i: len(texts[i]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    random.shuffle(batches)
    return batches


def validate(tagger: Tagger, valid: dict[str, tuple[list[str], np.ndarray]]) -> dict:
    """Macro-F1 per corpus and pooled, thresholds tuned on the pooled validation lines."""
    from trainer.metrics import compute_metrics, tune_thresholds

    scores = {name: tagger.scores(texts) for name, (texts, _) in valid.items()}
    pooled_y = np.concatenate([y for _, y in valid.values()])
    thresholds = tune_thresholds(pooled_y, np.concatenate(list(scores.values())))
    result = {"thresholds": thresholds}
    for name, (_, y) in valid.items():
        metrics = compute_metrics(y, scores[name] > np.asarray(thresholds))
        result[name] = {"micro_f1": metrics.micro_f1, "macro_f1": metrics.macro_f1}
    result["selection"] = float(np.mean([result[name]["macro_f1"] for name in valid]))
    return result


def save_layers(tagger: Tagger, path: Path, torch) -> None:
    from safetensors.torch import save_file

    layers = {
        f"encoder.{k}": v.detach().to(torch.float16).contiguous() for k, v in tagger.encoder.encoder.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(layers, str(path), metadata={"base": "all-MiniLM-L6-v2", "note": "transformer layers only"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--max-steps", type=int, default=None, help="stop early (to measure speed)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "words" / "encoder")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    args = parser.parse_args()

    import torch

    from feature_extractors.text import bundled_model_path
    from trainer.words_corpora import corpus_split

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    random.seed(SEED)
    train_lines = corpus_split("goemotions", "train") + corpus_split("xed", "train")
    texts, targets = labelled(train_lines)
    valid = {name: labelled(corpus_split(name, "valid")) for name in ("goemotions", "xed")}
    tagger = Tagger(torch, bundled_model_path())
    steps_per_epoch = math.ceil(len(texts) / args.batch_size)
    total = int(steps_per_epoch * args.epochs) if args.max_steps is None else args.max_steps
    optimizer = torch.optim.AdamW(tagger.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, int(0.06 * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    print(f"train lines {len(texts)}, {steps_per_epoch} steps/epoch, {total} steps", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    history, best, started, step = [], None, time.time(), 0
    tagger.train(True)
    while step < total:
        for batch in bucketed_batches(texts, args.batch_size):
            if step >= total:
                break
            loss = loss_fn(tagger.logits([texts[i] for i in batch]), torch.from_numpy(targets[batch]))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tagger.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                rate = step / (time.time() - started)
                print(f"step {step}/{total} loss {loss.item():.4f} {rate:.2f} steps/s", flush=True)
            if step % args.eval_every == 0 or step == total:
                result = {"step": step, **validate(tagger, valid), "minutes": round((time.time() - started) / 60, 1)}
                history.append(result)
                print(json.dumps(result), flush=True)
                if best is None or result["selection"] > best["selection"]:
                    best = result
                    save_layers(tagger, args.work / "words_encoder.safetensors", torch)
                (args.work / "history.json").write_text(json.dumps({"history": history, "best": best}, indent=1))
    if args.max_steps is None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "words_encoder.safetensors").write_bytes((args.work / "words_encoder.safetensors").read_bytes())
    print(json.dumps({"best": best}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
