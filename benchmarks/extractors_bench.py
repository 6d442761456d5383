"""Speed of the feature extractors on this machine: ms per video frame, real-time factors for audio and text.

    .venv/bin/python benchmarks/extractors_bench.py [--seconds 20] [--frames 200] [--only visual ...]

Real-time factor = processing time / audio duration (below 1 keeps up with live audio). The speech is made
by espeak-ng, the face is skimage's astronaut photo scaled to 640x480.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feature_extractors.acoustic import SAMPLE_RATE, AcousticExtractor, AcousticStream
from feature_extractors.windows import TimedRows, build_window

SENTENCES = [
    "Hello, I am very happy to see you today.",
    "The weather was terrible and I felt quite sad about the trip.",
    "Why would anyone do something so stupid, it makes me angry.",
    "This is a good morning for a walk in the park.",
]


def espeak_speech(seconds: float) -> np.ndarray:
    import soundfile
    import soxr

    pieces, total = [], 0.0
    with tempfile.TemporaryDirectory() as folder:
        index = 0
        while total < seconds:
            path = Path(folder) / f"{index}.wav"
            subprocess.run(["espeak-ng", "-w", str(path), SENTENCES[index % len(SENTENCES)]], check=True)
            samples, rate = soundfile.read(path, dtype="float32")
            samples = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)
            pieces += [samples, np.zeros(int(0.8 * SAMPLE_RATE), np.float32)]
            total += len(samples) / SAMPLE_RATE + 0.8
            index += 1
    return np.concatenate(pieces)


def show(label: str, figure: str) -> None:
    print(f"{label:<72s} {figure}")


def timed(function, *args, repeat: int = 1):
    start = time.perf_counter()
    for _ in range(repeat):
        result = function(*args)
    return (time.perf_counter() - start) / repeat, result


def bench_visual(frames: int) -> None:
    import cv2
    import skimage.data
    import torch

    from feature_extractors.visual import FaceExtractor

    frame = cv2.resize(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR), (640, 480))
    # The app runs torch on one intra-op thread on two cores (app/predictor.py); with two, the CNN's
    # threads wait on each other whenever another process holds a core (measured: 2.5 ms -> 500 ms).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for label, kwargs in (("tracking 1 face (the app)", {}), ("tracking up to 2 faces", {"max_faces": 2})):
        with FaceExtractor(**kwargs) as faces:
            face = faces.extract(frame)  # warm up: graph start, first detection
            cpu, each = time.process_time(), []
            for _ in range(frames):
                each.append(timed(faces.extract, frame)[0])
            cpu_ms = (time.process_time() - cpu) / frames * 1000
            show(
                f"visual    face features, 640x480, {label}",
                f"{np.mean(each) * 1000:7.2f} ms/frame (median {np.median(each) * 1000:.2f}; {cpu_ms:.2f} CPU)",
            )
            seconds, _ = timed(faces.observe, frame, repeat=frames)
            show("visual      of which FaceLandmarker + geometry + crop", f"{seconds * 1000:7.2f} ms/frame")
            seconds, _ = timed(faces.embed_crops, face.crop[None], repeat=frames)
            show("visual      of which expression CNN (crop + mirror)", f"{seconds * 1000:7.2f} ms/frame")
    with FaceExtractor(static_image=True) as faces:
        faces.extract(frame)
        seconds, _ = timed(faces.extract, frame, repeat=max(frames // 4, 5))
        show("visual    face features, 640x480, still mode", f"{seconds * 1000:7.2f} ms/frame")
    show("visual    load average (1, 5, 15 min) while measured", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    torch.set_num_threads(threads)


def bench_acoustic(speech: np.ndarray, duration: float) -> None:
    extractor = AcousticExtractor()
    extractor.extract(speech[:SAMPLE_RATE])
    seconds, frames = timed(extractor.extract, speech)
    show(f"acoustic  eGeMAPS offline ({len(frames)} frames)", f"RTF {seconds / duration:.4f}")
    stream = AcousticStream(extractor)
    block = SAMPLE_RATE // 50
    start = time.perf_counter()
    for i in range(0, len(speech), block):
        stream.feed(speech[i : i + block], i / SAMPLE_RATE)
    show("acoustic  eGeMAPS streaming, 20 ms blocks", f"RTF {(time.perf_counter() - start) / duration:.4f}")


def bench_voice(speech: np.ndarray, duration: float) -> None:
    """The voice stream the model hears (feature_extractors/voice.py), as the live voice worker runs it."""
    from feature_extractors.voice import VoiceExtractor, VoiceStream

    voice = VoiceExtractor()
    voice.extract(speech[: 2 * SAMPLE_RATE])
    stream, block = VoiceStream(voice), SAMPLE_RATE // 50
    start, rows = time.perf_counter(), 0
    for i in range(0, len(speech), block):
        rows += len(stream.feed(speech[i : i + block], i / SAMPLE_RATE))
    seconds = time.perf_counter() - start
    show(
        f"voice     Whisper-encoder rows, streaming, 1 thread ({rows} rows)",
        f"RTF {seconds / duration:.4f} = {1000 * seconds / duration:.0f} ms per s of audio",
    )


def bench_speech_and_text(speech: np.ndarray, duration: float) -> None:
    from feature_extractors.speech import SpeechRecognizer, StreamingTranscriber
    from feature_extractors.text import TextEncoder

    recognizer = SpeechRecognizer()
    recognizer.transcribe(speech[: 2 * SAMPLE_RATE])
    seconds, words = timed(recognizer.transcribe, speech)
    show(
        f"ASR       faster-whisper tiny.en int8, 2 threads, {len(words)} words",
        f"RTF {seconds / duration:.4f}",
    )
    block = SAMPLE_RATE // 50
    for pause_s, max_utterance_s in ((0.6, 8.0), (0.4, 3.0)):
        transcriber = StreamingTranscriber(recognizer, pause_s=pause_s, max_utterance_s=max_utterance_s)
        start, delays = time.perf_counter(), []
        for i in range(0, len(speech), block):
            now = (i + block) / SAMPLE_RATE
            delays += [now - word.end for word in transcriber.feed(speech[i : i + block], i / SAMPLE_RATE)]
        rtf = (time.perf_counter() - start) / duration
        show(
            f"ASR       streaming (pause {pause_s} s, limit {max_utterance_s:g} s), 20 ms blocks",
            f"RTF {rtf:.4f}",
        )
        if delays:
            show(
                "ASR         word end -> emitted (audio time; add transcription time live)",
                f"median {np.median(delays):.2f} s, max {max(delays):.2f} s",
            )

    import torch

    encoder = TextEncoder()
    encoder.encode(words[:5])
    threads = torch.get_num_threads()
    # torch's thread pool stalls when another process holds a core: show 1 thread beside the default.
    for count in sorted({threads, 1}, reverse=True):
        torch.set_num_threads(count)
        seconds, _ = timed(encoder.encode, words, repeat=5)
        show(
            f"text      MiniLM per-word vectors, {len(words)} words, {count} torch thread(s)",
            f"RTF {seconds / duration:.4f} ({seconds * 1000:.1f} ms)",
        )
        seconds, _ = timed(encoder.encode, words[:10], repeat=20)
        show(f"text      one 10-word utterance, {count} torch thread(s)", f"{seconds * 1000:7.2f} ms")
    torch.set_num_threads(threads)


def bench_window() -> None:
    rng = np.random.default_rng(0)
    starts = np.arange(0, 4, 0.01)
    audio = TimedRows(np.stack([starts, starts + 0.02], 1), rng.normal(size=(len(starts), 26)))
    frame_starts = np.arange(0, 4, 1 / 30)
    visual = TimedRows(
        np.stack([frame_starts, frame_starts + 1 / 30], 1), rng.normal(size=(len(frame_starts), 17))
    )
    word_starts = np.arange(0, 4, 0.3)
    text = TimedRows(np.stack([word_starts, word_starts + 0.25], 1), rng.normal(size=(len(word_starts), 384)))
    for aligned in (True, False):
        seconds, _ = timed(
            lambda aligned=aligned: build_window(
                text, visual, audio, 0.0, 4.0, aligned=aligned, lengths=(50, 500, 500)
            ),
            repeat=200,
        )
        show(f"window    4 s window, {'aligned' if aligned else 'unaligned'}", f"{seconds * 1000:7.2f} ms")


PARTS = ("visual", "acoustic", "voice", "speech", "window")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the speech used (default 20)")
    parser.add_argument(
        "--frames", type=int, default=200, help="video frames per visual figure (default 200)"
    )
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="measure only these (default all)")
    args = parser.parse_args()
    if "visual" in args.only:
        bench_visual(args.frames)
    if {"acoustic", "voice", "speech"} & set(args.only):
        speech = espeak_speech(args.seconds)
        duration = len(speech) / SAMPLE_RATE
        print(f"speech: {duration:.1f} s of espeak-ng audio")
        if "acoustic" in args.only:
            bench_acoustic(speech, duration)
        if "voice" in args.only:
            bench_voice(speech, duration)
        if "speech" in args.only:
            bench_speech_and_text(speech, duration)
    if "window" in args.only:
        bench_window()
    return 0


if __name__ == "__main__":
    sys.exit(main())
