"""GetTextDetection: a TextDetection job's state, and once it has succeeded the text of its
sampled frames, each line and word with its frame's timestamp (milliseconds from the start),
in time order (within a frame, as DetectText orders them: the lines, then their words)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.start_text_detection import KIND
from agnosco.operations.video_jobs import job_results
from agnosco.vision.text import TEXT_MODEL_VERSION

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import (
        GetTextDetectionRequestTypeDef,
        TextDetectionResultTypeDef,
        VideoMetadataTypeDef,
        VideoTypeDef,
    )


class GetTextDetectionResponse(TypedDict, total=False):
    JobStatus: VideoJobStatusType
    StatusMessage: str
    VideoMetadata: VideoMetadataTypeDef
    TextDetections: list[TextDetectionResultTypeDef]
    NextToken: str
    TextModelVersion: str
    JobId: str
    Video: VideoTypeDef
    JobTag: str


def get_text_detection(
    request: GetTextDetectionRequestTypeDef, context: OperationContext
) -> GetTextDetectionResponse:
    """``TextModelVersion`` is the version the job read with (before it has finished, the
    version it is reading with).

    :raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    response = job_results(KIND, "TextDetections", request, context)
    response.setdefault("TextModelVersion", TEXT_MODEL_VERSION)
    return cast("GetTextDetectionResponse", response)
