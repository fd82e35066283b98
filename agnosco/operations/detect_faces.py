"""DetectFaces: the 100 largest faces of an image, largest first, as FaceDetails."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import FaceContext
from agnosco.operations.face_detail import face_detail, requested_attributes

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import OrientationCorrectionType
    from types_boto3_rekognition.type_defs import DetectFacesRequestTypeDef, FaceDetailTypeDef


class DetectFacesResponse(TypedDict, total=False):
    FaceDetails: list[FaceDetailTypeDef]
    OrientationCorrection: OrientationCorrectionType


def detect_faces(request: DetectFacesRequestTypeDef, context: FaceContext) -> DetectFacesResponse:
    """:raises ServiceError: for an invalid request or image (see :func:`decode_image`)."""
    attributes = requested_attributes(request.get("Attributes"))
    image = context.load_image(request["Image"])
    faces = context.analyzer.analyze(image, attributes=bool(attributes))
    return {"FaceDetails": [face_detail(face, attributes) for face in faces]}
