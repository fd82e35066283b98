"""PixelBox geometry, non-maximum suppression and polygon clipping on hand-computed cases."""

from __future__ import annotations

import pytest

from agnosco.vision.geometry import (
    Box,
    PixelBox,
    clip_to_convex,
    non_max_suppression,
    point_in_polygon,
    polygon_area,
)


def test_box_sizes_and_conversions():
    box = PixelBox(10.0, 20.0, 50.0, 100.0)
    assert (box.width, box.height) == (40.0, 80.0)
    assert box.scaled(0.5) == PixelBox(5.0, 10.0, 25.0, 50.0)
    ratio = box.to_ratio(200, 400)
    assert ratio == Box(left=0.05, top=0.05, width=0.2, height=0.2)
    assert ratio.area == pytest.approx(0.04)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),  # identical
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),  # disjoint
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # sharing an edge only
        ((0, 0, 10, 10), (10, 10, 20, 20), 0.0),  # sharing a corner only
        ((0, 0, 2, 2), (1, 0, 3, 2), 2 / 6),  # half-width shift: 2 / (4 + 4 - 2)
        ((0, 0, 4, 4), (1, 1, 3, 3), 4 / 16),  # one inside the other
        ((0, 0, 10, 10), (5, 5, 15, 15), 25 / 175),  # quarter overlap
        ((0, 0, 10, 10), (1, 1, 11, 11), 81 / 119),
        ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),  # zero area: no division by zero
        ((-5, -5, 5, 5), (0, 0, 10, 10), 25 / 175),  # negative coordinates
    ],
)
def test_iou(a, b, expected):
    box_a, box_b = PixelBox(*map(float, a)), PixelBox(*map(float, b))
    assert box_a.iou(box_b) == pytest.approx(expected)
    assert box_b.iou(box_a) == pytest.approx(expected)  # symmetric
    assert 0.0 <= box_a.iou(box_b) <= 1.0


def test_nms_empty():
    assert non_max_suppression([], [], 0.3) == []


def test_nms_drops_overlapping_lower_score_and_keeps_disjoint():
    boxes = [
        PixelBox(0, 0, 10, 10),  # 0: best
        PixelBox(1, 1, 11, 11),  # 1: IoU 0.68 with 0 -> dropped
        PixelBox(20, 20, 30, 30),  # 2: disjoint -> kept
    ]
    assert non_max_suppression(boxes, [0.9, 0.8, 0.7], 0.3) == [0, 2]


def test_nms_keeps_the_best_score_not_the_first_box():
    boxes = [PixelBox(0, 0, 10, 10), PixelBox(1, 1, 11, 11)]
    assert non_max_suppression(boxes, [0.6, 0.95], 0.3) == [1]


def test_nms_orders_kept_boxes_by_score():
    boxes = [PixelBox(0, 0, 10, 10), PixelBox(20, 0, 30, 10), PixelBox(40, 0, 50, 10)]
    assert non_max_suppression(boxes, [0.5, 0.9, 0.7], 0.3) == [1, 2, 0]


def test_nms_threshold_is_inclusive():
    boxes = [PixelBox(0, 0, 2, 2), PixelBox(1, 0, 3, 2)]  # IoU exactly 1/3
    assert non_max_suppression(boxes, [0.9, 0.8], 1 / 3) == [0, 1]
    assert non_max_suppression(boxes, [0.9, 0.8], 0.33) == [0]


def test_nms_suppressed_box_does_not_suppress_others():
    boxes = [
        PixelBox(0, 0, 10, 10),  # A
        PixelBox(5, 0, 15, 10),  # B: IoU 1/3 with A and with C
        PixelBox(10, 0, 20, 10),  # C: touches A only on an edge
    ]
    # B is dropped by A; C overlaps only B, which was not kept, so C survives.
    assert non_max_suppression(boxes, [0.9, 0.8, 0.7], 0.3) == [0, 2]


def test_nms_threshold_one_keeps_everything_but_duplicates_are_still_kept():
    boxes = [PixelBox(0, 0, 10, 10)] * 3
    assert non_max_suppression(boxes, [0.1, 0.3, 0.2], 1.0) == [1, 2, 0]
    assert non_max_suppression(boxes, [0.1, 0.3, 0.2], 0.99) == [1]


SQUARE = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]


@pytest.mark.parametrize("winding", [1, -1])
def test_clipping_to_a_convex_polygon_of_either_winding(winding: int):
    window = SQUARE[::winding]
    assert polygon_area(window) == 4.0
    shifted = [(x + 1, y + 1) for x, y in SQUARE]  # overlaps the window in a 1 x 1 square
    assert polygon_area(clip_to_convex(shifted, window)) == pytest.approx(1.0)
    assert polygon_area(clip_to_convex(SQUARE, window)) == pytest.approx(4.0)
    far = [(x + 5, y) for x, y in SQUARE]
    assert clip_to_convex(far, window) == []


def test_a_concave_subject_is_clipped_to_its_exact_area():
    # a U: the 3 x 2 block minus the notch x in (1, 2), y in (0, 1.5)
    u = [(0, 0), (1, 0), (1, 1.5), (2, 1.5), (2, 0), (3, 0), (3, 2), (0, 2)]
    assert polygon_area(u) == pytest.approx(6 - 1.5)
    window = [(0.5, 0.0), (2.5, 0.0), (2.5, 2.0), (0.5, 2.0)]  # spans the notch
    # inside the window: 2 x 2 minus the notch's 1 x 1.5
    assert polygon_area(clip_to_convex(u, window)) == pytest.approx(4 - 1.5)


def test_point_in_polygon():
    u = [(0, 0), (1, 0), (1, 1.5), (2, 1.5), (2, 0), (3, 0), (3, 2), (0, 2)]
    assert point_in_polygon((0.5, 0.5), u) and point_in_polygon((1.5, 1.8), u)
    assert not point_in_polygon((1.5, 0.5), u) and not point_in_polygon((4, 1), u)
