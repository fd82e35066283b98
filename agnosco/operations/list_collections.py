"""ListCollections: collection ids (in id order) and their face model versions, paginated."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.collection_faces import DEFAULT_PAGE_SIZE
from agnosco.operations.context import OperationContext
from agnosco.operations.pagination import make_token, read_token

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import ListCollectionsRequestTypeDef


class ListCollectionsResponse(TypedDict, total=False):
    CollectionIds: list[str]
    FaceModelVersions: list[str]
    NextToken: str


def list_collections(
    request: ListCollectionsRequestTypeDef, context: OperationContext
) -> ListCollectionsResponse:
    """:raises InvalidPaginationTokenException: a NextToken not issued for this listing."""
    after = read_token(context.token_key, "ListCollections", request.get("NextToken"))
    page = context.require_store().list_collections(
        after, request.get("MaxResults", DEFAULT_PAGE_SIZE)
    )
    response: ListCollectionsResponse = {
        "CollectionIds": [c.collection_id for c in page.items],
        "FaceModelVersions": [c.face_model_version for c in page.items],
    }
    token = make_token(context.token_key, "ListCollections", page.next_key)
    if token:
        response["NextToken"] = token
    return response
