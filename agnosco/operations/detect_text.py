"""DetectText: the lines and words of text in an image, as TextDetections.

Rekognition's rules, as its documentation states them:

* A **word** is one or more characters not separated by spaces; a **line** is a string of
  words.  Lines come first in ``TextDetections`` (Ids 0, 1, ... top to bottom), then every
  line's words in reading order (Ids after the lines'), each word's ``ParentId`` its line's Id.
* ``Filters.WordFilter`` drops words: below ``MinConfidence`` (default 80), or with a bounding
  box lower than ``MinBoundingBoxHeight`` or narrower than ``MinBoundingBoxWidth`` (ratios of the
  image).  ``Filters.RegionsOfInterest`` (at most 10, each a ``BoundingBox`` or a ``Polygon`` of
  3 to 10 points) keeps only the words that are *more than half* inside one of them (by the
  area of the word's polygon).
* At most :data:`MAX_WORDS` (100) words are returned: the first ones in reading order among
  those the filters keep.
* A line is returned when at least one of its words is; its ``DetectedText`` is the words
  kept, its Confidence theirs, and its geometry the detector's quadrilateral (cut to the kept
  words when some were dropped).  A line thus never shows a word the filters removed.

Confidence is the recogniser's: the mean probability of the characters (``vision/text.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from agnosco.errors import InvalidParameterException
from agnosco.operations.context import OperationContext
from agnosco.vision.geometry import (
    Box,
    Point,
    clip_to_convex,
    point_in_polygon,
    polygon_area,
)
from agnosco.vision.text import TEXT_MODEL_VERSION, TextLine, TextWord, bounds

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import (
        BoundingBoxTypeDef,
        DetectTextRequestTypeDef,
        GeometryTypeDef,
        PointTypeDef,
        TextDetectionTypeDef,
    )

#: Rekognition's DetectText returns at most this many words.
MAX_WORDS = 100
#: WordFilter.MinConfidence when the request gives none (the model's documentation).
DEFAULT_MIN_CONFIDENCE = 80.0
#: A polygon region of interest has at most this many points (the model's documentation).
MAX_REGION_POINTS = 10

Polygon = list[tuple[float, float]]


class DetectTextResponse(TypedDict, total=False):
    TextDetections: list[TextDetectionTypeDef]
    TextModelVersion: str


def detect_text(request: DetectTextRequestTypeDef, context: OperationContext) -> DetectTextResponse:
    """:raises InvalidParameterException: a region of interest that is not one.
    :raises ServiceError: an invalid image (see :func:`~agnosco.vision.image.decode_image`)."""
    keep = word_filter(request.get("Filters"))
    image = context.load_image(request["Image"])
    lines = context.text_reader.read(image)
    return {
        "TextDetections": text_detections(select(lines, keep)),
        "TextModelVersion": TEXT_MODEL_VERSION,
    }


def word_filter(filters: Mapping[str, Any] | None) -> Callable[[TextWord], bool]:
    """Which words a request's ``Filters`` keep (``WordFilter`` and ``RegionsOfInterest``, as
    DetectText and StartTextDetection both take them; see the module docstring).

    :raises InvalidParameterException: a region of interest that is not one."""
    given: Mapping[str, Any] = filters or {}
    words: Mapping[str, Any] = given.get("WordFilter") or {}
    regions = [region_polygon(r) for r in given.get("RegionsOfInterest") or []]
    min_confidence = words.get("MinConfidence", DEFAULT_MIN_CONFIDENCE)
    min_height = words.get("MinBoundingBoxHeight", 0.0)
    min_width = words.get("MinBoundingBoxWidth", 0.0)

    def keep(word: TextWord) -> bool:
        box = word.box
        return (
            word.confidence >= min_confidence
            and box.height >= min_height
            and box.width >= min_width
            and (not regions or any(in_region(word, region) for region in regions))
        )

    return keep


def select(
    lines: Sequence[TextLine], keep: Callable[[TextWord], bool], limit: int = MAX_WORDS
) -> list[TextLine]:
    """The lines with the words ``keep`` accepts, at most ``limit`` words in reading order; a
    line left with some of its words is that line cut to them, one left with none is dropped."""
    out: list[TextLine] = []
    for line in lines:
        words = [word for word in line.words if keep(word)][
            : limit - sum(len(x.words) for x in out)
        ]
        if words:
            out.append(line if len(words) == len(line.words) else cut(line, words))
    return out


def cut(line: TextLine, words: list[TextWord]) -> TextLine:
    """``line`` reduced to ``words`` (some of its own, in order): their text and confidence
    (weighted by characters, as the line's own is), from the first's left edge to the last's
    right edge."""
    first, last = words[0].polygon, words[-1].polygon
    characters = sum(len(w.text) for w in words)
    return TextLine(
        " ".join(w.text for w in words),
        sum(w.confidence * len(w.text) for w in words) / characters,
        (first[0], last[1], last[2], first[3]),
        tuple(words),
    )


def text_detections(lines: Sequence[TextLine]) -> list[TextDetectionTypeDef]:
    detections: list[TextDetectionTypeDef] = [
        {
            "DetectedText": line.text,
            "Type": "LINE",
            "Id": line_id,
            "Confidence": _percent(line.confidence),
            "Geometry": geometry(line.polygon),
        }
        for line_id, line in enumerate(lines)
    ]
    for line_id, line in enumerate(lines):
        for word in line.words:
            detections.append(
                {
                    "DetectedText": word.text,
                    "Type": "WORD",
                    "Id": len(detections),
                    "ParentId": line_id,
                    "Confidence": _percent(word.confidence),
                    "Geometry": geometry(word.polygon),
                }
            )
    return detections


def geometry(polygon: tuple[Point, ...]) -> GeometryTypeDef:
    box = bounds(polygon)
    return {"BoundingBox": bounding_box(box), "Polygon": [_point(p) for p in polygon]}


def bounding_box(box: Box) -> BoundingBoxTypeDef:
    return {"Width": box.width, "Height": box.height, "Left": box.left, "Top": box.top}


def _point(p: Point) -> PointTypeDef:
    return {"X": p.x, "Y": p.y}


def _percent(value: float) -> float:
    return min(100.0, max(0.0, value))


def region_polygon(region: Mapping[str, Any]) -> Polygon:
    """A RegionOfInterest as a polygon in ratios of the image.

    :raises InvalidParameterException: neither or both of BoundingBox and Polygon, a box
        without all four members or of negative size, a polygon of fewer than 3 or more than
        10 points, or a point without X and Y."""
    has_box, has_polygon = "BoundingBox" in region, "Polygon" in region
    if has_box == has_polygon:
        raise InvalidParameterException(
            "Each RegionOfInterest must have exactly one of BoundingBox or Polygon."
        )
    if has_box:
        box = region["BoundingBox"]
        if any(member not in box for member in ("Left", "Top", "Width", "Height")):
            raise InvalidParameterException(
                "A RegionOfInterest BoundingBox needs Left, Top, Width and Height."
            )
        if box["Width"] < 0 or box["Height"] < 0:
            raise InvalidParameterException(
                "A RegionOfInterest BoundingBox cannot have a negative Width or Height."
            )
        left, top, right, bottom = (
            box["Left"],
            box["Top"],
            box["Left"] + box["Width"],
            box["Top"] + box["Height"],
        )
        return [(left, top), (right, top), (right, bottom), (left, bottom)]
    points = region["Polygon"]
    if not 3 <= len(points) <= MAX_REGION_POINTS:
        raise InvalidParameterException(
            f"A RegionOfInterest Polygon needs 3 to {MAX_REGION_POINTS} points; it has {len(points)}."
        )
    if any("X" not in p or "Y" not in p for p in points):
        raise InvalidParameterException("Each Point of a RegionOfInterest Polygon needs X and Y.")
    return [(p["X"], p["Y"]) for p in points]


def in_region(word: TextWord, region: Polygon) -> bool:
    """Whether more than half of ``word`` (by the area of its polygon) lies in ``region``; a
    word of no area is in the region when its centre is."""
    quad = [(p.x, p.y) for p in word.polygon]
    area = polygon_area(quad)
    if area <= 0:
        centre = (sum(x for x, _ in quad) / 4, sum(y for _, y in quad) / 4)
        return point_in_polygon(centre, region)
    # (more than half beyond rounding: a word cut in two exactly is not in)
    return polygon_area(clip_to_convex(region, quad)) > area * (0.5 + 1e-9)
