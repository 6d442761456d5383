"""Pipeline benchmark: exact-replay speed, live latencies, prediction rate and dropped frames.

Measures on a 640x480, 30 fps clip with a face and espeak-ng speech (made on the spot):
- exact-mode replay speed as a multiple of real time (target: faster than real time, > 1x);
- live mode (the clip played through VideoCapture as a camera, its audio as a microphone):
  capture -> event latency for the visual stream, p50/p95 (target p95 < 150 ms), capture -> preview,
  end of speech -> its words in an event (target p95 <= 1.0 s), each word's end -> the first event
  holding it, predictions per second (target >= 4), frames dropped.

    .venv/bin/python benchmarks/pipeline_bench.py [--checkpoint PATH] [--live-seconds 30] [--early-pass 0 0.1]
        [--encoder-window 30 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.control import EngineCallbacks, EngineOptions, EngineSettings
from app.engine import Engine
from app.predictor import Predictor
from app.replay import replay
from app.workers import Extractors
from feature_extractors.speech import ENCODER_WINDOW_S, SpeechRecognizer
from trainer.spoken_media import write_clip
from trainer.untrained import build_untrained_checkpoint

SENTENCES = [
    "I am so happy to see you today",
    "this is not what I wanted at all",
    "wow, that is a big surprise",
    "please leave me alone now",
]


def percentiles(values, points=(50, 95)) -> str:
    if not values:
        return "n/a (none measured)"
    found = np.percentile(np.asarray(values) * 1000, points)
    return " / ".join(f"{v:.0f} ms" for v in found)


def words_in_events(events, since: float, end_gap_s: float = 0.5) -> tuple[list[float], list[float]]:
    """From the events alone: (each word's end -> the first event holding it, and the same for the words
    that end a stretch of speech, i.e. followed by `end_gap_s` of silence). Words ending before `since`
    are left out (start-up)."""
    first_seen = {}
    for event in events:
        for word in event.words:
            first_seen.setdefault((word.text, word.start, word.end), event.created_at)
    words = sorted(first_seen, key=lambda w: w[1])
    each, speech_ends = [], []
    for i, word in enumerate(words):
        if word[2] < since:
            continue
        latency = first_seen[word] - word[2]
        each.append(latency)
        following = words[i + 1][1] if i + 1 < len(words) else None
        if following is not None and following - word[2] >= end_gap_s:
            speech_ends.append(latency)
    return each, speech_ends


class SpeechEnds:
    """Where speech truly ends, in session time, from the audio the engine was given (not from speech
    recognition's word times, which move with its settings): the end of the last 20 ms block louder than a
    50th of the loudest, followed by at least `gap_s` of quieter blocks."""

    def __init__(self, gap_s: float = 0.5) -> None:
        self.gap_s = gap_s
        self.blocks: list[tuple[float, float]] = []  # (end time, rms)

    def feed(self, packet) -> None:
        samples = packet.samples
        self.blocks.append((packet.time + len(samples) / 16000, float(np.sqrt(np.mean(samples**2)))))

    def ends(self) -> list[float]:
        if not self.blocks:
            return []
        times, rms = np.array(self.blocks).T
        loud = np.flatnonzero(rms > rms.max() / 50)
        return [
            float(times[i])
            for i, j in zip(loud, list(loud[1:]) + [None])
            if j is not None and times[j] - times[i] >= self.gap_s
        ]


def speech_end_latencies(events, ends: list[float], since: float, slack_s: float = 0.7) -> list[float]:
    """For each true end of speech after `since`: the first event holding the last word recognised there
    (the word ending nearest after it, within `slack_s` either way: word times are rough) minus that end."""
    first_seen = {}
    for event in events:
        for word in event.words:
            first_seen.setdefault((word.text, word.start, word.end), event.created_at)
    latencies = []
    for end in ends:
        if end < since:
            continue
        near = [w for w in first_seen if abs(w[2] - end) <= slack_s and w[1] < end]
        if near:
            last = max(near, key=lambda w: w[2])
            latencies.append(first_seen[last] - end)
    return latencies


def live(clip: Path, predictor: Predictor, extractors: Extractors, options: EngineOptions, seconds: float) -> None:
    """Live mode on the clip (as camera and microphone, looping) for `seconds`, its figures printed."""
    events = []
    settings = EngineSettings(camera=str(clip), microphone=str(clip), extra={"loop": True})
    engine = Engine(
        settings,
        EngineCallbacks(on_event=events.append),
        options=options,
        predictor=predictor,
        extractors=extractors,
    )
    speech = SpeechEnds()
    given = engine.put_audio  # the sources' sink: every audio block, with its session time

    def put_audio(packet) -> None:
        speech.feed(packet)
        given(packet)

    engine.put_audio = put_audio
    engine.start()
    time.sleep(2.0)  # let start-up settle, then measure
    measured_from = engine.clock.now()
    stats = engine.stats
    events_before, frames_before, dropped_before = len(events), stats.frames_captured, stats.frames_dropped
    for series in (
        stats.visual_latency_s,
        stats.preview_latency_s,
        stats.word_latency_s,
        stats.predict_s,
        stats.utterance_latency_s,
    ):
        series.clear()
    began = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - began
    predictions = len(events) - events_before
    frames, dropped = stats.frames_captured - frames_before, stats.frames_dropped - dropped_before
    visual, preview = list(stats.visual_latency_s), list(stats.preview_latency_s)
    words, predict = list(stats.word_latency_s), list(stats.predict_s)
    utterances = list(stats.utterance_latency_s)
    engine.stop()
    shown, speech_ends = words_in_events(list(events[events_before:]), measured_from)
    true_ends = speech_end_latencies(list(events[events_before:]), speech.ends(), measured_from)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    early = (
        f"early speech pass after {options.asr_early_pass_s:g} s"
        if options.asr_early_pass_s
        else "no early speech pass"
    )
    print(f"\nlive mode, {elapsed:.0f} s, {early} ({os.cpu_count()} CPU cores, load average {load}; no GPU):")
    print(f"  capture -> event, visual stream p50/p95: {percentiles(visual)} (target p95 < 150 ms)")
    print(f"  capture -> face features -> preview p50/p95: {percentiles(preview)}")
    print(
        f"  end of speech (in the audio) -> its words in an event p50/p95: {percentiles(true_ends)} "
        f"(target p95 <= 1000 ms); {len(true_ends)} ends of speech"
    )
    print(
        f"  end of speech (its last word's end) -> its words in an event p50/p95: {percentiles(speech_ends)}; "
        f"{len(speech_ends)} ends of speech"
    )
    print(f"  each word's end -> the first event holding it p50/p95: {percentiles(shown)}; {len(shown)} words")
    print(
        f"  end of speech -> its words out of speech recognition p50/p95: {percentiles(utterances)}; "
        f"{len(utterances)} batches; each word: {percentiles(words)}"
    )
    print(f"  model step p50/p95: {percentiles(predict)}")
    print(f"  predictions per second: {predictions / elapsed:.2f} (target >= 4)")
    print(f"  frames: {frames} captured, {dropped} dropped by the face worker ({100 * dropped / max(frames, 1):.1f} %)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: an untrained paper-sized checkpoint")
    parser.add_argument("--clip-seconds", type=float, default=20.0)
    parser.add_argument("--live-seconds", type=float, default=30.0)
    parser.add_argument("--asr-threads", type=int, default=EngineOptions().asr_threads)
    parser.add_argument(
        "--encoder-window",
        type=float,
        nargs="+",
        default=[ENCODER_WINDOW_S],
        metavar="S",
        help="live runs, one per value: seconds of audio Whisper's encoder hears a pass (30: Whisper's own); "
        "e.g. 30 10 compares them in one run",
    )
    parser.add_argument(
        "--early-pass",
        type=float,
        nargs="+",
        default=[EngineOptions().asr_early_pass_s],
        metavar="S",
        help="live runs, one per value: seconds of silence before the speech pass starts (0: at the pause); "
        "e.g. 0 0.1 compares without and with the early pass in one run",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="carat-bench-"))
    clip = work / "bench.mkv"
    speech = [(1.0 + 5.0 * k, SENTENCES[k % len(SENTENCES)]) for k in range(int(args.clip_seconds // 5))]
    write_clip(clip, duration_s=args.clip_seconds, speech=speech)
    checkpoint = args.checkpoint or build_untrained_checkpoint(work / "full.safetensors", size="full")
    predictor = Predictor(checkpoint)
    began = time.perf_counter()
    extractors = Extractors.load(args.asr_threads)
    print(f"models loaded in {time.perf_counter() - began:.1f} s; checkpoint {checkpoint} on {predictor.device}")

    # Exact replay: every frame, as fast as it goes.
    began = time.perf_counter()
    result = replay(clip, predictor=predictor, extractors=extractors, exact=True, progress=True)
    took = time.perf_counter() - began
    print(
        f"\nexact replay: {args.clip_seconds:.0f} s of 640x480 30 fps video with speech in {took:.1f} s = "
        f"{args.clip_seconds / took:.2f}x real time (target > 1x); {len(result.events)} events, "
        f"{len(result.words)} words"
    )

    # Live: the clip as camera and microphone, looping; once for each early-pass setting, one after the
    # other in this run, so their figures compare on the same machine.
    for encoder_window_s in args.encoder_window:
        if encoder_window_s != extractors.recognizer.encoder_frames / 100:
            extractors.recognizer = SpeechRecognizer(threads=args.asr_threads, encoder_window_s=encoder_window_s)
        for early_pass_s in args.early_pass:
            options = dataclasses.replace(EngineOptions(), asr_early_pass_s=early_pass_s)
            print(f"\nspeech recognition's encoder window: {encoder_window_s:g} s", end="")
            live(clip, predictor, extractors, options, args.live_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
