"""DescribeCollection: face and user counts, model version, ARN and creation time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import DescribeCollectionRequestTypeDef


class DescribeCollectionResponse(TypedDict, total=False):
    FaceCount: int
    FaceModelVersion: str
    CollectionARN: str
    CreationTimestamp: datetime
    UserCount: int


def describe_collection(
    request: DescribeCollectionRequestTypeDef, context: OperationContext
) -> DescribeCollectionResponse:
    """:raises ResourceNotFoundException: no such collection."""
    c = context.require_store().get_collection(request["CollectionId"])
    return {
        "FaceCount": c.face_count,
        "FaceModelVersion": c.face_model_version,
        "CollectionARN": c.arn,
        "CreationTimestamp": datetime.fromtimestamp(c.created_at, UTC),
        "UserCount": c.user_count,
    }
