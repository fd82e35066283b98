"""DeleteCollection: the collection, its faces, users, tags and remembered tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import DeleteCollectionRequestTypeDef


class DeleteCollectionResponse(TypedDict, total=False):
    StatusCode: int


def delete_collection(
    request: DeleteCollectionRequestTypeDef, context: OperationContext
) -> DeleteCollectionResponse:
    """:raises ResourceNotFoundException: no such collection."""
    context.require_store().delete_collection(request["CollectionId"], when=context.clock())
    return {"StatusCode": 200}
