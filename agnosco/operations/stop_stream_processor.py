"""StopStreamProcessor: end the running session (``STOPPING``, then ``STOPPED`` within about a
second, when its worker sees it; at once if no worker holds it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StopStreamProcessorRequestTypeDef


class StopStreamProcessorResponse(TypedDict):
    """The model's output shape has no members."""


def stop_stream_processor(
    request: StopStreamProcessorRequestTypeDef, context: OperationContext
) -> StopStreamProcessorResponse:
    """:raises ResourceNotFoundException, ResourceInUseException: missing, or not running."""
    context.require_streams().stop(request["Name"])
    return {}
