"""Plain geometry for the face and text pipelines: boxes, points, polygons (areas, clipping)
and non-maximum suppression.

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


def polygon_area(points: list[tuple[float, float]]) -> float:
    """The area of a simple polygon (the shoelace formula; either winding)."""
    n = len(points)
    twice = sum(
        points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]
        for i in range(n)
    )
    return abs(twice) / 2


def clip_to_convex(
    subject: list[tuple[float, float]], convex: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The part of polygon ``subject`` (convex or not) inside the convex polygon ``convex``
    (Sutherland-Hodgman: the area of the result is exact; a concave subject may leave
    zero-width edges along the boundary, which add no area)."""
    n = len(convex)
    winding = sum(
        convex[i][0] * convex[(i + 1) % n][1] - convex[(i + 1) % n][0] * convex[i][1]
        for i in range(n)
    )
    sign = 1.0 if winding >= 0 else -1.0
    out = list(subject)
    for i in range(n):
        if not out:
            break
        a, b = convex[i], convex[(i + 1) % n]
        points, out = out, []
        for j, current in enumerate(points):
            previous = points[j - 1]
            s_cur, s_prev = _side(a, b, current, sign), _side(a, b, previous, sign)
            if s_cur >= 0:
                if s_prev < 0:
                    out.append(_crossing(previous, current, s_prev, s_cur))
                out.append(current)
            elif s_prev >= 0:
                out.append(_crossing(previous, current, s_prev, s_cur))
    return out


def _side(
    a: tuple[float, float], b: tuple[float, float], p: tuple[float, float], sign: float
) -> float:
    """Positive when ``p`` is on the inner side of edge ``a``-``b`` of a polygon of winding
    ``sign``."""
    return sign * ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]))


def _crossing(
    p: tuple[float, float], q: tuple[float, float], sp: float, sq: float
) -> tuple[float, float]:
    t = sp / (sp - sq)
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))


def point_in_polygon(point: tuple[float, float], polygon: list[tuple[float, float]]) -> bool:
    """Whether ``point`` is inside ``polygon`` (even-odd rule)."""
    x, y = point
    inside = False
    for i in range(len(polygon)):
        (x0, y0), (x1, y1) = polygon[i - 1], polygon[i]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside
