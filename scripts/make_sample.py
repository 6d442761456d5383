"""Make the bundled sample clip, samples/sample_clip.mp4 (run once; the file is committed).

A face (scikit-image's astronaut photograph of Eileen Collins, NASA, public domain) drifting slightly,
and espeak-ng speaking three sentences, each followed by a pause: a happy one, a sad one and an angry one.
Written small on purpose (480x360, 15 frames a second, H.264 at CRF 30, AAC mono 16 kHz).

    .venv/bin/python scripts/make_sample.py [--out samples/sample_clip.mp4]
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.spoken_media import SAMPLE_RATE, face_frame, speak

# (start second, sentence): each sentence ends well before the next starts.
SENTENCES = (
    (0.5, "I am so happy today! This is wonderful news, and I love it."),
    (7.0, "I feel so sad and lonely. I miss my family, and I want to cry."),
    (13.5, "I am furious! This is outrageous, and I hate it."),
)
DURATION_S = 19.0
FPS = 15
SIZE = (480, 360)


def make_sample(path: Path) -> list[tuple[float, float, str]]:
    import av

    track = np.zeros(int(DURATION_S * SAMPLE_RATE), np.float32)
    spans = []
    for start, text in SENTENCES:
        samples = speak(text)
        begin = int(start * SAMPLE_RATE)
        piece = samples[: len(track) - begin]
        track[begin : begin + len(piece)] += 0.8 * piece
        spans.append((start, start + len(piece) / SAMPLE_RATE, text))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS, options={"crf": "30", "preset": "veryslow"})
        video.width, video.height = SIZE
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        audio.bit_rate = 32000
        for index in range(int(DURATION_S * FPS)):
            frame = av.VideoFrame.from_ndarray(face_frame(index, FPS, SIZE), format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(video.encode(frame))
        pcm = np.clip(track, -1, 1)[None, :]
        for first in range(0, pcm.shape[1], 1024):
            samples = np.ascontiguousarray(pcm[:, first : first + 1024])
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = SAMPLE_RATE, first
            container.mux(audio.encode(chunk))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return spans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "samples" / "sample_clip.mp4")
    args = parser.parse_args()
    for start, end, text in make_sample(args.out):
        print(f"{start:5.2f}-{end:5.2f} s  {text}")
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
