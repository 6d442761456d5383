"""EmoDB clips (../shared/data/emodb) for the voice tests, and how a checkpoint reads one offline: the file
-> voice rows -> one voice-only window over the whole clip, as `main.py prepare` makes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE

EMODB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "emodb"


def clip_samples(name: str) -> np.ndarray:
    """One EmoDB recording as 16 kHz mono float32."""
    import soundfile
    import soxr

    samples, rate = soundfile.read(EMODB / "wav" / name, dtype="float32")
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)


def offline_scores(predictor, name: str) -> np.ndarray:
    """The predictor's raw scores for the clip's voice alone (no words, no face), unsmoothed."""
    from feature_extractors.voice import VoiceExtractor
    from feature_extractors.windows import TimedRows, build_window

    samples = clip_samples(name)
    empty = {m: TimedRows.empty(predictor.feature_spec.dims[m]) for m in ("text", "visual")}
    rows = VoiceExtractor().extract(samples)
    window = build_window(
        empty["text"], empty["visual"], rows, 0.0, len(samples) / SAMPLE_RATE, aligned=False, lengths=predictor.lengths
    )
    predictor.smoother.reset()
    return np.array(predictor.predict(window, 0.0).raw_scores)


def clearest(predictor, speakers, letter: str, key) -> dict[str, str]:
    """The labels row of the `speakers`' clip of EmoDB emotion `letter` that maximises key(offline scores)."""
    from trainer.emodb import read_labels

    clips = [r for r in read_labels(EMODB) if r["speaker"] in set(speakers) and r["emodb_letter"] == letter]
    return max(clips, key=lambda r: key(offline_scores(predictor, r["file"])))
