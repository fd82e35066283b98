"""Facial landmarks: dlib's 68-point shape predictor, and their Rekognition names.

The 68 points follow the iBUG 300-W layout.  Rekognition names sides from the viewer's
point of view (``eyeLeft`` is the eye on the left of the image, which is the subject's right
eye), and so does the iBUG layout's numbering, so the mapping below is direct.  The 68
points have no pupils: ``leftPupil`` and ``rightPupil`` are the detector's eye points
(RetinaFace's landmark head was trained on annotated eye centres, which for an open eye is
the pupil).  That makes all 30 of Rekognition's landmark types; where a detector gives no
points (dlib's HOG), the pupils are the eye centres of the 68 points.
"""

from __future__ import annotations

import numpy as np

from agnosco.vision.geometry import PixelBox
from agnosco.vision.models import MODELS, dlib_weights


def _load():  # type: ignore[no-untyped-def]
    import dlib

    return dlib.shape_predictor(str(dlib_weights("shape_predictor_68_face_landmarks.dat")))


_PREDICTOR = MODELS.register("dlib-shape-68", _load)

# Rekognition landmark type -> iBUG 68 point indices averaged to give it.
REKOGNITION_LANDMARKS: dict[str, tuple[int, ...]] = {
    "eyeLeft": (36, 37, 38, 39, 40, 41),
    "eyeRight": (42, 43, 44, 45, 46, 47),
    "nose": (30,),
    "mouthLeft": (48,),
    "mouthRight": (54,),
    "leftEyeBrowLeft": (17,),
    "leftEyeBrowRight": (21,),
    "leftEyeBrowUp": (19,),
    "rightEyeBrowLeft": (22,),
    "rightEyeBrowRight": (26,),
    "rightEyeBrowUp": (24,),
    "leftEyeLeft": (36,),
    "leftEyeRight": (39,),
    "leftEyeUp": (37, 38),
    "leftEyeDown": (40, 41),
    "rightEyeLeft": (42,),
    "rightEyeRight": (45,),
    "rightEyeUp": (43, 44),
    "rightEyeDown": (46, 47),
    "noseLeft": (31,),
    "noseRight": (35,),
    "mouthUp": (51,),
    "mouthDown": (57,),
    "upperJawlineLeft": (0,),
    "midJawlineLeft": (4,),
    "chinBottom": (8,),
    "midJawlineRight": (12,),
    "upperJawlineRight": (16,),
}

#: Rekognition's pupil landmarks -> index in the detector's five points.
PUPIL_LANDMARKS: dict[str, int] = {"leftPupil": 0, "rightPupil": 1}
#: Every landmark type Agnosco reports: all 30 of Rekognition's.
LANDMARK_TYPES: tuple[str, ...] = (*REKOGNITION_LANDMARKS, *PUPIL_LANDMARKS)

# Named index groups of the 68-point layout used by pose and attribute estimation.
LEFT_EYE = slice(36, 42)  # image-left eye: outer corner, 2 upper, inner corner, 2 lower
RIGHT_EYE = slice(42, 48)
OUTER_LIPS = slice(48, 60)
INNER_LIPS = slice(60, 68)


def predict_landmarks(pixels: np.ndarray, box: PixelBox) -> np.ndarray:
    """The 68 landmark points (68 x 2, pixel x/y) of the face in ``box``."""
    import dlib

    rect = dlib.rectangle(round(box.x0), round(box.y0), round(box.x1) - 1, round(box.y1) - 1)
    predictor = _PREDICTOR.get()
    with _PREDICTOR.run_lock:
        shape = predictor(pixels, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def five_points(points: np.ndarray) -> np.ndarray:
    """The five points a detector gives (eye centres, nose tip, mouth corners), from the 68."""
    return np.array(
        [
            points[LEFT_EYE].mean(axis=0),
            points[RIGHT_EYE].mean(axis=0),
            points[30],
            points[48],
            points[54],
        ]
    )


def rekognition_landmarks(points: np.ndarray, five: np.ndarray) -> dict[str, np.ndarray]:
    """Rekognition landmark name -> pixel (x, y), from the 68 points and the five points."""
    named = {name: points[list(idx)].mean(axis=0) for name, idx in REKOGNITION_LANDMARKS.items()}
    named.update({name: five[index] for name, index in PUPIL_LANDMARKS.items()})
    return named
