"""Synthetic 68-point (iBUG 300-W) faces for pose and attribute tests.

The layout is a plausible frontal face in millimetres around the nose tip (x to the image
right, y down, z away from the camera).  Its nose tip, chin, outer eye corners and mouth
corners coincide with the generic face in :mod:`agnosco.vision.pose`, so projecting the layout
with a known rotation gives landmarks whose pose is known exactly.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def face_layout_3d(eye_open: float = 5.0, mouth_gap: float = 4.0) -> np.ndarray:
    """68 x 3 points; ``eye_open`` is each lid's distance from the eye's corner line (mm) and
    ``mouth_gap`` the distance between the inner lips (mm)."""
    p = np.zeros((68, 3))
    for i in range(17):  # jaw, image-left ear to image-right ear through the chin (8)
        t = np.pi * i / 16
        p[i] = (-70 * np.cos(t), -30 + 96 * np.sin(t), 40 - 27 * np.sin(t))
    for k in range(5):  # brows: 17 (outer) -> 21 (inner); 22 (inner) -> 26 (outer)
        x, y = -55 + k * 10.75, -50 - 6 * np.sin(np.pi * k / 4)
        p[17 + k] = (x, y, 20)
        p[26 - k] = (-x, y, 20)
    for k in range(4):  # nose bridge down to the tip (30)
        p[27 + k] = (0, -34 + k * 34 / 3, 20 - k * 20 / 3)
    for k in range(5):  # nose bottom, image-left to image-right
        p[31 + k] = (-15 + 7.5 * k, 8, 8 if k in (0, 4) else 5)
    h = eye_open
    p[36:42] = [
        (-45, -34, 27),
        (-37, -34 - h, 25),
        (-27, -34 - h, 25),
        (-19, -34, 25),
        (-27, -34 + h, 25),
        (-37, -34 + h, 25),
    ]
    p[42:48] = [
        (19, -34, 25),
        (27, -34 - h, 25),
        (37, -34 - h, 25),
        (45, -34, 27),
        (37, -34 + h, 25),
        (27, -34 + h, 25),
    ]
    g = mouth_gap
    top, bottom = 30 - g / 2, 30 + g / 2  # inner lips around the mouth-corner line y = 30
    p[48:60] = [
        (-30, 30, 25),
        (-20, top - 4, 20),
        (-8, top - 6, 18),
        (0, top - 5, 17),
        (8, top - 6, 18),
        (20, top - 4, 20),
        (30, 30, 25),
        (20, bottom + 6, 20),
        (8, bottom + 9, 18),
        (0, bottom + 10, 17),
        (-8, bottom + 9, 18),
        (-20, bottom + 6, 20),
    ]
    p[60:68] = [
        (-26, 30, 24),
        (-10, top, 20),
        (0, top, 19),
        (10, top, 20),
        (26, 30, 24),
        (10, bottom, 20),
        (0, bottom, 19),
        (-10, bottom, 20),
    ]
    return p


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Rotation of the face, in degrees, in the conventions documented by agnosco.vision.pose:
    yaw > 0 turns the face towards the image's right, roll > 0 turns it clockwise in the
    image, pitch > 0 tilts it up (chin up, forehead away from the camera)."""
    ry, rx, rz = np.radians([-yaw, -pitch, roll])
    about_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)], [0, np.sin(rx), np.cos(rx)]])
    about_z = np.array([[np.cos(rz), -np.sin(rz), 0], [np.sin(rz), np.cos(rz), 0], [0, 0, 1]])
    return about_z @ about_y @ about_x


def project(
    points: np.ndarray,
    *,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    width: int = 640,
    height: int = 480,
    distance: float = 600.0,
    offset: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Pixel positions (68 x 2) of the rotated face ``distance`` mm in front of a pinhole
    camera with focal length ``width`` and centre at the image centre (as pose.py assumes)."""
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1.0]])
    rvec, _ = cv2.Rodrigues(rotation(yaw, pitch, roll))
    tvec = np.array([offset[0], offset[1], distance], dtype=np.float64)
    pixels, _ = cv2.projectPoints(points, rvec, tvec, camera, np.zeros(4))
    return pixels.reshape(-1, 2)


# Index of each point's mirror partner in the iBUG 68 layout.
MIRROR_INDEX = np.arange(68)
MIRROR_INDEX[0:17] = np.arange(16, -1, -1)  # jaw reversed
MIRROR_INDEX[17:22] = np.arange(26, 21, -1)  # brows 17..21 <-> 26..22
MIRROR_INDEX[22:27] = np.arange(21, 16, -1)
MIRROR_INDEX[31:36] = np.arange(35, 30, -1)  # nose bottom reversed (bridge 27..30 stays)
MIRROR_INDEX[36:42] = [45, 44, 43, 42, 47, 46]  # eyes
MIRROR_INDEX[42:48] = [39, 38, 37, 36, 41, 40]
MIRROR_INDEX[48:55] = np.arange(54, 47, -1)  # outer lips, upper
MIRROR_INDEX[55:60] = np.arange(59, 54, -1)  # outer lips, lower
MIRROR_INDEX[60:65] = np.arange(64, 59, -1)  # inner lips, upper
MIRROR_INDEX[65:68] = np.arange(67, 64, -1)  # inner lips, lower


def mirror(points: np.ndarray, width: int) -> np.ndarray:
    """The landmarks of the horizontally flipped image: x -> width - x, sides re-indexed."""
    flipped = points.copy()
    flipped[:, 0] = width - flipped[:, 0]
    return flipped[MIRROR_INDEX]


@pytest.fixture(scope="session")
def face_model():
    """Namespace of the synthetic-face helpers above."""

    class FaceModel:
        layout = staticmethod(face_layout_3d)
        project = staticmethod(project)
        mirror = staticmethod(mirror)
        mirror_index = MIRROR_INDEX

    return FaceModel
