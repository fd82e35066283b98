"""ListFaces: the faces of a collection in face-id order, optionally of one user or ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.collection_faces import DEFAULT_PAGE_SIZE, face_shape
from agnosco.operations.context import OperationContext
from agnosco.operations.pagination import make_token, read_token

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import FaceTypeDef, ListFacesRequestTypeDef


class ListFacesResponse(TypedDict, total=False):
    Faces: list[FaceTypeDef]
    FaceModelVersion: str
    NextToken: str


def list_faces(request: ListFacesRequestTypeDef, context: OperationContext) -> ListFacesResponse:
    """:raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    collection_id = request["CollectionId"]
    store = context.require_store()
    collection = store.get_collection(collection_id)
    listing = f"ListFaces/{collection_id}/{request.get('UserId', '')}/{','.join(request.get('FaceIds', []))}"
    after = read_token(context.token_key, listing, request.get("NextToken"))
    page = store.list_faces(
        collection_id,
        after,
        request.get("MaxResults", DEFAULT_PAGE_SIZE),
        user_id=request.get("UserId"),
        face_ids=request.get("FaceIds"),
    )
    response: ListFacesResponse = {
        "Faces": [face_shape(f, collection.face_model_version) for f in page.items],
        "FaceModelVersion": collection.face_model_version,
    }
    token = make_token(context.token_key, listing, page.next_key)
    if token:
        response["NextToken"] = token
    return response
