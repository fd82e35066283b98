"""FaceAnalysis (the pipeline's result) -> Rekognition's FaceDetail and related shapes.

Which attributes appear follows Rekognition: BoundingBox, Confidence, Landmarks, Pose and
Quality always; with ``Attributes=["ALL"]`` or by name, the estimated attributes too.
Agnosco never infers age, gender or race (``docs/face-attributes.md``): asking for AGE_RANGE
or GENDER by name is refused with a clear error; ``ALL`` simply leaves them out, as it leaves
out the attributes no shipped model estimates (beard, glasses, emotions, eye direction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from agnosco.errors import InvalidParameterException
from agnosco.vision.attributes import Estimate
from agnosco.vision.geometry import Box
from agnosco.vision.pipeline import FaceAnalysis

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import LandmarkTypeType
    from types_boto3_rekognition.type_defs import (
        BoundingBoxTypeDef,
        ComparedFaceTypeDef,
        FaceDetailTypeDef,
        ImageQualityTypeDef,
        LandmarkTypeDef,
        PoseTypeDef,
        SmileTypeDef,
    )

REFUSED_ATTRIBUTES = {"AGE_RANGE", "GENDER"}
#: The attributes a shipped model estimates (Rekognition names; face_detail reports them).
ESTIMATED_ATTRIBUTES = frozenset({"EYES_OPEN", "FACE_OCCLUDED", "MOUTH_OPEN", "SMILE"})
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
    return names & ESTIMATED_ATTRIBUTES


def bounding_box(box: Box) -> BoundingBoxTypeDef:
    return {"Width": box.width, "Height": box.height, "Left": box.left, "Top": box.top}


def landmarks(face: FaceAnalysis, only: tuple[str, ...] | None = None) -> list[LandmarkTypeDef]:
    return [
        {"Type": cast("LandmarkTypeType", name), "X": point.x, "Y": point.y}
        for name, point in face.landmarks.items()
        if only is None or name in only
    ]


def pose(face: FaceAnalysis) -> PoseTypeDef:
    return {"Roll": face.pose.roll, "Yaw": face.pose.yaw, "Pitch": face.pose.pitch}


def quality(face: FaceAnalysis) -> ImageQualityTypeDef:
    return {"Brightness": face.quality.brightness, "Sharpness": face.quality.sharpness}


def _estimate(estimate: Estimate) -> SmileTypeDef:
    """An estimated attribute (Smile, EyesOpen, MouthOpen and FaceOccluded share this shape)."""
    return {"Value": estimate.value, "Confidence": estimate.confidence}


def face_detail(face: FaceAnalysis, attributes: set[str]) -> FaceDetailTypeDef:
    """A FaceDetail; ``attributes`` from :func:`requested_attributes`."""
    detail: FaceDetailTypeDef = {
        "BoundingBox": bounding_box(face.box),
        "Landmarks": landmarks(face),
        "Pose": pose(face),
        "Quality": quality(face),
        "Confidence": face.confidence,
    }
    if not attributes:
        return detail
    estimated = face.attributes
    if estimated is None:
        raise ValueError("attributes requested from a face analysed without them")
    if "EYES_OPEN" in attributes:
        detail["EyesOpen"] = _estimate(estimated.eyes_open)
    if "FACE_OCCLUDED" in attributes:
        detail["FaceOccluded"] = _estimate(estimated.face_occluded)
    if "MOUTH_OPEN" in attributes:
        detail["MouthOpen"] = _estimate(estimated.mouth_open)
    if "SMILE" in attributes:
        detail["Smile"] = _estimate(estimated.smile)
    return detail


def compared_face(face: FaceAnalysis) -> ComparedFaceTypeDef:
    """A ComparedFace, as CompareFaces reports target faces."""
    return {
        "BoundingBox": bounding_box(face.box),
        "Confidence": face.confidence,
        "Landmarks": landmarks(face, COMPARED_FACE_LANDMARKS),
        "Pose": pose(face),
        "Quality": quality(face),
    }
