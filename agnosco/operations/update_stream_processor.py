"""UpdateStreamProcessor: change a stopped processor's RegionsOfInterest and
DataSharingPreference (or delete its RegionsOfInterest).  ``SettingsForUpdate`` changes
ConnectedHome settings, which no processor here has: it is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.errors import InvalidParameterException
from agnosco.operations.context import OperationContext
from agnosco.operations.stream_processors import require_processor

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import UpdateStreamProcessorRequestTypeDef


class UpdateStreamProcessorResponse(TypedDict):
    """The model's output shape has no members."""


def update_stream_processor(
    request: UpdateStreamProcessorRequestTypeDef, context: OperationContext
) -> UpdateStreamProcessorResponse:
    """:raises ResourceNotFoundException, ResourceInUseException: missing, or running.
    :raises InvalidParameterException: ConnectedHome settings on a FaceSearch processor."""
    processor = require_processor(request["Name"], context)
    to_delete = set(request.get("ParametersToDelete", []))
    if request.get("SettingsForUpdate") or "ConnectedHomeMinConfidence" in to_delete:
        raise InvalidParameterException(
            f"The stream processor {processor.name} is a FaceSearch processor; it has no"
            " ConnectedHome settings to update."
        )
    definition = dict(processor.definition)
    regions = request.get("RegionsOfInterestForUpdate")
    if regions is not None:
        for region in regions:
            if bool(region.get("BoundingBox")) == bool(region.get("Polygon")):
                raise InvalidParameterException(
                    "Each of RegionsOfInterest has either a BoundingBox or a Polygon."
                )
        definition["RegionsOfInterest"] = list(regions)
    if "RegionsOfInterest" in to_delete:
        definition.pop("RegionsOfInterest", None)
    if "DataSharingPreferenceForUpdate" in request:
        definition["DataSharingPreference"] = request["DataSharingPreferenceForUpdate"]
    context.require_streams().update(processor.name, definition)
    return {}
