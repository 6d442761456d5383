"""EmoDB clips (the emodb corpus) for the voice tests, and how a checkpoint reads one offline: the file
-> voice rows -> voice-only windows, as `main.py prepare` makes them (one over the whole clip), or as the
live engine scores the clip when it plays into a silent microphone (`live_scores`). A test that uses them is
marked `needs_data("emodb")`."""

from __future__ import annotations

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE
from trainer.data_folders import corpus

EMODB = corpus("emodb")


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


def live_scores(predictor, name: str, leads=(0.5, 0.55, 0.6, 0.65, 0.7)) -> np.ndarray:
    """Raw scores [windows, labels] of every window the live engine can score while the clip plays into a
    silent microphone and 1.5 s after: the clip after `leads` seconds of digital silence (the voice passes'
    grid falls elsewhere on the clip for each), a window ending at each pass, holding only the rows heard by
    its end (whole-clip rows would hand a window the second after it). Windows with too little voice to
    vote score 0, as live."""
    from feature_extractors.voice import HOP_S, VoiceExtractor
    from feature_extractors.windows import LIVE_WINDOW_S, TimedRows, build_window

    clip = clip_samples(name)
    empty = {m: TimedRows.empty(predictor.feature_spec.dims[m]) for m in ("text", "visual")}
    voice, scores = VoiceExtractor(), []
    for lead in leads:
        samples = np.concatenate([np.zeros(round(lead * SAMPLE_RATE), np.float32), clip])
        rows = voice.extract(np.concatenate([samples, np.zeros(round(1.5 * SAMPLE_RATE), np.float32)]))
        for end in np.arange(HOP_S, len(samples) / SAMPLE_RATE + 1.5 + 1e-9, HOP_S):
            heard = rows.times[:, 1] <= end + 1e-9
            window = build_window(
                empty["text"], empty["visual"], TimedRows(rows.times[heard], rows.values[heard]),
                end - LIVE_WINDOW_S, end, aligned=False, lengths=predictor.lengths,
            )  # fmt: skip
            predictor.smoother.reset()
            scores.append(predictor.predict(window, end).raw_scores)
    return np.array(scores)


def clearest(predictor, speakers, letter: str, key, scores=offline_scores) -> dict[str, str]:
    """The labels row of the `speakers`' clip of EmoDB emotion `letter` that maximises key(scores(predictor,
    file)), the scores offline_scores' (one row) or live_scores' (a row per window)."""
    from trainer.emodb import read_labels

    clips = [r for r in read_labels(EMODB) if r["speaker"] in set(speakers) and r["emodb_letter"] == letter]
    return max(clips, key=lambda r: key(scores(predictor, r["file"])))
