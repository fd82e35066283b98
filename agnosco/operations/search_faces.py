"""SearchFaces: faces of a collection similar to one of its faces (itself excluded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.errors import ResourceNotFoundException
from agnosco.operations.collection_faces import (
    DEFAULT_FACE_MATCH_THRESHOLD,
    MAX_SEARCH_FACES,
    search_collection,
)
from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import FaceMatchTypeDef, SearchFacesRequestTypeDef


class SearchFacesResponse(TypedDict, total=False):
    SearchedFaceId: str
    FaceMatches: list[FaceMatchTypeDef]
    FaceModelVersion: str


def search_faces(
    request: SearchFacesRequestTypeDef, context: OperationContext
) -> SearchFacesResponse:
    """:raises ResourceNotFoundException: no such collection or face."""
    collection_id, face_id = request["CollectionId"], request["FaceId"]
    store = context.require_store()
    collection = store.get_collection(collection_id)
    faces = store.get_faces(collection_id, [face_id])
    if not faces:
        raise ResourceNotFoundException(
            f"The face id: {face_id} does not exist in collection {collection_id}"
        )
    matches = search_collection(
        context,
        collection,
        faces[0].descriptor,
        float(request.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD)),
        request.get("MaxFaces", MAX_SEARCH_FACES),
        exclude_face_id=face_id,
    )
    return {
        "SearchedFaceId": face_id,
        "FaceMatches": matches,
        "FaceModelVersion": collection.face_model_version,
    }
