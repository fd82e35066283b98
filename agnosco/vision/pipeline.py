"""The face pipeline: decoded image -> detected, described and embedded faces.

Steps, each its own module: detection (:mod:`.detectors`: a box and five points per face)
-> 68 landmarks (:mod:`.landmarks`) -> pose (:mod:`.pose`), quality (:mod:`.quality`),
attributes (:mod:`.attributes`) -> a chip aligned on the five points (:mod:`.alignment`) and
its descriptor (:mod:`.embedding`), every face of the image in one batch.  Geometry leaves the
pipeline in ratios of the upright image (as Rekognition reports it); nothing here knows about
HTTP or the Rekognition wire format.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agnosco.vision.attributes import Attributes, estimate_attributes
from agnosco.vision.detectors import DEFAULT_DETECTOR, FaceDetector, make_detector
from agnosco.vision.embedding import compute_descriptors
from agnosco.vision.geometry import Box, Point
from agnosco.vision.image import DecodedImage
from agnosco.vision.landmarks import five_points, predict_landmarks, rekognition_landmarks
from agnosco.vision.pose import Pose, estimate_pose
from agnosco.vision.quality import Quality, measure_quality

#: Rekognition analyses at most the 100 largest faces of an image.
MAX_FACES = 100
#: Names what turns an image into descriptors (detector, alignment, network): descriptors
#: cached by an evaluation are reused only under the same version.
PIPELINE_VERSION = "retinaface-s0.9-5point-chip-2026-12-02b"


@dataclass(frozen=True)
class FaceAnalysis:
    """One face, with geometry in ratios of the upright image's size."""

    box: Box
    confidence: float  # 0-100: how sure the detector is that the box holds a face
    landmarks: dict[str, Point]  # Rekognition landmark type -> position
    pose: Pose
    quality: Quality
    attributes: Attributes | None  # only when asked for


@dataclass(frozen=True)
class DescribedFace(FaceAnalysis):
    """A face and its descriptor (:func:`~agnosco.vision.embedding.compute_descriptors`)."""

    descriptor: np.ndarray  # float32, DESCRIPTOR.size values


class FaceAnalyzer:
    """Runs the pipeline with one detector; safe to share between threads."""

    def __init__(self, detector: FaceDetector | str = DEFAULT_DETECTOR) -> None:
        self.detector = make_detector(detector) if isinstance(detector, str) else detector

    def analyze(
        self, image: DecodedImage, *, attributes: bool = False, max_faces: int = MAX_FACES
    ) -> list[FaceAnalysis]:
        """The ``max_faces`` largest faces of ``image``, largest first."""
        return [face for face, _ in self._faces(image, attributes, max_faces, descriptors=False)]

    def describe(
        self, image: DecodedImage, *, attributes: bool = False, max_faces: int = MAX_FACES
    ) -> list[DescribedFace]:
        """As :meth:`analyze`, each face with its descriptor (all faces in one batch)."""
        faces = self._faces(image, attributes, max_faces, descriptors=True)
        return [DescribedFace(**vars(face), descriptor=vector) for face, vector in faces]

    def _faces(
        self, image: DecodedImage, attributes: bool, max_faces: int, *, descriptors: bool
    ) -> list[tuple[FaceAnalysis, np.ndarray]]:
        pixels = image.pixels
        height, width = pixels.shape[:2]
        detections = sorted(
            self.detector.detect(pixels), key=lambda d: d.box.width * d.box.height, reverse=True
        )[: min(max_faces, MAX_FACES)]
        shapes = [predict_landmarks(pixels, det.box) for det in detections]
        fives = [
            det.points if det.points is not None else five_points(points)
            for det, points in zip(detections, shapes, strict=True)
        ]
        vectors = (
            compute_descriptors(pixels, fives)
            if descriptors and detections
            else np.empty((len(detections), 0))
        )
        faces = []
        for det, points, five, vector in zip(detections, shapes, fives, vectors, strict=True):
            face = FaceAnalysis(
                box=det.box.to_ratio(width, height),
                confidence=100.0 * det.score,
                landmarks={
                    name: Point(float(xy[0]) / width, float(xy[1]) / height)
                    for name, xy in rekognition_landmarks(points, five).items()
                },
                pose=estimate_pose(points, width, height),
                quality=measure_quality(pixels, det.box),
                attributes=estimate_attributes(points, width, height) if attributes else None,
            )
            faces.append((face, vector))
        return faces
