"""FaceAnalysis (the pipeline's result) -> Rekognition's FaceDetail and related shapes.

Which attributes appear follows Rekognition: BoundingBox, Confidence, Landmarks, Pose and
Quality always; with ``Attributes=["ALL"]`` or by name, the estimated attributes too.
Agnosco never infers age, gender or race (``docs/face-attributes.md``): asking for AGE_RANGE
or GENDER by name is refused with a clear error; ``ALL`` simply leaves them out, as it leaves
out the attributes no shipped model estimates (beard, glasses, emotions, eye direction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agnosco.errors import InvalidParameterException
from agnosco.vision.attributes import Estimate
from agnosco.vision.geometry import Box
from agnosco.vision.pipeline import FaceAnalysis

REFUSED_ATTRIBUTES = {"AGE_RANGE", "GENDER"}
# Rekognition attribute name -> (FaceDetail member, FaceAnalysis.attributes field)
ESTIMATED_ATTRIBUTES = {
    "EYES_OPEN": ("EyesOpen", "eyes_open"),
    "MOUTH_OPEN": ("MouthOpen", "mouth_open"),
    "SMILE": ("Smile", "smile"),
    "FACE_OCCLUDED": ("FaceOccluded", "face_occluded"),
}
#: Landmarks CompareFaces reports for each compared face.
COMPARED_FACE_LANDMARKS = ("eyeLeft", "eyeRight", "mouthLeft", "mouthRight", "nose")


def requested_attributes(attributes: Sequence[str] | None) -> set[str]:
    """The estimated attributes to include for a request's ``Attributes`` list.

    :raises InvalidParameterException: for AGE_RANGE or GENDER named explicitly.
    """
    names = set(attributes or ["DEFAULT"])
    refused = sorted(names & REFUSED_ATTRIBUTES)
    if refused:
        raise InvalidParameterException(
            f"Agnosco does not infer {', '.join(refused)}: demographic classifiers misclassify "
            "some groups far more than others (see docs/face-attributes.md)."
        )
    if "ALL" in names:
        return set(ESTIMATED_ATTRIBUTES)
    return names & set(ESTIMATED_ATTRIBUTES)


def bounding_box(box: Box) -> dict[str, float]:
    return {"Width": box.width, "Height": box.height, "Left": box.left, "Top": box.top}


def landmarks(face: FaceAnalysis, only: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    return [
        {"Type": name, "X": point.x, "Y": point.y}
        for name, point in face.landmarks.items()
        if only is None or name in only
    ]


def pose(face: FaceAnalysis) -> dict[str, float]:
    return {"Roll": face.pose.roll, "Yaw": face.pose.yaw, "Pitch": face.pose.pitch}


def quality(face: FaceAnalysis) -> dict[str, float]:
    return {"Brightness": face.quality.brightness, "Sharpness": face.quality.sharpness}


def _estimate(estimate: Estimate) -> dict[str, Any]:
    return {"Value": estimate.value, "Confidence": estimate.confidence}


def face_detail(face: FaceAnalysis, attributes: set[str]) -> dict[str, Any]:
    """A FaceDetail; ``attributes`` from :func:`requested_attributes`."""
    detail: dict[str, Any] = {
        "BoundingBox": bounding_box(face.box),
        "Landmarks": landmarks(face),
        "Pose": pose(face),
        "Quality": quality(face),
        "Confidence": face.confidence,
    }
    if attributes and face.attributes is None:
        raise ValueError("attributes requested from a face analysed without them")
    for name in sorted(attributes):
        member, field_name = ESTIMATED_ATTRIBUTES[name]
        detail[member] = _estimate(getattr(face.attributes, field_name))
    return detail


def compared_face(face: FaceAnalysis) -> dict[str, Any]:
    """A ComparedFace, as CompareFaces reports target faces."""
    return {
        "BoundingBox": bounding_box(face.box),
        "Confidence": face.confidence,
        "Landmarks": landmarks(face, COMPARED_FACE_LANDMARKS),
        "Pose": pose(face),
        "Quality": quality(face),
    }
