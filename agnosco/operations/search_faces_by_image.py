"""SearchFacesByImage: the largest face of an image against a collection."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.errors import InvalidParameterException
from agnosco.operations.collection_faces import (
    DEFAULT_FACE_MATCH_THRESHOLD,
    MAX_SEARCH_FACES,
    require_face_model,
    search_collection,
)
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import bounding_box
from agnosco.operations.quality_filter import filter_reasons

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import (
        BoundingBoxTypeDef,
        FaceMatchTypeDef,
        SearchFacesByImageRequestTypeDef,
    )


class SearchFacesByImageResponse(TypedDict, total=False):
    SearchedFaceBoundingBox: BoundingBoxTypeDef
    SearchedFaceConfidence: float
    FaceMatches: list[FaceMatchTypeDef]
    FaceModelVersion: str


def search_faces_by_image(
    request: SearchFacesByImageRequestTypeDef, context: OperationContext
) -> SearchFacesByImageResponse:
    """:raises ResourceNotFoundException: no such collection.
    :raises InvalidParameterException: no face, or the face fails QualityFilter."""
    collection_id = request["CollectionId"]
    collection = context.require_store().get_collection(collection_id)
    require_face_model(context, collection)
    image = context.load_image(request["Image"])
    faces = context.analyzer.describe(image, max_faces=1)
    if not faces:
        raise InvalidParameterException("There are no faces in the image. Should be at least 1.")
    face = faces[0]
    level = request.get("QualityFilter", "NONE")
    reasons = filter_reasons(face, level, image.width, image.height)
    if reasons:
        raise InvalidParameterException(
            f"The face does not pass QualityFilter {level}: {', '.join(reasons)}."
        )
    matches = search_collection(
        context,
        collection,
        face.descriptor,
        float(request.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD)),
        request.get("MaxFaces", MAX_SEARCH_FACES),
    )
    return {
        "SearchedFaceBoundingBox": bounding_box(face.box),
        "SearchedFaceConfidence": face.confidence,
        "FaceMatches": matches,
        "FaceModelVersion": collection.face_model_version,
    }
