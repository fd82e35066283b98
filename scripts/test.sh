#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run runs).
#
# Installs the package with its test dependencies, and Debian's headless Chromium for the test
# that renders the evaluation report in a browser (when apt-get is available and Chromium is
# not installed yet; elsewhere that one test skips and says why). Then lints and checks the formatting (ruff), type-checks
# (mypy) and runs
# the whole suite on every core (pytest-xdist; a file's tests stay on one worker, since some
# share a server for the whole file).  Arguments go to pytest: `-m "not slow"` is the fast run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
        || echo "note: could not install chromium; the browser rendering test will skip" >&2
fi
pip install -q -e '.[test]'
# DetectText's models (pyproject.toml lists what it needs): without its opencv-python-headless.
pip install -q --no-deps rapidocr==3.10.0
python -m ruff check   # zero findings with the project's configuration (pyproject.toml)
python -m ruff format --check   # every file as ruff formats it
python -m mypy         # --strict on the package (pyproject.toml), zero findings
exec python -m pytest -n auto --dist loadfile "$@"
