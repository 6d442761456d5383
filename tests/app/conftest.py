"""Shared, expensive things for the engine tests: a checkpoint, the extractor models, test clips, and a
real PulseAudio server whose null sink's monitor is the default microphone."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from trainer.spoken_media import write_clip

SPOKEN = "I am so happy to see you today"


@pytest.fixture
def at_once():
    """Call `action` from `count` threads at the same time; returns what they raised and the threads
    still alive after `timeout` s (concurrent stop/close must neither raise nor hang)."""

    def run(action, count: int, timeout: float = 30.0) -> tuple[list[BaseException], list[threading.Thread]]:
        errors: list[BaseException] = []

        def call() -> None:
            try:
                action()
            except Exception as error:  # noqa: BLE001 - what the tests look for
                errors.append(error)

        threads = [threading.Thread(target=call) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        return errors, [t for t in threads if t.is_alive()]

    return run


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trainer.untrained import build_untrained_checkpoint

    return build_untrained_checkpoint(tmp_path_factory.mktemp("checkpoint") / "small.safetensors")


@pytest.fixture(scope="session")
def predictor(checkpoint: Path):
    from app.predictor import Predictor

    return Predictor(checkpoint)


@pytest.fixture(scope="session")
def extractors():
    from app.workers import Extractors

    return Extractors.load()


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s, 640x480 at 30 fps: the astronaut's face, and a sentence spoken from 1 s on."""
    path = tmp_path_factory.mktemp("clips") / "face_and_speech.mkv"
    write_clip(path, duration_s=6.0, speech=[(1.0, SPOKEN)])
    return path


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s, the same sentence from 1 s on: on a loaded 2-core machine its words can arrive after 6 s of
    replay, so a test that acts on them needs media left to play."""
    path = tmp_path_factory.mktemp("clips") / "face_and_speech_12s.mkv"
    write_clip(path, duration_s=12.0, speech=[(1.0, SPOKEN)])
    return path


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s with a face and a short word, for looping camera/microphone stand-ins."""
    path = tmp_path_factory.mktemp("clips") / "short.mkv"
    write_clip(path, duration_s=2.0, speech=[(0.3, "hello")])
    return path


class PulseServer:
    def __init__(self, runtime_dir: Path) -> None:
        self.runtime_dir = runtime_dir
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(runtime_dir),
            "PULSE_SERVER": f"unix:{runtime_dir}/pulse/native",
        }

    def play(self, wav: Path) -> threading.Thread:
        """Play into the null sink (what the default microphone hears), without waiting."""
        thread = threading.Thread(
            target=subprocess.run, args=(["paplay", str(wav)],), kwargs={"env": self.env}
        )
        thread.start()
        return thread


@pytest.fixture
def pulse_server(monkeypatch: pytest.MonkeyPatch):
    """A private PulseAudio daemon with a null sink `vsink`; its monitor is the default source."""
    for tool in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)")
    runtime_dir = Path(tempfile.mkdtemp(prefix="carat-pulse-"))
    server = PulseServer(runtime_dir)
    started = subprocess.run(
        [
            "pulseaudio",
            "-D",
            "-n",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--load=module-null-sink sink_name=vsink",
            "--load=module-native-protocol-unix",
        ],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    try:
        for _ in range(50):
            if subprocess.run(["pactl", "info"], env=server.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"PulseAudio did not start: {started.stderr}")
        subprocess.run(["pactl", "set-default-source", "vsink.monitor"], env=server.env, check=True)
        monkeypatch.setenv("XDG_RUNTIME_DIR", server.env["XDG_RUNTIME_DIR"])
        monkeypatch.setenv("PULSE_SERVER", server.env["PULSE_SERVER"])
        from app.microphone import reinitialise_portaudio

        reinitialise_portaudio()  # PortAudio may have been loaded before this server existed
        yield server
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=server.env, capture_output=True)
        time.sleep(0.2)
        shutil.rmtree(runtime_dir, ignore_errors=True)
        try:
            from app.microphone import reinitialise_portaudio

            reinitialise_portaudio()
        except Exception:  # noqa: BLE001 - best effort: forget the server's devices
            pass


def _wait_for(condition, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


@pytest.fixture
def wait_for():
    """wait_for(condition, timeout) -> whether the condition became true in time."""
    return _wait_for
