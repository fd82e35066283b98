"""DescribeCollection: face and user counts, model version, ARN and creation time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's request shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import DescribeCollectionRequestTypeDef


def describe_collection(
    request: DescribeCollectionRequestTypeDef, context: OperationContext
) -> dict[str, Any]:
    """:raises ResourceNotFoundException: no such collection."""
    c = context.require_store().get_collection(request["CollectionId"])
    return {
        "FaceCount": c.face_count,
        "FaceModelVersion": c.face_model_version,
        "CollectionARN": c.arn,
        "CreationTimestamp": c.created_at,
        "UserCount": c.user_count,
    }
