"""Live video input: the frames of a stream as they arrive, for stream processors.

Where :mod:`.video` reads a stored file from start to end, a live source is read as it plays:
an ``rtsp://`` camera or server (over TCP), an ``http(s)://`` stream FFmpeg reads (MJPEG, HLS,
MPEG-TS...), a camera device (``/dev/videoN``, Video4Linux2) or a video file, played at its own
pace (a frame is delivered when its presentation time comes, as a camera would deliver it).
Decoding is PyAV's, as for stored video; any codec FFmpeg's bundled decoders read is accepted
(a live source is the deployer's own camera, not an uploaded file).

**Bounded memory.**  A reader thread decodes continuously — a network source must be read as
fast as it sends, or its server buffers or drops the connection — and keeps only the newest
sampled frame (:class:`LatestFrame`, one slot): when analysis is slower than the stream, older
frames are dropped (and counted), never queued, so neither a slow analysis nor a source that
delivers slower or faster than real time grows memory.

**Sampling.**  Frames are sampled at ``fps`` (:data:`~agnosco.vision.video.SAMPLE_FPS`, 5 a
second, as stored video) by presentation time, and scaled so their long side is at most
:data:`~agnosco.vision.image.WORKING_MAX_SIDE`.

A source that cannot be opened or breaks raises :class:`SourceError`; one that ends (a file's
end, a server closing the stream) :class:`SourceEnded`.  Reconnecting is the caller's decision.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from agnosco.vision.image import WORKING_MAX_SIDE, DecodedImage
from agnosco.vision.video import SAMPLE_FPS

#: Seconds to wait for a network source to answer (open, and between packets).
NETWORK_TIMEOUT_SECONDS = 10.0


class SourceError(Exception):
    """The source cannot be opened or read (its message says why, without a traceback)."""


class SourceEnded(Exception):
    """The source ended: a file reached its end, or a server closed the stream."""


@dataclass(frozen=True)
class LiveFrame:
    """A sampled frame of a live source."""

    #: The frame's place in this reading of the source: presentation time from its first frame.
    offset_ms: int
    #: Wall-clock time (epoch seconds) the frame was produced, as far as the source tells:
    #: the first frame's arrival plus the frame's presentation offset.
    producer_time: float
    #: Wall-clock time the frame was decoded here.
    received_time: float
    #: Sampled frames delivered before this one, in this reading.
    sequence: int
    pixels: np.ndarray  # H x W x 3 RGB, uint8
    width: int
    height: int

    def image(self) -> DecodedImage:
        return DecodedImage(self.pixels, self.width, self.height, "VIDEO")


def is_file(url: str) -> bool:
    return url.startswith("file://") or (url.startswith("/") and not url.startswith("/dev/"))


def _open(url: str) -> Any:
    options: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    target = url.removeprefix("file://")
    timeout_us = str(int(NETWORK_TIMEOUT_SECONDS * 1_000_000))
    if url.startswith(("rtsp://", "rtsps://")):
        options = {"rtsp_transport": "tcp", "timeout": timeout_us}
    elif url.startswith(("http://", "https://")):
        options = {"rw_timeout": timeout_us, "reconnect": "0"}
    elif url.startswith("/dev/"):
        kwargs["format"] = "v4l2"
    try:
        container = av.open(
            target, mode="r", options=options, timeout=NETWORK_TIMEOUT_SECONDS, **kwargs
        )
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise SourceError(f"The video source {url} could not be opened: {_reason(exc)}") from exc
    if not container.streams.video:
        container.close()
        raise SourceError(f"The video source {url} carries no video stream.")
    return container


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).rstrip(".")


class LatestFrame:
    """A one-frame slot between the reader and the analysis: a new frame replaces the one not
    yet taken (which is counted as dropped)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: LiveFrame | None = None
        self._end: BaseException | None = None
        self.dropped = 0

    def put(self, frame: LiveFrame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def close(self, reason: BaseException) -> None:
        with self._cond:
            self._end = reason
            self._cond.notify_all()

    def take(self, timeout: float) -> LiveFrame | None:
        """The newest frame (None if none came within ``timeout`` s).

        :raises SourceEnded, SourceError: the reader stopped, and every frame was taken."""
        with self._cond:
            if self._frame is None and self._end is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            if frame is None and self._end is not None:
                raise self._end
            return frame

    @property
    def held(self) -> int:
        """Frames waiting in the slot (0 or 1)."""
        with self._cond:
            return int(self._frame is not None)


class LiveSource:
    """One reading of ``url``: :meth:`start` the reader, :meth:`take` frames, :meth:`close`."""

    def __init__(
        self,
        url: str,
        *,
        fps: float = SAMPLE_FPS,
        clock: Callable[[], float] = time.time,
        paced: bool | None = None,
    ) -> None:
        self.url = url
        self.fps = fps
        self._clock = clock
        #: A file is played at its own pace, as a camera would deliver it.
        self.paced = is_file(url) if paced is None else paced
        self.slot = LatestFrame()
        self._stop = threading.Event()
        self._container: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the source (in the caller's thread, so an error is the caller's at once) and
        start reading.

        :raises SourceError: it cannot be opened."""
        self._container = _open(self.url)
        self._thread = threading.Thread(
            target=self._read, name="agnosco-stream-reader", daemon=True
        )
        self._thread.start()

    def take(self, timeout: float = 1.0) -> LiveFrame | None:
        return self.slot.take(timeout)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(NETWORK_TIMEOUT_SECONDS + 1)
        if self._container is not None:
            with contextlib.suppress(av.FFmpegError, OSError):  # a broken source is closed anyway
                self._container.close()

    def _read(self) -> None:
        try:
            self._decode()
        except Exception as exc:  # noqa: BLE001 - whatever breaks the reading ends it, as the source's error
            self.slot.close(
                exc
                if isinstance(exc, SourceError | SourceEnded)
                else SourceError(f"The video source {self.url} broke off: {_reason(exc)}")
            )
            return
        self.slot.close(SourceEnded(f"The video source {self.url} ended."))

    def _decode(self) -> None:
        container = self._container
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = 1000.0 / self.fps
        next_ms = 0.0
        first_pts: float | None = None
        started = 0.0
        sequence = 0
        try:
            frames = container.decode(stream)
            for frame in frames:
                if self._stop.is_set():
                    return
                if frame.pts is None or stream.time_base is None:
                    continue
                seconds = float(frame.pts * stream.time_base)
                if first_pts is None:
                    first_pts, started = seconds, self._clock()
                offset_ms = math.floor((seconds - first_pts) * 1000)
                if offset_ms < next_ms:
                    continue
                next_ms = (math.floor(offset_ms / step) + 1) * step
                if self.paced:
                    wait = started + offset_ms / 1000 - self._clock()
                    if wait > 0 and self._stop.wait(wait):
                        return
                width, height = int(frame.width), int(frame.height)
                scale = min(1.0, WORKING_MAX_SIDE / max(width, height))
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                rgb = frame.reformat(width=size[0], height=size[1], format="rgb24")
                pixels = np.ascontiguousarray(rgb.to_ndarray())
                self.slot.put(
                    LiveFrame(
                        offset_ms=offset_ms,
                        producer_time=started + offset_ms / 1000,
                        received_time=self._clock(),
                        sequence=sequence,
                        pixels=pixels,
                        width=width,
                        height=height,
                    )
                )
                sequence += 1
        except av.FFmpegError as exc:
            if self._stop.is_set():
                return
            raise SourceError(f"The video source {self.url} broke off: {_reason(exc)}") from exc
