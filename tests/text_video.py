"""Videos with known text, drawn onto their frames with OpenCV's ``putText`` (its built-in
Hershey fonts, the same everywhere) and encoded with PyAV: the tests of the TextDetection job
know what each second of the video says and where."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class Caption:
    """``lines`` shown from ``start_s`` to ``end_s`` (seconds), the first line's baseline at
    ``top`` (pixels), each next one ``spacing`` pixels lower."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]
    top: int = 110
    spacing: int = 150


def text_video(
    path: Path,
    captions: list[Caption],
    seconds: float,
    *,
    size: tuple[int, int] = (640, 360),
    fps: int = 10,
) -> Path:
    """An H.264 MP4 of ``seconds`` at ``fps``, light grey, each caption drawn dark on the
    frames of its span."""
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for n in range(round(seconds * fps)):
            at = n / fps
            pixels = np.full((height, width, 3), 235, np.uint8)
            for caption in captions:
                if caption.start_s <= at < caption.end_s:
                    for k, line in enumerate(caption.lines):
                        origin = (40, caption.top + k * caption.spacing)
                        cv2.putText(
                            pixels,
                            line,
                            origin,
                            cv2.FONT_HERSHEY_DUPLEX,
                            1.6,
                            (20, 20, 20),
                            3,
                            cv2.LINE_AA,
                        )
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
