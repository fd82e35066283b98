"""Stored-video input exactly as Rekognition takes it, beside image input (:mod:`.image`).

:func:`probe_video` reads a video's ``VideoMetadata``; :func:`sample_frames` decodes it frame
by frame and yields the frames the analysis looks at.  Decoding is PyAV's (FFmpeg's native
decoders, bundled in its wheel); nothing else in Agnosco opens a video.

What is accepted is what Rekognition accepts for stored video: an MP4 or MOV container with
H.264 or H.265 video, at most :data:`MAX_DURATION_MS` long (the 10 GB size limit is the S3
object's, checked where the object is read).  Anything else — another container or codec, no
video stream, bytes FFmpeg cannot parse — is ``InvalidParameterException`` with a message
saying what was found, and a video longer than the limit ``VideoTooLargeException``.  A video
that breaks off (a truncated upload) yields the frames before the break; if FFmpeg reports
corrupt data mid-stream, the error says where (in seconds), after the frames before it.

Sampling.  Rekognition does not document the rate at which it samples stored video; Agnosco
analyses :data:`SAMPLE_FPS` frames a second (every frame of a slower video): the first frame
at or after each multiple of ``1000 / SAMPLE_FPS`` ms.  Faces rarely enter and leave a scene in
less than 200 ms, and five frames a second keep a 30 fps 640x360 stream within the real-time
budget of a 2-core machine.  Timestamps are the frames' presentation times (PTS), in
milliseconds from the stream's start, never ``index / fps`` (variable-rate video stays right).

Memory stays bounded: frames are decoded one at a time (FFmpeg's frame threads hold a few), and
only sampled frames are converted to RGB, scaled so their long side is at most
:data:`~agnosco.vision.image.WORKING_MAX_SIDE` (geometry is in ratios, as for images).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from agnosco.errors import InvalidParameterException, VideoTooLargeException
from agnosco.vision.image import WORKING_MAX_SIDE, DecodedImage

#: Rekognition's limit on a stored video's length: 6 hours.
MAX_DURATION_MS = 6 * 3600 * 1000
#: Frames analysed per second of video.
SAMPLE_FPS = 5.0
#: FFmpeg's demuxer for the ISO base media formats (MP4 and QuickTime MOV).
_ISO_FORMATS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2"}
#: Accepted video codecs (FFmpeg's names) and how VideoMetadata names them.
CODECS = {"h264": "h264", "hevc": "h265"}


@dataclass(frozen=True)
class VideoMetadata:
    """A stored video as Rekognition's ``VideoMetadata`` describes it."""

    codec: str
    duration_ms: int
    format: str
    frame_rate: float
    frame_width: int
    frame_height: int
    color_range: str  # "FULL" or "LIMITED"
    #: The exact average frame rate (``frame_rate`` is its float), for frame-accurate timecodes.
    rate: Fraction = field(default=Fraction(0), compare=False)

    def to_shape(self) -> dict[str, Any]:
        """The model's ``VideoMetadata`` structure."""
        return {
            "Codec": self.codec,
            "DurationMillis": self.duration_ms,
            "Format": self.format,
            "FrameRate": self.frame_rate,
            "FrameHeight": self.frame_height,
            "FrameWidth": self.frame_width,
            "ColorRange": self.color_range,
        }


@dataclass(frozen=True)
class VideoFrame:
    """A sampled frame: when it is shown, its place in the stream, and its RGB pixels (at most
    WORKING_MAX_SIDE on the long side) of a ``width`` x ``height`` video."""

    timestamp_ms: int
    index: int
    pixels: np.ndarray  # H x W x 3, uint8, C-contiguous
    width: int
    height: int

    def image(self) -> DecodedImage:
        """The frame as the face pipeline takes an image."""
        return DecodedImage(self.pixels, self.width, self.height, "VIDEO")


def _open(path: Path) -> Any:
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameterException(
            "The video could not be read as MP4 or MOV: it is not a video file, or it is corrupt."
        ) from exc
    names = set(container.format.name.split(","))
    if not names & _ISO_FORMATS:
        container.close()
        raise InvalidParameterException(
            f"The video's container is {container.format.long_name}; Rekognition takes MP4 and MOV."
        )
    if not container.streams.video:
        container.close()
        raise InvalidParameterException("The file holds no video stream.")
    context = container.streams.video[0].codec_context  # None: a codec FFmpeg does not know
    codec = context.name if context is not None else "an unknown codec"
    if codec not in CODECS:
        container.close()
        raise InvalidParameterException(
            f"The video is encoded with {codec}; Rekognition takes H.264 and H.265."
        )
    return container


def _metadata(container: Any) -> VideoMetadata:
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base is not None:
        duration_ms = int(stream.duration * stream.time_base * 1000)
    elif container.duration is not None:
        duration_ms = int(container.duration / 1000)  # AV_TIME_BASE is microseconds
    else:
        duration_ms = 0
    rate = stream.average_rate or stream.base_rate or Fraction(0)
    context = stream.codec_context
    return VideoMetadata(
        codec=CODECS[context.name],
        duration_ms=duration_ms,
        format=container.format.long_name,
        frame_rate=float(rate),
        frame_width=int(context.width),
        frame_height=int(context.height),
        # AVCOL_RANGE_JPEG (2) is full range; MPEG (1) and unspecified (0) are limited, as
        # H.264 and H.265 video is unless it says otherwise.
        color_range="FULL" if int(context.color_range or 0) == 2 else "LIMITED",
        rate=Fraction(rate),
    )


def probe_video(path: Path) -> VideoMetadata:
    """The video's metadata, read from its container without decoding it.

    :raises InvalidParameterException: not an MP4/MOV with H.264/H.265 video.
    :raises VideoTooLargeException: longer than 6 hours."""
    container = _open(path)
    try:
        metadata = _metadata(container)
    finally:
        container.close()
    if metadata.duration_ms > MAX_DURATION_MS:
        raise VideoTooLargeException(
            f"The video lasts {metadata.duration_ms / 3_600_000:.1f} hours; Rekognition's limit "
            "for a stored video is 6 hours."
        )
    if metadata.frame_width <= 0 or metadata.frame_height <= 0:
        raise InvalidParameterException("The video's frames have no size: it is corrupt.")
    return metadata


@dataclass(frozen=True)
class AudioMetadata:
    """An audio stream of a stored video as Rekognition's ``AudioMetadata`` describes it."""

    codec: str
    duration_ms: int
    sample_rate: int
    channels: int

    def to_shape(self) -> dict[str, Any]:
        """The model's ``AudioMetadata`` structure."""
        return {
            "Codec": self.codec,
            "DurationMillis": self.duration_ms,
            "SampleRate": self.sample_rate,
            "NumberOfChannels": self.channels,
        }


def probe_audio(path: Path) -> list[AudioMetadata]:
    """The video's audio streams (none: an empty list), read from its container.

    :raises InvalidParameterException, VideoTooLargeException: as :func:`probe_video`."""
    probe_video(path)
    container = _open(path)
    try:
        found = []
        for stream in container.streams.audio:
            context = stream.codec_context
            if stream.duration is not None and stream.time_base is not None:
                duration_ms = int(stream.duration * stream.time_base * 1000)
            elif container.duration is not None:
                duration_ms = int(container.duration / 1000)
            else:
                duration_ms = 0
            found.append(
                AudioMetadata(
                    codec=context.name if context is not None else "unknown",
                    duration_ms=max(0, duration_ms),
                    sample_rate=int(stream.rate or 0),
                    channels=int(context.channels) if context is not None else 0,
                )
            )
        return found
    finally:
        container.close()


@dataclass(frozen=True)
class DecodedFrame:
    """A frame as FFmpeg decoded it (full size, its own pixel format), with its place in the
    stream and when it is shown (None: the frame has no presentation time)."""

    index: int
    timestamp_ms: int | None
    frame: Any  # av.VideoFrame
    #: How long the frame is shown, in milliseconds (None: the stream does not say).
    duration_ms: float | None


def decode_frames(path: Path) -> Iterator[DecodedFrame]:
    """Every frame of the video, in presentation order (``index`` counts them from 0).

    :raises InvalidParameterException, VideoTooLargeException: as :func:`probe_video`, or the
        stream turns out corrupt while decoding (after the frames before the damage)."""
    probe_video(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads: both cores on one stream
        time_base = stream.time_base
        index = -1
        last_ms = 0
        try:
            for frame in container.decode(stream):
                index += 1
                at = None
                duration = None
                if frame.pts is not None and time_base is not None:
                    at = math.floor(frame.pts * time_base * 1000)
                    last_ms = max(last_ms, at)
                    if frame.duration:
                        duration = float(frame.duration * time_base * 1000)
                yield DecodedFrame(index, at, frame, duration)
        except av.FFmpegError as exc:
            raise InvalidParameterException(
                f"The video is corrupt after {last_ms / 1000:.1f} s: {exc.strerror or exc}"
            ) from exc
    finally:
        container.close()


def sample_frames(
    path: Path, fps: float = SAMPLE_FPS, *, start_ms: float = 0.0, end_ms: float | None = None
) -> Iterator[VideoFrame]:
    """The video's frames at ``fps`` a second (see the module docstring), in time order.

    With ``start_ms`` / ``end_ms`` (a multiple of ``1000 / fps``: a sampling boundary), only the
    sampled frames shown in ``[start_ms, end_ms)``: the very frames, with the same timestamps,
    that sampling the whole video gives in that span (the sampled frame is the first of each
    ``1000 / fps`` span, so it does not depend on earlier ones).  Decoding starts at the key
    frame before ``start_ms`` (from the start, should the seek land after it), which is how a
    long video is analysed in pieces (:mod:`agnosco.operations.video_analysis`).  ``index`` is
    then the frame's place after that key frame.

    :raises InvalidParameterException, VideoTooLargeException: as :func:`probe_video`, or the
        stream turns out corrupt while decoding (after the frames before the damage)."""
    metadata = probe_video(path)
    step = 1000.0 / fps
    if start_ms > 0:
        frames = _sample(path, metadata, step, start_ms, end_ms, seek=True)
        try:
            first = next(frames)
        except StopIteration:  # no frame in the span
            return
        except _SeekedPast:
            frames = _sample(path, metadata, step, start_ms, end_ms, seek=False)
        else:
            yield first
        yield from frames
    else:
        yield from _sample(path, metadata, step, 0.0, end_ms, seek=False)


class _SeekedPast(Exception):
    """The seek landed after the span's start: frames of the span could have been skipped."""


def _sample(
    path: Path,
    metadata: VideoMetadata,
    step: float,
    start_ms: float,
    end_ms: float | None,
    *,
    seek: bool,
) -> Iterator[VideoFrame]:
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads: both cores on one stream
        width, height = metadata.frame_width, metadata.frame_height
        scale = min(1.0, WORKING_MAX_SIDE / max(width, height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        next_ms = start_ms
        last_ms = -1
        time_base = stream.time_base
        index = -1
        first = True
        if seek and time_base is not None:
            # backward: the key frame at or before the point, whose frames decode from it
            target = int(Fraction(start_ms) / 1000 / time_base)
            container.seek(target, stream=stream, backward=True)
        try:
            for frame in container.decode(stream):
                index += 1
                if frame.pts is None or time_base is None:
                    continue
                at = math.floor(frame.pts * time_base * 1000)
                if seek and first and at > start_ms:
                    raise _SeekedPast
                first = False
                if end_ms is not None and at >= end_ms:
                    break
                if at < next_ms or at <= last_ms:
                    continue
                next_ms = (math.floor(at / step) + 1) * step
                last_ms = at
                if size != (frame.width, frame.height):
                    frame = frame.reformat(width=size[0], height=size[1], format="rgb24")
                pixels = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                yield VideoFrame(at, index, pixels, width, height)
        except av.FFmpegError as exc:
            raise InvalidParameterException(
                f"The video is corrupt after {max(last_ms, start_ms, 0) / 1000:.1f} s: {exc.strerror or exc}"
            ) from exc
    finally:
        container.close()
