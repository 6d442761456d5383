"""Real models and real media for the extractor tests, built once per session."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import soundfile
import soxr

from feature_extractors.acoustic import SAMPLE_RATE

SPOKEN_TEXT = "Hello. I am very happy to see you today. This is a good morning."


def espeak(text: str, path: Path) -> np.ndarray:
    """Speech made by espeak-ng, as 16 kHz mono float32."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed; run scripts/setup.sh (it installs the Debian package)")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    samples, rate = soundfile.read(path, dtype="float32")
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)


@pytest.fixture(scope="session")
def spoken_words() -> list[str]:
    """The words of SPOKEN_TEXT, lower case, without punctuation."""
    return re.findall(r"[a-z']+", SPOKEN_TEXT.lower())


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return espeak(SPOKEN_TEXT, tmp_path_factory.mktemp("espeak") / "speech.wav")


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def still_face_extractor():
    from feature_extractors.visual import FaceExtractor

    with FaceExtractor(static_image=True) as extractor:
        yield extractor


@pytest.fixture(scope="session")
def recognizer():
    from feature_extractors.speech import SpeechRecognizer

    return SpeechRecognizer()


@pytest.fixture(scope="session")
def acoustic_extractor():
    from feature_extractors.acoustic import AcousticExtractor

    return AcousticExtractor()


@pytest.fixture(scope="session")
def text_encoder():
    from feature_extractors.text import TextEncoder

    return TextEncoder()
