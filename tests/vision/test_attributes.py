"""Landmark-geometry attributes (eyes, mouth, smile, occlusion) on synthetic 68-point faces."""

from __future__ import annotations

import numpy as np
import pytest

from agnosco.vision.attributes import (
    Attributes,
    Estimate,
    estimate_attributes,
    eye_aspect_ratio,
    mouth_opening,
    smile_measure,
)

W, H = 640, 480


def _attributes(points: np.ndarray, width: int = W, height: int = H) -> Attributes:
    attributes = estimate_attributes(points, width, height)
    for estimate in (
        attributes.eyes_open,
        attributes.mouth_open,
        attributes.smile,
        attributes.face_occluded,
    ):
        assert isinstance(estimate, Estimate)
        assert 50.0 <= estimate.confidence <= 99.0
    return attributes


def _face(face_model, **layout) -> np.ndarray:
    return face_model.project(face_model.layout(**layout))


def test_eye_aspect_ratio_by_hand():
    # Corners 26 apart, both lids 5 above and below the corner line: (10 + 10) / (2 * 26).
    eye = np.array([(0, 0), (8, -5), (18, -5), (26, 0), (18, 5), (8, 5)], dtype=float)
    assert eye_aspect_ratio(eye) == pytest.approx(20 / 52)
    closed = eye * [1, 0.1]
    assert eye_aspect_ratio(closed) == pytest.approx(2 / 52)
    # Invariant to scale and translation.
    assert eye_aspect_ratio(eye * 3 + [100, 40]) == pytest.approx(20 / 52)


def test_open_eyes_have_a_larger_ratio_than_closed(face_model):
    open_points, closed_points = _face(face_model, eye_open=5.0), _face(face_model, eye_open=0.5)
    for eye in (slice(36, 42), slice(42, 48)):
        assert eye_aspect_ratio(open_points[eye]) == pytest.approx(10 / 26, rel=0.05)
        assert eye_aspect_ratio(closed_points[eye]) == pytest.approx(1 / 26, rel=0.05)
    assert _attributes(open_points).eyes_open.value is True
    assert _attributes(closed_points).eyes_open.value is False
    # Both far from the 0.16 threshold: confident either way.
    assert _attributes(open_points).eyes_open.confidence > 95
    assert _attributes(closed_points).eyes_open.confidence > 90


def test_eyes_open_confidence_grows_with_distance_from_threshold(face_model):
    # EAR = 2 * h / 26: h = 2.2 gives 0.169, just above the 0.16 threshold.
    near = _attributes(_face(face_model, eye_open=2.2)).eyes_open
    far = _attributes(_face(face_model, eye_open=4.0)).eyes_open
    assert near.value is True and far.value is True
    assert 50.0 < near.confidence < far.confidence


def test_mouth_opening(face_model):
    closed, open_ = _face(face_model, mouth_gap=1.0), _face(face_model, mouth_gap=20.0)
    # Gap between the inner lips over the 60 mm corner-to-corner width.
    assert mouth_opening(closed) == pytest.approx(1 / 60, rel=0.05)
    assert mouth_opening(open_) == pytest.approx(20 / 60, rel=0.05)
    assert _attributes(closed).mouth_open.value is False
    assert _attributes(open_).mouth_open.value is True


def test_smile(face_model):
    neutral_layout = face_model.layout()
    smiling_layout = neutral_layout.copy()
    smiling_layout[48] = (-40, 22, 25)  # mouth corners wider and lifted
    smiling_layout[54] = (40, 22, 25)
    neutral, smiling = face_model.project(neutral_layout), face_model.project(smiling_layout)
    assert smile_measure(smiling) > smile_measure(neutral)
    assert _attributes(neutral).smile.value is False
    assert _attributes(smiling).smile.value is True


def test_face_inside_the_frame_is_not_occluded(face_model):
    points = _face(face_model)
    assert np.all((points >= 0) & (points < [W, H]))
    occluded = _attributes(points).face_occluded
    assert occluded.value is False


@pytest.mark.parametrize("shift", [(-300.0, 0.0), (320.0, 0.0), (0.0, -250.0), (0.0, 230.0)])
def test_face_cut_by_the_frame_is_occluded(face_model, shift):
    points = _face(face_model) + shift
    outside = ~np.all((points >= 0) & (points < [W, H]), axis=1)
    assert 0 < outside.sum() < 68
    occluded = _attributes(points).face_occluded
    assert occluded.value is True
    assert occluded.confidence > 50.0


def test_occlusion_confidence_grows_with_the_part_outside(face_model):
    points = _face(face_model)
    a_little = points.copy()
    a_little[0] = (-1.0, a_little[0, 1])  # one jaw point just outside
    a_lot = points - (points[:, 0].min() + 60.0, 0.0)  # the left third of the face outside
    little, lot = _attributes(a_little).face_occluded, _attributes(a_lot).face_occluded
    assert little.value is True and lot.value is True
    assert little.confidence < lot.confidence


def test_point_on_the_right_edge_is_outside(face_model):
    points = _face(face_model)
    points[16, 0] = W  # x == width is one past the last column
    assert _attributes(points).face_occluded.value is True
    points[16, 0] = W - 0.5
    assert _attributes(points).face_occluded.value is False


def test_estimates_are_plain_python_types(face_model):
    """numpy.bool_ / numpy.float64 would fail botocore validation and json.dumps downstream."""
    attributes = _attributes(_face(face_model))
    for estimate in (
        attributes.eyes_open,
        attributes.mouth_open,
        attributes.smile,
        attributes.face_occluded,
    ):
        assert type(estimate.value) is bool
        assert type(estimate.confidence) is float
