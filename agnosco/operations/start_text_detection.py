"""StartTextDetection: a job that reads the text of a stored video's sampled frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.detect_text import word_filter
from agnosco.operations.video_jobs import start_job

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartTextDetectionRequestTypeDef

#: The job kind (the Get that reads it is Get<kind>).
KIND = "TextDetection"


class StartTextDetectionResponse(TypedDict, total=False):
    JobId: str


def start_text_detection(
    request: StartTextDetectionRequestTypeDef, context: OperationContext
) -> StartTextDetectionResponse:
    """``Filters`` are DetectText's (``WordFilter``, ``RegionsOfInterest``); the model checks
    their ranges, and a region that is not one is refused here, before any job is stored.

    :raises InvalidParameterException, InvalidS3ObjectException, VideoTooLargeException,
        IdempotentParameterMismatchException:"""
    word_filter(request.get("Filters"))
    return {"JobId": start_job(KIND, request, context)}
