"""Face alignment: the 150 x 150 chip dlib's descriptor network was trained on, from 5 points.

The chip is the similarity transform (rotation, uniform scale, translation; least squares over
the points, as dlib's ``find_similarity_transform``) that takes a face's five points to
:data:`CHIP_TEMPLATE`, then bilinear resampling.  The five points are those the detector gives
(see :class:`~agnosco.vision.detectors.base.Detection`): eye centres, nose tip, mouth corners.

:data:`CHIP_TEMPLATE` reproduces dlib's own chips: it is where those five points fall, median
over the faces of ``shared/data/lfw-dev``, in chips that dlib's ``get_face_chip`` cuts (size
150, padding 0.25, aligned on its 5-point shape predictor); made mirror-symmetric, so that a
mirrored face gives the mirrored chip.  ``tools/fit_chip_template.py`` measures it.  Aligning
on the detector's points instead of dlib's predictor run from a box is what keeps the chip
right for boxes dlib's predictor was not trained on (verification accuracy on lfw-dev:
``docs/benchmarks.md``).

A face much larger than the chip is shrunk with area averaging before the warp, as dlib
does with its image pyramid, so that the chip is not aliased.
"""

from __future__ import annotations

import cv2
import numpy as np

CHIP_SIZE = 150

#: Five points (x, y) in chip pixels: image-left eye, image-right eye, nose tip, image-left
#: and image-right mouth corner (``tools/fit_chip_template.py``, 2026-12-02).
CHIP_TEMPLATE = np.array(
    [
        (47.63, 46.46),
        (101.99, 46.46),
        (74.81, 77.60),
        (51.88, 102.72),
        (97.74, 102.72),
    ]
)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2 x 3 similarity (no reflection) that best maps ``source`` points onto ``target``
    in least squares (both N x 2, N >= 2)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mean_s, target - mean_t
    norm = float((s**2).sum())
    if norm == 0.0:
        raise ValueError("the source points coincide: no transform is defined")
    a = float((s * t).sum()) / norm
    b = float((s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum()) / norm
    linear = np.array([[a, -b], [b, a]])
    return np.hstack([linear, (mean_t - linear @ mean_s)[:, None]])


def chip_transform(points: np.ndarray) -> np.ndarray:
    """The 2 x 3 map from image pixels to chip pixels for a face's five points."""
    return similarity_transform(points, CHIP_TEMPLATE)


def face_chip(pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The aligned 150 x 150 RGB ``uint8`` chip of the face whose five points are ``points``.

    Parts of the chip outside the image are black, as in dlib's chips.
    """
    transform = chip_transform(points)
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))  # chip px per image px
    source = pixels
    if scale < 0.5:
        source, transform = _shrunk_region(pixels, transform, scale)
    return cv2.warpAffine(
        np.ascontiguousarray(source),
        transform,
        (CHIP_SIZE, CHIP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


def face_chips(pixels: np.ndarray, points: list[np.ndarray]) -> np.ndarray:
    """N x 150 x 150 x 3 chips, one per face (an empty batch for no faces)."""
    if not points:
        return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
    return np.stack([face_chip(pixels, p) for p in points])


def _shrunk_region(
    pixels: np.ndarray, transform: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """The image region the chip covers, area-averaged down to about the chip's resolution,
    and the transform from that smaller region to the chip."""
    inverse = cv2.invertAffineTransform(transform)
    corners = np.array([[0, 0], [CHIP_SIZE, 0], [0, CHIP_SIZE], [CHIP_SIZE, CHIP_SIZE]], float)
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    height, width = pixels.shape[:2]
    x0, y0 = np.floor(mapped.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(mapped.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 2 or y1 - y0 < 2:  # the chip lies outside the image: nothing to shrink
        return pixels, transform
    region = pixels[y0:y1, x0:x1]
    factor = 2.0 * scale  # leaves the warp a 2:1 reduction, which bilinear sampling handles
    size = (max(1, round(region.shape[1] * factor)), max(1, round(region.shape[0] * factor)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    fx, fy = size[0] / region.shape[1], size[1] / region.shape[0]
    # chip <- image, composed with image <- small (pixel centres: x = (x_small + 0.5) / f - 0.5)
    to_image = np.array([[1 / fx, 0, x0 + 0.5 / fx - 0.5], [0, 1 / fy, y0 + 0.5 / fy - 0.5]])
    composed = transform[:, :2] @ to_image[:, :2]
    offset = transform[:, :2] @ to_image[:, 2] + transform[:, 2]
    return small, np.hstack([composed, offset[:, None]])
