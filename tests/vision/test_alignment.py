"""Alignment: the similarity fit, the chip geometry, and chips dlib's network recognises."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from agnosco.vision.alignment import (
    CHIP_SIZE,
    CHIP_TEMPLATE,
    chip_transform,
    face_chip,
    face_chips,
    similarity_transform,
)
from agnosco.vision.detectors import make_detector
from agnosco.vision.embedding import _NET, descriptor_distance
from agnosco.vision.image import decode_image
from agnosco.vision.models import dlib_weights

MIRROR = [1, 0, 2, 4, 3]  # each of the five points' partner in a mirrored face


def _similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.radians(angle_deg)
    linear = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([linear, np.array(shift)[:, None]])


def _apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ transform[:, :2].T + transform[:, 2]


def _texture(size: int, seed: int = 0, blur: float = 4.0) -> np.ndarray:
    noise = np.random.default_rng(seed).random((size, size, 3)) * 255
    return cv2.GaussianBlur(noise.astype(np.uint8), (0, 0), blur)


def test_similarity_transform_recovers_a_known_transform():
    truth = _similarity(17.0, 2.5, (30.0, -12.0))
    source = np.random.default_rng(1).random((5, 2)) * 100
    np.testing.assert_allclose(
        similarity_transform(source, _apply(truth, source)), truth, atol=1e-9
    )


def test_similarity_transform_is_least_squares_without_reflection():
    source = np.array([(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)])
    mirrored = source * [-1, 1]  # a reflection is not a similarity: the fit must not use one
    fit = similarity_transform(source, mirrored)
    assert np.linalg.det(fit[:, :2]) >= 0


def test_coincident_points_have_no_transform():
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((5, 2)), CHIP_TEMPLATE)


def test_template_is_mirror_symmetric():
    axis = CHIP_TEMPLATE[2, 0]
    mirrored = CHIP_TEMPLATE[MIRROR] * [-1, 1] + [2 * axis, 0]
    np.testing.assert_allclose(mirrored, CHIP_TEMPLATE, atol=1e-6)
    assert abs(axis - CHIP_SIZE / 2) < 2  # the face is centred in the chip


def test_points_on_the_template_give_the_image_itself():
    image = _texture(CHIP_SIZE)
    np.testing.assert_array_equal(face_chip(image, CHIP_TEMPLATE), image)


def test_chip_undoes_rotation_scale_and_shift():
    chip_content = _texture(CHIP_SIZE, seed=2)
    to_image = _similarity(-25.0, 1.7, (140.0, 60.0))
    image = cv2.warpAffine(chip_content, to_image, (500, 400), flags=cv2.INTER_CUBIC)
    chip = face_chip(image, _apply(to_image, CHIP_TEMPLATE))
    inner = (slice(20, -20), slice(20, -20))  # away from the border the warp leaves
    assert np.abs(chip[inner].astype(int) - chip_content[inner]).mean() < 3.0


def test_large_face_is_area_averaged_not_aliased():
    # A one-pixel checkerboard, 8x larger than the chip: averaging gives flat grey; sampling
    # every 8th pixel without it would give pure black or white.
    board = (np.indices((1200, 1200)).sum(axis=0) % 2 * 255).astype(np.uint8)
    image = np.repeat(board[:, :, None], 3, axis=2)
    chip = face_chip(image, CHIP_TEMPLATE * 8)
    assert chip.std() < 10
    assert abs(float(chip.mean()) - 127.5) < 10


def test_chip_outside_the_image_is_black():
    image = np.full((200, 200, 3), 200, np.uint8)
    chip = face_chip(image, CHIP_TEMPLATE - [100, 0])  # the face's left half is off the image
    assert chip[:, :20].max() == 0 and chip[:, -20:].min() == 200


def test_mirrored_points_give_the_mirrored_chip():
    image = _texture(400, seed=3, blur=6.0)
    points = _apply(_similarity(8.0, 1.6, (90.0, 80.0)), CHIP_TEMPLATE)
    flipped_points = points[MIRROR] * [-1, 1] + [image.shape[1] - 1, 0]
    chip = face_chip(image, points)
    flipped = face_chip(np.ascontiguousarray(image[:, ::-1]), flipped_points)
    # The template's axis is within a pixel of the chip's centre: compare the overlapping part.
    shift = round(2 * (CHIP_TEMPLATE[2, 0] - (CHIP_SIZE - 1) / 2))
    a = chip[:, ::-1][:, max(0, -shift) : CHIP_SIZE - max(0, shift)]
    b = flipped[:, max(0, shift) : CHIP_SIZE - max(0, -shift)]
    assert np.abs(a.astype(int) - b).mean() < 4.0


def test_face_chips_batches_and_handles_no_faces():
    image = _texture(300)
    assert face_chips(image, []).shape == (0, CHIP_SIZE, CHIP_SIZE, 3)
    points = [CHIP_TEMPLATE + 10, CHIP_TEMPLATE * 1.5]
    batch = face_chips(image, points)
    assert batch.shape == (2, CHIP_SIZE, CHIP_SIZE, 3) and batch.dtype == np.uint8
    np.testing.assert_array_equal(batch[1], face_chip(image, points[1]))


def test_chip_transform_maps_points_onto_the_template():
    points = _apply(_similarity(12.0, 0.8, (5.0, 9.0)), CHIP_TEMPLATE)
    np.testing.assert_allclose(_apply(chip_transform(points), points), CHIP_TEMPLATE, atol=1e-9)


@pytest.mark.parametrize("name", ["img1.jpg", "img3.jpg", "img14.jpg", "img22.jpg"])
def test_chip_matches_dlibs_own_alignment(read_image, name):
    """The chip from the detector's five points and dlib's own chip (HOG box, 5-point
    predictor, get_face_chip) are the same face to dlib's network: their descriptors lie far
    closer than the 0.6 that separates people (typically < 0.15)."""
    import dlib

    pixels = decode_image(read_image(name)).pixels
    (rect,) = dlib.get_frontal_face_detector()(pixels, 1)
    predictor = dlib.shape_predictor(str(dlib_weights("shape_predictor_5_face_landmarks.dat")))
    dlib_chip = dlib.get_face_chip(pixels, predictor(pixels, rect), size=150, padding=0.25)
    detections = make_detector().detect(pixels)
    det = max(detections, key=lambda d: d.box.width * d.box.height)
    assert det.points is not None
    ours = face_chip(pixels, det.points)
    a, b = _NET.describe(np.stack([np.asarray(dlib_chip), ours]))
    assert float(descriptor_distance(a, b)) < 0.2
