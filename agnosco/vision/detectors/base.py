"""The face detector interface: pixels in, scored pixel boxes out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from agnosco.vision.geometry import PixelBox


@dataclass(frozen=True, slots=True)
class Detection:
    """A face found by a detector, in the pixel coordinates of the array it was given.

    ``box`` is normalised to the geometry dlib's landmark models were trained on (a square-ish
    box from the brows to the chin), whatever the detector's own box convention; ``score`` is
    the detector's confidence mapped to 0..1.  ``points``, when the detector gives them, are
    five facial points (5 x 2, pixel x/y) in this order, sides as the viewer sees them: the
    image-left eye's centre, the image-right eye's centre, the nose tip, the image-left and
    the image-right mouth corner.
    """

    box: PixelBox
    score: float
    points: np.ndarray | None = None


class FaceDetector(Protocol):
    """Finds faces in an RGB ``uint8`` array of shape H x W x 3."""

    name: str

    def detect(self, pixels: np.ndarray) -> list[Detection]: ...


def downscale(pixels: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A copy at most ``max_side`` on its long side, and the factor applied (<= 1)."""
    height, width = pixels.shape[:2]
    factor = min(1.0, max_side / max(height, width))
    if factor == 1.0:
        return pixels, 1.0
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), factor
