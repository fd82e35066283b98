"""CreateStreamProcessor: define a face search stream processor (``STOPPED`` until started).

Its video source and data sink ARNs must be mapped on this deployment, its collection must
exist, and ``FaceMatchThreshold`` is kept raised to at least 80
(:mod:`agnosco.operations.stream_processors`).  A processor that searches a collection is
identification: governed so when it is created and whenever it is started."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.stream_processors import check_definition

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import CreateStreamProcessorRequestTypeDef


class CreateStreamProcessorResponse(TypedDict, total=False):
    StreamProcessorArn: str


def create_stream_processor(
    request: CreateStreamProcessorRequestTypeDef, context: OperationContext
) -> CreateStreamProcessorResponse:
    """:raises InvalidParameterException, ResourceNotFoundException: see check_definition.
    :raises ResourceInUseException: a processor of that name exists."""
    definition = check_definition(dict(request), context)
    arn = context.stream_processor_arn(request["Name"])
    processor = context.require_streams().create(request["Name"], arn, definition)
    return {"StreamProcessorArn": processor.arn}
