"""dlib's HOG + linear SVM frontal face detector (built into dlib, no weights file)."""

from __future__ import annotations

import math

import numpy as np

from agnosco.vision.detectors.base import Detection, downscale
from agnosco.vision.geometry import PixelBox
from agnosco.vision.models import MODELS


def _load():  # type: ignore[no-untyped-def]
    import dlib

    return dlib.get_frontal_face_detector()


_HOG = MODELS.register("dlib-hog", _load)


class HogDetector:
    """Frontal faces from about 40 px (with one upsampling); weak on profiles and crowds.

    The SVM margin is turned into a 0..1 score with a logistic curve centred at -0.5, so the
    weakest accepted detections (margin 0) score about 0.62 and clear faces (margin >= 1) 0.9+.
    """

    name = "hog"

    def __init__(self, max_side: int = 800, upsample: int = 1, margin: float = 0.0) -> None:
        self.max_side = max_side
        self.upsample = upsample
        self.margin = margin

    def detect(self, pixels: np.ndarray) -> list[Detection]:
        small, factor = downscale(pixels, self.max_side)
        model = _HOG.get()
        with _HOG.run_lock:
            rects, scores, _ = model.run(small, self.upsample, self.margin)
        out = []
        for rect, score in zip(rects, scores):
            box = PixelBox(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
            out.append(Detection(box.scaled(1 / factor), 1 / (1 + math.exp(-2 * (score + 0.25)))))
        return out
