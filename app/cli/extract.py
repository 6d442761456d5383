"""Extract face, voice and word features from an image, an audio file or a video with sound.

Writes every stream's timestamped features and the transcript to one .npz file (default: next to the
media, MEDIA.features.npz) and prints a short summary. Arrays in the file: for each modality M in text,
visual, audio: M_times [N, 2] (start, end seconds) and M_values [N, D]; visual_boxes [N, 4] (face box in
pixels); acoustic_times / acoustic_values (openSMILE eGeMAPS descriptors, 100 a second: loudness,
pitch ...; shown, not fed to the model); words (the transcript, one word per entry) with word_times [N, 2]
and word_probabilities; and feature_spec (the FeatureSpec as JSON). Load with np.load(path). With
--plot FILE.png it also draws the streams over time (a few face features, loudness and pitch, the words).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from feature_extractors.extract import extract_media, plot_extracted, save_extracted, summary
from feature_extractors.media import MediaError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("media", type=Path, help="an image, an audio file or a video (with or without sound)")
    parser.add_argument(
        "--out", type=Path, default=None, help="the .npz file to write (default MEDIA.features.npz)"
    )
    parser.add_argument(
        "--plot", type=Path, default=None, help="also draw the streams over time into this PNG"
    )
    parser.add_argument(
        "--whisper-model", default=None, help="CTranslate2 Whisper folder or name (default: bundled tiny.en)"
    )


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
    except Exception as error:  # noqa: BLE001 - an extractor broke: one line naming file and failure
        print(f"error: extracting {media} failed: {type(error).__name__}: {error}; nothing was written")
        return 1
    out = args.out or media.with_name(media.name + ".features.npz")
    save_extracted(extracted, out)
    if args.plot is not None:
        plot_extracted(extracted, args.plot, title=media.name)
    print(summary(media, extracted, out))
    for warning in extracted.warnings:
        print(f"warning: {warning}")
    return 0
