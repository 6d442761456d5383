#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
status=0
# pyproject.toml's addopts give -ra: the summary lists every skipped test with its reason (a test whose data
# folder is missing names the folder and CARAT_DATA / CARAT_REFERENCE; under CI=true such a test fails instead).
.venv/bin/python -m pytest "$@" || status=$?
# pytest exits 5 when it collected no test: that is a failure here, never a pass.
if [ "$status" = 5 ]; then echo "test.sh: no tests were collected" >&2; fi
exit "$status"
