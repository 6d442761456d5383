"""Face, voice and word features of an image, an audio file or a video with sound (`main.py extract`).

`save_extracted` writes every stream's timestamped features and the transcript to one .npz file (default: next to the
media, MEDIA.features.npz) and prints a short summary. Arrays in the file: for each modality M in text,
visual, audio: M_times [N, 2] (start, end seconds) and M_values [N, D]; visual_boxes [N, 4] (face box in
pixels); acoustic_times / acoustic_values (openSMILE eGeMAPS descriptors, 100 a second: loudness,
pitch ...; shown, not fed to the model); words (the transcript, one word per entry) with word_times [N, 2]
and word_probabilities; and feature_spec (the FeatureSpec as JSON). Load with np.load(path). `plot_extracted` draws the
streams over time (a few face features, loudness and pitch, the words).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .acoustic import SAMPLE_RATE, non_finite_warning, silence_non_finite
from .media import MediaDecodeError, MediaError, MediaReader, cut_off_message, neither_message
from .spec import AUDIO_FEATURE_NAMES, default_feature_spec
from .speech import Word
from .windows import TimedRows

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class ExtractedMedia:
    duration_s: float
    frames: int = 0
    face_spans: list[tuple[float, float]] = field(default_factory=list)
    face_vectors: list[np.ndarray] = field(default_factory=list)
    face_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    audio: TimedRows = field(default_factory=lambda: TimedRows.empty(default_feature_spec().audio.dim))
    # eGeMAPS descriptors at 100 a second (loudness, pitch ...): for plots and inspection, not a model input.
    acoustic: TimedRows = field(default_factory=lambda: TimedRows.empty(len(AUDIO_FEATURE_NAMES)))
    words: list[Word] = field(default_factory=list)
    text: TimedRows = field(default_factory=lambda: TimedRows.empty(default_feature_spec().text.dim))
    warnings: list[str] = field(default_factory=list)  # what was read only in part, and why

    @property
    def visual(self) -> TimedRows:
        if not self.face_vectors:
            return TimedRows.empty(default_feature_spec().visual.dim)
        return TimedRows(np.array(self.face_spans), np.stack(self.face_vectors))

    @property
    def boxes(self) -> np.ndarray:
        return np.array(self.face_boxes, np.float32).reshape(-1, 4)


def extract_media(
    media: Path, *, whisper_model: str | None = None, words: bool = True, acoustic: bool = True
) -> ExtractedMedia:
    """Every stream of one file; `words=False` skips speech recognition (a voice-only source) and
    `acoustic=False` the eGeMAPS descriptors (no model reads them: `main.py prepare` skips them, half its
    time on voice-only windows)."""
    if media.suffix.lower() in IMAGE_SUFFIXES:
        return _extract_image(media)
    extracted, samples = _extract_video_and_decode_sound(media)
    if samples is not None and len(samples):
        _extract_sound(samples, extracted, whisper_model, words, acoustic)
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


def _extract_video_and_decode_sound(media: Path) -> tuple[ExtractedMedia, np.ndarray | None]:
    """Face features of every video frame as it is decoded (frames are not kept), and the sound as
    16 kHz mono float32 (None when the file has no audio stream)."""
    from tqdm import tqdm

    from .visual import FaceExtractor

    with MediaReader(media) as reader:
        video, audio = reader.video, reader.audio
        if video is None and audio is None:
            raise MediaError(neither_message(media))
        frame_s = 1.0 / reader.frame_rate if reader.frame_rate else 1 / 30
        extracted = ExtractedMedia(duration_s=0.0)
        chunks: list[np.ndarray] = []
        last_frame_time = 0.0
        faces = FaceExtractor(static_image=False) if video is not None else None
        total = (video.frames or None) if video is not None else None
        progress = tqdm(total=total, desc="faces", unit="frame", leave=False, disable=video is None)
        try:
            for decoded in reader.frames(flush_audio=True):
                if decoded.is_video:
                    last_frame_time = decoded.time or 0.0
                    face = faces.extract(decoded.image)
                    _add_face(extracted, face, last_frame_time, last_frame_time + frame_s)
                    extracted.frames += 1
                    progress.update()
                else:
                    chunks.append(decoded.samples)
        except MediaDecodeError as error:
            if not (extracted.frames or any(len(c) for c in chunks)):
                raise MediaError(f"{media} is damaged: decoding stopped with {error.cause}") from error
            # A cut-off or damaged file: keep what decoded, as replay does, and say where it stopped.
            stopped_at = max(last_frame_time, sum(len(c) for c in chunks) / SAMPLE_RATE)
            extracted.warnings.append(cut_off_message(media, stopped_at, error.cause))
        finally:
            progress.close()
            if faces is not None:
                faces.close()
    samples = None
    if audio is not None:
        samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        samples, non_finite = silence_non_finite(samples)
        if non_finite:
            extracted.warnings.append(non_finite_warning(non_finite, str(media)))
    extracted.duration_s = max(
        last_frame_time + frame_s if extracted.frames else 0.0,
        len(samples) / SAMPLE_RATE if samples is not None else 0.0,
    )
    return extracted, samples


def _add_face(extracted: ExtractedMedia, face, start: float, end: float) -> None:
    if face is None:
        return
    extracted.face_spans.append((start, end))
    extracted.face_vectors.append(face.vector)
    extracted.face_boxes.append(face.box)


@functools.cache
def _voice_extractor():
    """One voice encoder per process (prepare calls extract_media once per file)."""
    from .voice import VoiceExtractor

    return VoiceExtractor()


def _extract_sound(
    samples: np.ndarray, extracted: ExtractedMedia, whisper_model: str | None, words: bool, acoustic: bool
) -> None:
    from .acoustic import AcousticExtractor
    from .speech import SpeechRecognizer
    from .text import TextEncoder

    extracted.audio = _voice_extractor().extract(samples)
    if acoustic:
        extracted.acoustic = AcousticExtractor().extract(samples)
    if not words:
        return
    extracted.words = SpeechRecognizer(whisper_model).transcribe(samples)
    if extracted.words:
        extracted.text = TextEncoder().encode(extracted.words)


def save_extracted(extracted: ExtractedMedia, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    words = extracted.words
    visual = extracted.visual
    np.savez_compressed(
        out,
        text_times=extracted.text.times,
        text_values=extracted.text.values,
        visual_times=visual.times,
        visual_values=visual.values,
        visual_boxes=extracted.boxes,
        audio_times=extracted.audio.times,
        audio_values=extracted.audio.values,
        acoustic_times=extracted.acoustic.times,
        acoustic_values=extracted.acoustic.values,
        words=np.array([w.text for w in words], dtype=np.str_),
        word_times=np.array([(w.start, w.end) for w in words], np.float64).reshape(-1, 2),
        word_probabilities=np.array([w.probability for w in words], np.float32),
        duration_s=np.float64(extracted.duration_s),
        feature_spec=np.array(json.dumps(default_feature_spec().to_dict())),
    )


def summary(media: Path, extracted: ExtractedMedia, out: Path) -> str:
    lines = [f"{media}: {extracted.duration_s:.2f} s"]
    if extracted.frames:
        lines.append(f"  video frames: {extracted.frames}, with a face: {len(extracted.face_vectors)}")
    if len(extracted.acoustic):  # the file has sound (its voice rows may be none: silence)
        lines.append(
            f"  voice rows: {len(extracted.audio)} ({default_feature_spec().audio.rate_hz:g} per second), "
            f"acoustic frames: {len(extracted.acoustic)}"
        )
        transcript = " ".join(w.text for w in extracted.words)
        lines.append(f"  words: {len(extracted.words)}" + (f': "{transcript}"' if transcript else ""))
    lines.append(f"  written to {out}")
    return "\n".join(lines)


def plot_extracted(extracted: ExtractedMedia, path: Path, *, title: str) -> None:
    """Three panels over time: face features, loudness and pitch, and the words where they were said."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = default_feature_spec()
    figure, (face_axes, voice_axes, word_axes) = plt.subplots(3, 1, figsize=(11, 7), sharex=True)
    visual = extracted.visual
    for name in ("mouth_open", "right_eye_open", "right_lip_corner_raise", "brow_inner_gap", "head_yaw"):
        face_axes.plot(
            visual.times[:, 0], visual.values[:, spec.visual.feature_names.index(name)], ".-", label=name
        )
    face_axes.set_ylabel("face")
    face_axes.legend(loc="upper right", fontsize=7)
    audio = extracted.acoustic
    loudness = AUDIO_FEATURE_NAMES.index("Loudness_sma3")
    pitch = AUDIO_FEATURE_NAMES.index("F0semitoneFrom27.5Hz_sma3nz")
    voice_axes.plot(audio.times[:, 0], audio.values[:, loudness], label="loudness (sones)")
    pitch_axes = voice_axes.twinx()
    voiced = audio.values[:, pitch] > 0
    pitch_axes.plot(audio.times[voiced, 0], audio.values[voiced, pitch], ".", color="tab:red", markersize=2)
    pitch_axes.set_ylabel("pitch (semitones over 27.5 Hz)", color="tab:red")
    voice_axes.set_ylabel("loudness")
    for word in extracted.words:
        word_axes.axvspan(word.start, word.end, alpha=0.2)
        word_axes.text((word.start + word.end) / 2, 0.5, word.text, rotation=90, ha="center", va="center")
    word_axes.set_yticks([])
    word_axes.set_ylabel("words")
    word_axes.set_xlabel("time (s)")
    word_axes.set_xlim(0, max(extracted.duration_s, 0.1))
    face_axes.set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
