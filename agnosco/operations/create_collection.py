"""CreateCollection: an empty face collection, with optional tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.storage.base import Collection

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import CreateCollectionRequestTypeDef


class CreateCollectionResponse(TypedDict, total=False):
    StatusCode: int
    CollectionArn: str
    FaceModelVersion: str


def create_collection(
    request: CreateCollectionRequestTypeDef, context: OperationContext
) -> CreateCollectionResponse:
    """:raises ResourceAlreadyExistsException: the id is taken."""
    collection_id = request["CollectionId"]
    arn = context.collection_arn(collection_id)
    context.require_store().create_collection(
        Collection(
            collection_id,
            arn,
            context.face_model.version,
            context.clock(),
            context.face_model.descriptor.size,
        ),
        request.get("Tags", {}),
    )
    return {"StatusCode": 200, "CollectionArn": arn, "FaceModelVersion": context.face_model.version}
