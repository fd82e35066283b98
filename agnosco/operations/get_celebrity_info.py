"""GetCelebrityInfo: the name, URLs and stated known gender of one of the deployment's
celebrities, by the Id RecognizeCelebrities returned."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.celebrities import known_gender, require_celebrities
from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import (
        GetCelebrityInfoRequestTypeDef,
        KnownGenderTypeDef,
    )


class GetCelebrityInfoResponse(TypedDict, total=False):
    Urls: list[str]
    Name: str
    KnownGender: KnownGenderTypeDef


def get_celebrity_info(
    request: GetCelebrityInfoRequestTypeDef, context: OperationContext
) -> GetCelebrityInfoResponse:
    """:raises ResourceNotFoundException: no celebrity of the deployment has that Id."""
    celebrity = require_celebrities(context).get(request["Id"])
    response: GetCelebrityInfoResponse = {"Urls": list(celebrity.urls), "Name": celebrity.name}
    gender = known_gender(celebrity.known_gender)
    if gender is not None:
        response["KnownGender"] = gender
    return response
