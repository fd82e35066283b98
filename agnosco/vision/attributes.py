"""Face attributes estimated from landmark geometry, each with a confidence.

Only attributes that 68 landmarks can honestly support are estimated, with the measure and
threshold stated here; confidence grows from 50 at the threshold to 99 at one ``scale``
away from it (so it means "how far from the decision boundary", not a calibrated probability):

* **EyesOpen**: eye aspect ratio (Soukupova & Cech, 2016), mean of both eyes: the two lid
  distances over twice the corner-to-corner width; open when > 0.16 (scale 0.08).
* **MouthOpen**: gap between the inner lips over mouth width; open when > 0.08 (scale 0.08).
* **Smile**: mouth width over the distance between the outer eye corners plus the lift of the
  mouth corners above the lips' centre line (over mouth width); smiling when the sum > 0.85
  (scale 0.10).  A geometric cue, not a judgement of feeling.
* **FaceOccluded**: whether part of the face lies outside the image frame (landmarks outside
  the image).  Occlusion by hands, masks or objects is *not* detected, so a ``False`` has
  lower confidence (the landmark model always places all 68 points).
* **EyeDirection** is not estimated: the 68 points have no pupils.

Age, gender and race/ethnicity are never inferred; see ``docs/face-attributes.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Estimate:
    value: bool
    confidence: float


@dataclass(frozen=True, slots=True)
class Attributes:
    eyes_open: Estimate
    mouth_open: Estimate
    smile: Estimate
    face_occluded: Estimate


def _estimate(measure: float, threshold: float, scale: float) -> Estimate:
    distance = min(1.0, abs(measure - threshold) / scale)
    return Estimate(value=bool(measure > threshold), confidence=float(50.0 + 49.0 * distance))


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """EAR of one eye given its 6 points (outer corner, 2 upper, inner corner, 2 lower)."""
    return (_dist(eye[1], eye[5]) + _dist(eye[2], eye[4])) / (2.0 * _dist(eye[0], eye[3]) + 1e-9)


def mouth_opening(points: np.ndarray) -> float:
    gap = np.mean(
        [
            _dist(points[61], points[67]),
            _dist(points[62], points[66]),
            _dist(points[63], points[65]),
        ]
    )
    return float(gap) / (_dist(points[48], points[54]) + 1e-9)


def smile_measure(points: np.ndarray) -> float:
    width = _dist(points[48], points[54])
    eyes = _dist(points[36], points[45])
    centre_y = (points[51, 1] + points[57, 1]) / 2.0
    lift = (centre_y - (points[48, 1] + points[54, 1]) / 2.0) / (width + 1e-9)
    return float(width / (eyes + 1e-9) + lift)


def estimate_attributes(points: np.ndarray, image_width: int, image_height: int) -> Attributes:
    """Attributes from the 68 landmark points (pixels) of a face in an image of the given size."""
    ear = (eye_aspect_ratio(points[36:42]) + eye_aspect_ratio(points[42:48])) / 2.0
    inside = (
        (points[:, 0] >= 0)
        & (points[:, 0] < image_width)
        & (points[:, 1] >= 0)
        & (points[:, 1] < image_height)
    )
    outside_fraction = 1.0 - float(inside.mean())
    occluded = (
        Estimate(True, float(50.0 + 49.0 * min(1.0, outside_fraction / 0.2)))
        if outside_fraction > 0
        else Estimate(False, 60.0)
    )
    return Attributes(
        eyes_open=_estimate(ear, 0.16, 0.08),
        mouth_open=_estimate(mouth_opening(points), 0.08, 0.08),
        smile=_estimate(smile_measure(points), 0.85, 0.10),
        face_occluded=occluded,
    )
