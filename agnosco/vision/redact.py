"""Face redaction of a video: every face of every frame pixelated, before footage is released.

Each frame is decoded (every frame, not a sample), its faces detected with the face detector,
and each face's box — grown by :data:`MARGIN` of its size on every side, to take in hair, ears
and chin — is pixelated into blocks of :data:`BLOCKS` across (coarse enough that no face can be
recovered, unlike a blur).  So that a frame where the detector misses a face does not show it,
every box found in the :data:`HOLD_FRAMES` frames before is covered too (a face moving slowly
stays under its recent boxes).  The output is MPEG-4 Part 2 video made by FFmpeg's own encoder
(the bundled H.264 encoder is GPL; see docs/models.md), at the source's frame rate; the source's
audio is not copied (a voice identifies too).

:func:`count_leaks` measures the result: it runs the same detector on every frame of the output,
and every frame where it still finds a face is a leak.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from agnosco.errors import InvalidParameterException
from agnosco.vision.detectors.base import FaceDetector
from agnosco.vision.geometry import PixelBox
from agnosco.vision.video import probe_video

#: Each face box grows by this share of its width and height on every side.
MARGIN = 0.35
#: Pixelation blocks across a face's (grown) box.
BLOCKS = 8
#: Frames a detected box keeps being covered after it was last seen.
HOLD_FRAMES = 6
#: Output bits a second per pixel of a frame (about 4 Mb/s at 640x360, 30 fps).
_BITS_PER_PIXEL_SECOND = 18


@dataclass(frozen=True)
class Redaction:
    frames: int
    #: Frames in which the detector found at least one face.
    frames_with_faces: int
    #: Boxes pixelated in all, those held over from earlier frames included.
    regions: int


def _grown(box: PixelBox, width: int, height: int) -> tuple[int, int, int, int]:
    dx, dy = box.width * MARGIN, box.height * MARGIN
    x0 = max(0, int(box.x0 - dx))
    y0 = max(0, int(box.y0 - dy))
    x1 = min(width, int(np.ceil(box.x1 + dx)))
    y1 = min(height, int(np.ceil(box.y1 + dy)))
    return x0, y0, x1, y1


def pixelate(pixels: np.ndarray, region: tuple[int, int, int, int]) -> None:
    """Replace ``region`` (x0, y0, x1, y1) of ``pixels`` by :data:`BLOCKS`-across blocks of its
    mean colours, in place."""
    x0, y0, x1, y1 = region
    if x1 <= x0 or y1 <= y0:
        return
    patch = pixels[y0:y1, x0:x1]
    block = max(1, (x1 - x0) // BLOCKS, (y1 - y0) // BLOCKS)
    for by in range(0, patch.shape[0], block):
        for bx in range(0, patch.shape[1], block):
            cell = patch[by : by + block, bx : bx + block]
            cell[...] = cell.reshape(-1, 3).mean(axis=0).astype(np.uint8)


def _frames(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        except av.FFmpegError as exc:
            raise InvalidParameterException(f"The video is corrupt: {exc}") from exc


def redact_video(source: Path, target: Path, detector: FaceDetector) -> Redaction:
    """Write ``source`` with every face pixelated to ``target`` (MP4).

    :raises InvalidParameterException, VideoTooLargeException: as
        :func:`~agnosco.vision.video.probe_video`."""
    metadata = probe_video(source)
    width, height = (
        metadata.frame_width - metadata.frame_width % 2,
        metadata.frame_height - (metadata.frame_height % 2),
    )
    rate = Fraction(metadata.frame_rate).limit_denominator(1001) if metadata.frame_rate else 25
    recent: deque[list[tuple[int, int, int, int]]] = deque(maxlen=HOLD_FRAMES + 1)
    frames = with_faces = regions = 0
    with av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = int(width * height * float(rate) * _BITS_PER_PIXEL_SECOND / 10)
        for pixels in _frames(source):
            pixels = pixels[:height, :width].copy()
            found = [_grown(d.box, width, height) for d in detector.detect(pixels)]
            recent.append(found)
            covered = {region for boxes in recent for region in boxes}
            for region in covered:
                pixelate(pixels, region)
            frames += 1
            with_faces += bool(found)
            regions += len(covered)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return Redaction(frames, with_faces, regions)


def count_leaks(path: Path, detector: FaceDetector) -> tuple[int, int]:
    """(frames, frames in which ``detector`` finds a face) of a video: on a redacted video,
    the second number is its leaks."""
    frames = leaks = 0
    for pixels in _frames(path):
        frames += 1
        leaks += bool(detector.detect(pixels))
    return frames, leaks
