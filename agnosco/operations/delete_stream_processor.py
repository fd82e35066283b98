"""DeleteStreamProcessor: remove a processor that is not running."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import DeleteStreamProcessorRequestTypeDef


class DeleteStreamProcessorResponse(TypedDict):
    """The model's output shape has no members."""


def delete_stream_processor(
    request: DeleteStreamProcessorRequestTypeDef, context: OperationContext
) -> DeleteStreamProcessorResponse:
    """:raises ResourceNotFoundException, ResourceInUseException: missing, or running."""
    context.require_streams().delete(request["Name"])
    return {}
