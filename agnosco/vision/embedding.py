"""Face descriptors: dlib's 128-d ResNet (``dlib_face_recognition_resnet_model_v1``).

The network takes a 150 x 150 chip aligned on five facial points (:mod:`.alignment`) and
returns a 128-d vector; two chips of one person lie at a Euclidean distance under ~0.6 (dlib
reports 99.38% on LFW at 0.6).  It runs on onnxruntime (:mod:`.dlib_resnet`, equal to dlib's
own implementation within 1e-4), all faces of an image in one batch.
:mod:`agnosco.vision.similarity` turns distances into Rekognition's 0-100 Similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agnosco.vision.alignment import face_chips
from agnosco.vision.dlib_resnet import DESCRIPTOR_SIZE, DlibResNet

#: Identifies the descriptor space; stored with every descriptor and calibration.
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1"


@dataclass(frozen=True)
class DescriptorModel:
    """A descriptor space: the model's name and its descriptors' length."""

    name: str
    size: int


#: The descriptor model this pipeline computes.
DESCRIPTOR = DescriptorModel(DESCRIPTOR_MODEL, DESCRIPTOR_SIZE)

_NET = DlibResNet()


def compute_descriptors(pixels: np.ndarray, points: list[np.ndarray]) -> np.ndarray:
    """Descriptors (N x 128 float32) of the faces whose five points (each 5 x 2, pixel
    coordinates of ``pixels``, in :class:`~agnosco.vision.detectors.base.Detection` order)
    are given."""
    return _NET.describe(face_chips(pixels, points))


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance(s) between descriptor(s) ``a`` (128 or N x 128) and ``b`` (128)."""
    distances: np.ndarray = np.linalg.norm(
        np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32), axis=-1
    )
    return distances


__all__ = [
    "DESCRIPTOR",
    "DESCRIPTOR_MODEL",
    "DESCRIPTOR_SIZE",
    "DescriptorModel",
    "compute_descriptors",
    "descriptor_distance",
]
