"""StartSegmentDetection: a job that finds a stored video's shots and technical cues."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.errors import InvalidParameterException
from agnosco.operations.context import OperationContext
from agnosco.operations.video_jobs import start_job

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartSegmentDetectionRequestTypeDef

#: The job kind (the Get that reads it is Get<kind>).
KIND = "SegmentDetection"


class StartSegmentDetectionResponse(TypedDict, total=False):
    JobId: str


def start_segment_detection(
    request: StartSegmentDetectionRequestTypeDef, context: OperationContext
) -> StartSegmentDetectionResponse:
    """The model checks ``SegmentTypes`` (at least one of ``TECHNICAL_CUE`` and ``SHOT``) and
    the filters' ranges (``MinSegmentConfidence`` 50 to 100, ``MaxPixelThreshold`` 0 to 1,
    ``MinCoveragePercentage`` 0 to 100); a type named twice is refused here.

    :raises InvalidParameterException, InvalidS3ObjectException, VideoTooLargeException,
        IdempotentParameterMismatchException:"""
    types = list(request["SegmentTypes"])
    if len(set(types)) != len(types):
        raise InvalidParameterException("SegmentTypes names a segment type more than once.")
    return {"JobId": start_job(KIND, request, context)}
