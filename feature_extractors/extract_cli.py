"""Extract face, voice and word features from an image, an audio file or a video with sound.

Writes every stream's timestamped features and the transcript to one .npz file (default: next to the
media, MEDIA.features.npz) and prints a short summary. Arrays in the file: for each modality M in text,
visual, audio: M_times [N, 2] (start, end seconds) and M_values [N, D]; visual_boxes [N, 4] (face box in
pixels); words (the transcript, one word per entry) with word_times [N, 2] and word_probabilities; and
feature_spec (the FeatureSpec as JSON). Load with np.load(path).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .acoustic import SAMPLE_RATE
from .spec import default_feature_spec
from .speech import Word
from .windows import TimedRows

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class ExtractedMedia:
    duration_s: float
    frames: int = 0
    visual: TimedRows = field(default_factory=lambda: TimedRows.empty(default_feature_spec().visual.dim))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    audio: TimedRows = field(default_factory=lambda: TimedRows.empty(default_feature_spec().audio.dim))
    words: list[Word] = field(default_factory=list)
    text: TimedRows = field(default_factory=lambda: TimedRows.empty(default_feature_spec().text.dim))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("media", type=Path, help="an image, an audio file or a video (with or without sound)")
    parser.add_argument("--out", type=Path, default=None, help="the .npz file to write (default MEDIA.features.npz)")
    parser.add_argument("--whisper-model", default=None, help="CTranslate2 Whisper folder or name (default: bundled tiny.en)")


def run(args: argparse.Namespace) -> int:
    media: Path = args.media
    if not media.is_file():
        print(f"extract: {media} does not exist or is not a file")
        return 2
    try:
        extracted = extract_media(media, whisper_model=args.whisper_model)
    except MediaError as error:
        print(f"extract: {error}")
        return 2
    out = args.out or media.with_name(media.name + ".features.npz")
    save_extracted(extracted, out)
    print(summary(media, extracted, out))
    return 0


class MediaError(ValueError):
    """The media file cannot be read."""


def extract_media(media: Path, *, whisper_model: str | None = None) -> ExtractedMedia:
    if media.suffix.lower() in IMAGE_SUFFIXES:
        return _extract_image(media)
    video_frames, samples, duration = _decode(media)
    extracted = ExtractedMedia(duration_s=duration)
    if video_frames:
        _extract_faces(video_frames, extracted)
    if samples is not None and len(samples):
        _extract_sound(samples, extracted, whisper_model)
    return extracted


def _extract_image(media: Path) -> ExtractedMedia:
    import cv2

    from .visual import FaceExtractor

    frame = cv2.imread(str(media), cv2.IMREAD_COLOR)
    if frame is None:
        raise MediaError(f"{media} is not a readable image (corrupt, or a format OpenCV cannot decode)")
    extracted = ExtractedMedia(duration_s=0.0, frames=1)
    with FaceExtractor(static_image=True) as faces:
        _add_face(extracted, faces.extract(frame), 0.0, 0.0)
    return extracted


def _decode(media: Path) -> tuple[list[tuple[float, np.ndarray]], np.ndarray | None, float]:
    """Video frames (time, BGR image) and the sound as 16 kHz mono float32, with the file's duration."""
    import av

    try:
        container = av.open(str(media))
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise MediaError(f"{media} is not a readable audio or video file ({error})") from error
    with container:
        has_video = bool(container.streams.video)
        has_audio = bool(container.streams.audio)
        if not has_video and not has_audio:
            raise MediaError(f"{media} holds neither video nor audio")
        streams = [s for s in (container.streams.video[:1] + container.streams.audio[:1])]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        frames: list[tuple[float, np.ndarray]] = []
        chunks: list[np.ndarray] = []
        try:
            for packet in container.demux(*streams):
                for decoded in packet.decode():
                    if isinstance(decoded, av.VideoFrame):
                        frames.append((float(decoded.time or 0.0), decoded.to_ndarray(format="bgr24")))
                    else:
                        chunks.extend(r.to_ndarray().reshape(-1) for r in resampler.resample(decoded))
            chunks.extend(r.to_ndarray().reshape(-1) for r in resampler.resample(None))
        except av.error.FFmpegError as error:
            raise MediaError(f"{media} is damaged: decoding stopped with {error}") from error
    samples = np.concatenate(chunks).astype(np.float32) if chunks else (np.zeros(0, np.float32) if has_audio else None)
    duration = max(
        (frames[-1][0] if frames else 0.0) + (_frame_step(frames) if frames else 0.0),
        len(samples) / SAMPLE_RATE if samples is not None else 0.0,
    )
    return frames, samples, duration


def _frame_step(frames: list[tuple[float, np.ndarray]]) -> float:
    if len(frames) < 2:
        return 1 / 30
    return float(np.median(np.diff([time for time, _ in frames])))


def _extract_faces(frames: list[tuple[float, np.ndarray]], extracted: ExtractedMedia) -> None:
    from tqdm import tqdm

    from .visual import FaceExtractor

    step = _frame_step(frames)
    with FaceExtractor(static_image=False) as faces:
        for time, image in tqdm(frames, desc="faces", unit="frame", leave=False):
            _add_face(extracted, faces.extract(image), time, time + step)
    extracted.frames = len(frames)


def _add_face(extracted: ExtractedMedia, face, start: float, end: float) -> None:
    if face is None:
        return
    extracted.visual = extracted.visual.concat(TimedRows(np.array([[start, end]]), face.vector[None]))
    extracted.boxes = np.concatenate([extracted.boxes, np.array([face.box], np.float32)])


def _extract_sound(samples: np.ndarray, extracted: ExtractedMedia, whisper_model: str | None) -> None:
    from .acoustic import AcousticExtractor
    from .speech import SpeechRecognizer
    from .text import TextEncoder

    extracted.audio = AcousticExtractor().extract(samples)
    extracted.words = SpeechRecognizer(whisper_model).transcribe(samples)
    if extracted.words:
        extracted.text = TextEncoder().encode(extracted.words)


def save_extracted(extracted: ExtractedMedia, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    words = extracted.words
    np.savez_compressed(
        out,
        text_times=extracted.text.times,
        text_values=extracted.text.values,
        visual_times=extracted.visual.times,
        visual_values=extracted.visual.values,
        visual_boxes=extracted.boxes,
        audio_times=extracted.audio.times,
        audio_values=extracted.audio.values,
        words=np.array([w.text for w in words], dtype=np.str_),
        word_times=np.array([(w.start, w.end) for w in words], np.float64).reshape(-1, 2),
        word_probabilities=np.array([w.probability for w in words], np.float32),
        duration_s=np.float64(extracted.duration_s),
        feature_spec=np.array(json.dumps(default_feature_spec().to_dict())),
    )


def summary(media: Path, extracted: ExtractedMedia, out: Path) -> str:
    lines = [f"{media}: {extracted.duration_s:.2f} s"]
    if extracted.frames:
        lines.append(f"  video frames: {extracted.frames}, with a face: {len(extracted.visual)}")
    if len(extracted.audio):
        lines.append(f"  acoustic frames: {len(extracted.audio)} ({default_feature_spec().audio.rate_hz:g} per second)")
        transcript = " ".join(w.text for w in extracted.words)
        lines.append(f"  words: {len(extracted.words)}" + (f': "{transcript}"' if transcript else ""))
    lines.append(f"  written to {out}")
    return "\n".join(lines)
