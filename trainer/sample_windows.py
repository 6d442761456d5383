"""One sample -> one CARAT input window, made by the live extractors and `feature_extractors.windows`:
media through `extract_media`, text with consecutive word spans, a face photo as a jittered still face
over a live window (face_images.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from carat_model.config import MODALITIES, CaratConfig
from feature_extractors.windows import LIVE_WINDOW_S

from .sample_lists import Item

WORD_SECONDS = 0.4  # a text-only word's span (about 150 words a minute)
STILL_FACE_SECONDS = LIVE_WINDOW_S  # a face photo is seen for one live window
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
TEXT_SUFFIXES = {".txt"}
NOTHING_IN_SPAN = "no words, face or voice in its span"  # a window no stream reaches: skipped


@dataclass(frozen=True)
class WindowShape:
    """The model input each sample becomes: aligned (one step per word for all three) or unaligned."""

    aligned: bool = True
    text_steps: int = 32
    media_steps: int = 128  # unaligned only: visual and acoustic rows kept

    @property
    def lengths(self) -> tuple[int, int, int]:
        if self.aligned:
            return (self.text_steps,) * 3
        return (self.text_steps, self.media_steps, self.media_steps)

    @classmethod
    def for_model(cls, config: CaratConfig) -> WindowShape:
        """The windows a model of this config reads, as the live predictor feeds it (app/predictor.py
        `lengths`): aligned, one step per word up to `text_max_len`; unaligned, `text_max_len` words and
        `unaligned_steps` face and voice rows. Data prepared in this shape trains and scores that model."""
        if config.aligned:
            return cls(aligned=True, text_steps=config.text_max_len)
        return cls(aligned=False, text_steps=config.text_max_len, media_steps=config.unaligned_steps)


class SampleError(ValueError):
    """One sample cannot be prepared (unreadable file, no content in its span)."""


class Extractors:
    """Heavy extractors, made once per process on first use."""

    def __init__(self, whisper_model: str | None) -> None:
        self.whisper_model = whisper_model
        self._text = None
        self._media: dict[str, Any] = {}
        self._faces = None

    def text_encoder(self):
        if self._text is None:
            from feature_extractors.text import TextEncoder

            self._text = TextEncoder()
        return self._text

    def still_faces(self):
        """The still-image face extractor (face-image folders: each image becomes a jittered window)."""
        if self._faces is None:
            from feature_extractors.visual import FaceExtractor

            self._faces = FaceExtractor(static_image=True, max_faces=1)
        return self._faces

    def media(self, path: str, words: bool = True):
        """All timed rows of one media file (kept for the other rows of the same file); `words=False`
        skips speech recognition."""
        if (path, words) not in self._media:
            from feature_extractors.extract import MediaError, extract_media

            self._media.clear()
            try:
                found = extract_media(Path(path), whisper_model=self.whisper_model, words=words, acoustic=False)
                self._media[(path, words)] = found
            except MediaError as error:
                raise SampleError(str(error)) from error
        return self._media[(path, words)]


def _empty_rows(modality: str):
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.windows import TimedRows

    return TimedRows.empty(default_feature_spec().dims[modality])


def text_rows(encoder, sentence: str):
    """A sentence's word vectors with consecutive WORD_SECONDS spans."""
    from feature_extractors.windows import TimedRows

    vectors = encoder.encode_sentence(sentence)
    starts = np.arange(len(vectors)) * WORD_SECONDS
    return TimedRows(np.stack([starts, starts + WORD_SECONDS], axis=1), vectors)


def utterance_rows(words, start: float, end: float, max_words: int, encoder):
    """The words of a media sample: of those inside [start, end), the utterance current at `end`, whole
    (feature_extractors/utterances.py, the policy of the live engine), encoded together as one sentence.

    One window per sample, as live would score it at the sample's end: its labels name the span, and a
    second window per utterance would give each sentence labels that may belong to another."""
    from feature_extractors.utterances import UTTERANCE_PAUSE_S, current_utterance

    inside = [w for w in words if w.end > start and w.start < end]
    return encoder.encode(current_utterance(inside, end, pause_s=UTTERANCE_PAUSE_S, max_words=max_words))


def prepare_window(item: Item, extractors: Extractors, shape: WindowShape) -> dict[str, np.ndarray]:
    """The CARAT input window of one item, made by the live extractors and `build_window`."""
    from feature_extractors.windows import build_window

    visual, audio = _empty_rows("visual"), _empty_rows("audio")
    if item.path is not None and Path(item.path).suffix.lower() in IMAGE_SUFFIXES:
        if shape.aligned:  # such a window would hold nothing at all, and train to a NaN loss
            raise SampleError(
                "a face photo has no words, and an aligned window has one step per word; prepare photos "
                "unaligned (main.py prepare's default, the shipped checkpoints' windows)"
            )
        return _still_face_window(item, extractors, shape)
    if item.text is not None or Path(item.path).suffix.lower() in TEXT_SUFFIXES:
        if item.text is not None:
            sentence = item.text
        else:
            try:
                sentence = Path(item.path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise SampleError(f"cannot read {item.path} as UTF-8 text ({error})") from error
        text = text_rows(extractors.text_encoder(), sentence)
        start, end = 0.0, max(len(text) * WORD_SECONDS, WORD_SECONDS)
    else:
        if not Path(item.path).is_file():
            raise SampleError(f"{item.path} does not exist")
        media = extractors.media(item.path, words="text" in item.modalities)
        streams = {"text": media.text, "visual": media.visual, "audio": media.audio}
        text, visual, audio = (streams[m] if m in item.modalities else _empty_rows(m) for m in MODALITIES)
        start = item.start or 0.0
        end = item.end if item.end is not None else max(media.duration_s, start + 1e-3)
        if len(text):  # the words a live window ending at `end` scores, encoded as live encodes them
            text = utterance_rows(media.words, start, end, shape.text_steps, extractors.text_encoder())
    window = build_window(text, visual, audio, start, end, aligned=shape.aligned, lengths=shape.lengths)
    if not any(window[f"{m}_mask"].any() for m in MODALITIES):
        raise SampleError(NOTHING_IN_SPAN)
    return window


def _still_face_window(item: Item, extractors: Extractors, shape: WindowShape) -> dict[str, np.ndarray]:
    """A face photo seen for a live window (STILL_FACE_SECONDS) with realistic jitter (face_images.py)."""
    import cv2

    from .face_images import key_rng, still_face_window

    frame = cv2.imread(item.path, cv2.IMREAD_COLOR)
    if frame is None:
        raise SampleError(f"{item.path} is not a readable image")
    faces = extractors.still_faces()
    face = faces.observe(frame)
    if face is None:
        raise SampleError(f"no face found in {item.path}")
    observation = (face.points, face.blendshapes, face.crop)
    return still_face_window(observation, faces.embed_crops, key_rng(item.key, 0), shape, STILL_FACE_SECONDS)
