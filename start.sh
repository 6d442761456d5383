#!/usr/bin/env bash
# Set up (first time) and launch CARAT Live. Extra arguments go to main.py.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python main.py "$@"
