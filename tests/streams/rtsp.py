"""Start the loopback RTSP server of ``rtsp_server.py`` (GStreamer's gst-rtsp-server under
Debian's python3), or skip saying what is missing."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("rtsp_server.py")
_CHECK = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
    " from gi.repository import Gst, GstRtspServer; Gst.init(None);"
    " assert Gst.ElementFactory.find('h264parse') and Gst.ElementFactory.find('rtph264pay')"
)


def require_gstreamer() -> None:
    try:
        subprocess.run([SYSTEM_PYTHON, "-c", _CHECK], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        pytest.skip(
            "no RTSP server: GStreamer's RTSP server for Debian's python3 is not installed"
            " (python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good"
            " gstreamer1.0-plugins-bad; scripts/test.sh installs them as root)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspServer:
    """``video`` served at :attr:`url`, from its start to each client; :meth:`stop` and
    :meth:`start` again on the same port (a camera dropping off and coming back)."""

    def __init__(self, video: Path, port: int | None = None) -> None:
        require_gstreamer()
        self.video = video
        self.port = port or free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/stream"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), str(self.video), str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        line = self.process.stdout.readline()
        if line.strip() != "ready" or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"the RTSP server did not start: {line}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
