"""The real app under a real X server (Xvfb): it replays a short generated clip with the real engine,
grabs the screen with QScreen.grabWindow, and the picture is not blank where the video and the
bars are. The test starts its own Xvfb on a free display and stops it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def x_display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()  # Xvfb writes the display it chose once it is ready
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def region(image: np.ndarray, box: list[int]) -> np.ndarray:
    x, y, width, height = box
    return image[y : y + height, x : x + width]


@pytest.mark.slow
def test_real_app_replays_a_clip_and_its_screenshot_is_not_blank(x_display, dashboard_clip, dashboard_checkpoint,
                                                                    tmp_path):
    import cv2

    shot = tmp_path / "screen.png"
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    result = subprocess.run(
        [sys.executable, "-m", "app.dashboard", "--media", str(dashboard_clip),
         "--checkpoint", str(dashboard_checkpoint), "--screenshot", str(shot), "--after", "9"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(shot.with_suffix(".json").read_text())
    assert facts["events"] > 0 and facts["frames_shown"] > 0, facts
    assert not [m for m in facts["messages"] if m[0] == "error"], facts["messages"]
    image = cv2.imread(str(shot))
    assert image.shape[:2] == (720, 1280)
    video, bars = region(image, facts["video"]), region(image, facts["bars"])
    assert video.std() > 20, "the video region is blank"
    assert bars.std() > 20, "the bars region is blank"
    # The clip's face is the astronaut's (orange suit): many warm pixels where the video is.
    blue, green, red = (video[..., i].astype(int) for i in range(3))
    assert ((red - blue) > 60).mean() > 0.05
    # Distinct colours of the six bars are on screen.
    assert len(np.unique(bars.reshape(-1, 3) // 32, axis=0)) >= 6
