"""StartContentModeration: a job that looks for unsafe content in a stored video's sampled
frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.video_jobs import start_job

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartContentModerationRequestTypeDef

#: The job kind (the Get that reads it is Get<kind>).
KIND = "ContentModeration"


class StartContentModerationResponse(TypedDict, total=False):
    JobId: str


def start_content_moderation(
    request: StartContentModerationRequestTypeDef, context: OperationContext
) -> StartContentModerationResponse:
    """``MinConfidence`` (0-100, default 50) is checked against the model before any job is
    stored.

    :raises InvalidParameterException, InvalidS3ObjectException, VideoTooLargeException,
        IdempotentParameterMismatchException:"""
    return {"JobId": start_job(KIND, request, context)}
