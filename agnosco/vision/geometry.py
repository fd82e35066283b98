"""Plain geometry for the face pipeline: boxes, points and non-maximum suppression.

Pixel boxes are ``(x0, y0, x1, y1)`` in the coordinates of the array they were found in.
Everything the pipeline hands out is in *ratios* of the upright image's width and height,
as Rekognition reports geometry; :meth:`PixelBox.to_ratio` is the one conversion.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Box:
    """A box in ratios of image width/height; may extend past 0..1 for faces cut by the frame."""

    left: float
    top: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class Point:
    """A point in ratios of image width (x) and height (y)."""

    x: float
    y: float


@dataclass(frozen=True, slots=True)
class PixelBox:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def scaled(self, factor: float) -> PixelBox:
        return PixelBox(self.x0 * factor, self.y0 * factor, self.x1 * factor, self.y1 * factor)

    def to_ratio(self, width: int, height: int) -> Box:
        return Box(self.x0 / width, self.y0 / height, self.width / width, self.height / height)

    def iou(self, other: PixelBox) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


def non_max_suppression(
    boxes: list[PixelBox], scores: list[float], iou_threshold: float
) -> list[int]:
    """Indices of the boxes kept, best score first; a box overlapping a kept one is dropped."""
    order = sorted(range(len(boxes)), key=lambda i: scores[i], reverse=True)
    kept: list[int] = []
    for i in order:
        if all(boxes[i].iou(boxes[k]) <= iou_threshold for k in kept):
            kept.append(i)
    return kept
