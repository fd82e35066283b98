"""A real RTSP server on loopback for the tests: GStreamer's gst-rtsp-server (Debian's
gir1.2-gst-rtsp-server-1.0, run by Debian's own python3 with python3-gi), serving one H.264 MP4
file at ``rtsp://127.0.0.1:PORT/stream``, played from its start to each client that connects.

Usage: /usr/bin/python3 rtsp_server.py VIDEO.mp4 PORT  (prints "ready" once it listens)."""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer

Gst.init(None)
video, port = sys.argv[1], sys.argv[2]
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f'( filesrc location="{video}" ! qtdemux ! h264parse config-interval=-1'
    " ! rtph264pay name=pay0 pt=96 )"
)
factory.set_shared(False)
server.get_mount_points().add_factory("/stream", factory)
if server.attach(None) == 0:
    sys.exit(f"could not listen on 127.0.0.1:{port}")
print("ready", flush=True)
GLib.MainLoop().run()
