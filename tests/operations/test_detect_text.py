"""DetectText through :func:`agnosco.operations.invoke` on images drawn with known text: Ids and
ParentIds, the word filter, regions of interest, the 100-word limit, refused requests; and the
filters' geometry on hand-made lines."""

from __future__ import annotations

from typing import Any

import pytest

from agnosco import spec
from agnosco.errors import InvalidParameterException
from agnosco.operations import OperationContext, invoke
from agnosco.operations.detect_text import MAX_WORDS, in_region, region_polygon, select
from agnosco.vision.geometry import Point
from agnosco.vision.text import TextLine, TextWord
from tests.text_images import draw_text, png


@pytest.fixture(scope="module")
def context() -> OperationContext:
    return OperationContext()


def detect(context: OperationContext, data: bytes, **filters: Any) -> list[dict[str, Any]]:
    request: dict[str, Any] = {"Image": {"Bytes": data}}
    if filters:
        request["Filters"] = filters
    response = invoke("DetectText", request, context)
    spec.validate(dict(response), "DetectTextResponse")
    assert response["TextModelVersion"] == "1.0"
    return list(response["TextDetections"])


def lines_and_words(detections: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], ...]:
    lines = [d for d in detections if d["Type"] == "LINE"]
    words = [d for d in detections if d["Type"] == "WORD"]
    return lines, words


def check_links(detections: list[dict[str, Any]]) -> None:
    """Lines first (Ids 0..), then words (Ids after), each word's ParentId its line's, the
    line's text its words' in order."""
    lines, words = lines_and_words(detections)
    assert detections == lines + words
    assert [d["Id"] for d in detections] == list(range(len(detections)))
    assert all("ParentId" not in line for line in lines)
    for line in lines:
        own = [w["DetectedText"] for w in words if w["ParentId"] == line["Id"]]
        assert " ".join(own) == line["DetectedText"]
    assert {w["ParentId"] for w in words} == {line["Id"] for line in lines}


def test_lines_then_words_linked_to_their_lines(context: OperationContext) -> None:
    drawn = draw_text(["Hello world from Agnosco", "STOP 42 Main Street"])
    detections = detect(context, png(drawn.image))
    check_links(detections)
    lines, words = lines_and_words(detections)
    assert [line["DetectedText"] for line in lines] == drawn.lines
    assert [w["DetectedText"] for w in words] == " ".join(drawn.lines).split()
    for d in detections:
        box, polygon = d["Geometry"]["BoundingBox"], d["Geometry"]["Polygon"]
        assert len(polygon) == 4
        xs, ys = [p["X"] for p in polygon], [p["Y"] for p in polygon]
        assert box["Left"] == pytest.approx(min(xs)) and box["Top"] == pytest.approx(min(ys))
        assert box["Left"] + box["Width"] == pytest.approx(max(xs))
        assert 0 <= min(xs) and max(xs) <= 1 and 0 <= min(ys) and max(ys) <= 1


def test_min_confidence_drops_the_words_below_it(context: OperationContext) -> None:
    # a clear line and one drawn faintly and small: confidences spread
    drawn = draw_text(["Clear words here", "faint tiny words"], font_size=40)
    faint = draw_text(
        ["faint tiny words that blur"],
        background=drawn.image,
        font_size=11,
        origin=(30, 200),
        ink=(200, 200, 200),
    )
    data = png(faint.image)
    everything = detect(context, data, WordFilter={"MinConfidence": 0})
    confidences = sorted(w["Confidence"] for w in lines_and_words(everything)[1])
    threshold = confidences[len(confidences) // 2]
    kept = detect(context, data, WordFilter={"MinConfidence": threshold})
    check_links(kept)
    expected = [
        w["DetectedText"] for w in lines_and_words(everything)[1] if w["Confidence"] >= threshold
    ]
    assert [w["DetectedText"] for w in lines_and_words(kept)[1]] == expected
    default = detect(context, data)  # MinConfidence 80
    assert all(w["Confidence"] >= 80 for w in lines_and_words(default)[1])


def test_min_bounding_box_height_and_width(context: OperationContext) -> None:
    big = draw_text(["BIG LETTERS"], size=(900, 360), font_size=72)
    drawn = draw_text(["small words below"], background=big.image, font_size=26, origin=(30, 220))
    data = png(drawn.image)
    lines, words = lines_and_words(detect(context, data))
    assert [line["DetectedText"] for line in lines] == ["BIG LETTERS", "small words below"]
    heights = {w["DetectedText"]: w["Geometry"]["BoundingBox"]["Height"] for w in words}
    cut = (heights["BIG"] + heights["small"]) / 2
    tall = detect(context, data, WordFilter={"MinBoundingBoxHeight": cut})
    check_links(tall)
    assert [d["DetectedText"] for d in tall] == ["BIG LETTERS", "BIG", "LETTERS"]
    widths = {w["DetectedText"]: w["Geometry"]["BoundingBox"]["Width"] for w in words}
    wide = detect(context, data, WordFilter={"MinBoundingBoxWidth": widths["BIG"] + 0.001})
    check_links(wide)
    assert [d["DetectedText"] for d in lines_and_words(wide)[1]] == [
        w for w, width in widths.items() if width > widths["BIG"] + 0.001
    ]


def test_regions_of_interest_keep_the_words_more_than_half_inside(
    context: OperationContext,
) -> None:
    drawn = draw_text(["left words | right words", "second line here"], size=(900, 260))
    data = png(drawn.image)
    lines, words = lines_and_words(detect(context, data))
    first = [w for w in words if w["ParentId"] == 0]
    # a box ending in the middle of the line's third word: the words before it are kept
    third = first[2]["Geometry"]["BoundingBox"]
    box = {"Left": 0.0, "Top": 0.0, "Width": third["Left"] + third["Width"] * 0.4, "Height": 0.5}
    kept = detect(context, data, RegionsOfInterest=[{"BoundingBox": box}])
    check_links(kept)
    kept_lines, kept_words = lines_and_words(kept)
    names = [w["DetectedText"] for w in first[:2]]
    assert [w["DetectedText"] for w in kept_words] == names
    assert [line["DetectedText"] for line in kept_lines] == [" ".join(names)]
    # the line is cut to its kept words: it ends where the second word does
    end = first[1]["Geometry"]["BoundingBox"]
    line_box = kept_lines[0]["Geometry"]["BoundingBox"]
    assert line_box["Left"] + line_box["Width"] == pytest.approx(end["Left"] + end["Width"])
    # the same region as a polygon, and a second region keeping the second line
    polygon = [
        {"X": 0.0, "Y": 0.0},
        {"X": box["Width"], "Y": 0.0},
        {"X": box["Width"], "Y": 0.5},
        {"X": 0.0, "Y": 0.5},
    ]
    second = lines[1]["Geometry"]["BoundingBox"]
    both = detect(
        context,
        data,
        RegionsOfInterest=[{"Polygon": polygon}, {"BoundingBox": second}],
    )
    check_links(both)
    assert [line["DetectedText"] for line in lines_and_words(both)[0]] == [
        " ".join(names),
        "second line here",
    ]


def test_at_most_100_words_the_first_in_reading_order(context: OperationContext) -> None:
    rows = [" ".join(f"{10 * r + c + 100}" for c in range(10)) for r in range(13)]
    drawn = draw_text(rows, size=(1200, 1000), font_size=30, spacing=2.4)
    data = png(drawn.image)
    detections = detect(context, data)
    check_links(detections)
    words = [w["DetectedText"] for w in lines_and_words(detections)[1]]
    assert len(words) == MAX_WORDS
    read = [
        w.text
        for line in context.text_reader.read(context.load_image({"Bytes": data}))
        for w in line.words
        if w.confidence >= 80
    ]
    assert len(read) > MAX_WORDS and words == read[:MAX_WORDS]


@pytest.mark.parametrize(
    "region",
    [
        {},
        {"BoundingBox": {"Left": 0, "Top": 0, "Width": 1, "Height": 1}, "Polygon": []},
        {"BoundingBox": {"Left": 0, "Top": 0, "Width": 1}},
        {"BoundingBox": {"Left": 0, "Top": 0, "Width": -0.1, "Height": 1}},
        {"Polygon": [{"X": 0, "Y": 0}, {"X": 1, "Y": 1}]},
        {"Polygon": [{"X": i / 11, "Y": (i % 2) / 2} for i in range(11)]},
        {"Polygon": [{"X": 0, "Y": 0}, {"X": 1}, {"X": 1, "Y": 1}]},
    ],
)
def test_a_region_that_is_not_one_is_refused_before_the_image_is_read(
    context: OperationContext, region: dict[str, Any]
) -> None:
    with pytest.raises(InvalidParameterException):
        detect(context, b"not an image", RegionsOfInterest=[region])


# the filters' geometry on hand-made lines --------------------------------------------------


def _word(text: str, left: float, right: float, confidence: float = 99.0) -> TextWord:
    return TextWord(
        text,
        confidence,
        (Point(left, 0.1), Point(right, 0.1), Point(right, 0.2), Point(left, 0.2)),
    )


def test_a_word_exactly_half_inside_a_region_is_not_kept() -> None:
    word = _word("w", 0.4, 0.6)
    half = region_polygon({"BoundingBox": {"Left": 0.5, "Top": 0, "Width": 0.5, "Height": 1}})
    more = region_polygon({"BoundingBox": {"Left": 0.49, "Top": 0, "Width": 0.5, "Height": 1}})
    assert not in_region(word, half) and in_region(word, more)
    # a concave region (an L) holding the word's left 60%
    ell = region_polygon(
        {
            "Polygon": [
                {"X": 0.0, "Y": 0.0},
                {"X": 0.52, "Y": 0.0},
                {"X": 0.52, "Y": 0.15},
                {"X": 0.9, "Y": 0.15},
                {"X": 0.9, "Y": 0.3},
                {"X": 0.0, "Y": 0.3},
            ]
        }
    )
    # inside: x < 0.52 over the whole height (60%), and the bottom half of the rest (20%)
    assert in_region(word, ell)
    assert not in_region(_word("w", 0.6, 0.8), ell)  # only its bottom half


def test_the_limit_and_the_filter_cut_lines_to_their_kept_words() -> None:
    words = tuple(_word(f"w{i}", 0.1 * i, 0.1 * i + 0.08, 90 + i) for i in range(5))
    line = TextLine(
        "w0 w1 w2 w3 w4",
        92.0,
        (Point(0, 0.1), Point(0.48, 0.1), Point(0.48, 0.2), Point(0, 0.2)),
        words,
    )
    other = TextLine("x", 99.0, line.polygon, (_word("x", 0.0, 0.1),))
    [cut, rest] = select([line, other], lambda w: w.text != "w2", limit=5)
    assert cut.text == "w0 w1 w3 w4" and rest.text == "x"
    [only] = select([line, other], lambda w: w.text != "w2", limit=3)
    assert only.text == "w0 w1 w3"
    assert only.polygon[1] == words[3].polygon[1] and only.polygon[0] == words[0].polygon[0]
    assert only.confidence == pytest.approx((90 + 91 + 93) / 3)
    assert select([line], lambda w: True)[0] is line  # a whole line is the detector's own
