"""GetCelebrityRecognition: a CelebrityRecognition job's state, and once it has succeeded each
recognized face of each sampled frame (a ``CelebrityRecognition``: the frame's ``Timestamp`` and
the ``CelebrityDetail``), in time order (``SortBy=TIMESTAMP``, the default; within a frame, best
match first) or by celebrity ``Id`` then time (``SortBy=ID``).  Faces recognized as no one are
not reported.  Identification: under review the ``Celebrities`` are withheld."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.start_celebrity_recognition import KIND
from agnosco.operations.video_jobs import job_results

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import (
        CelebrityRecognitionTypeDef,
        GetCelebrityRecognitionRequestTypeDef,
        VideoMetadataTypeDef,
        VideoTypeDef,
    )


class GetCelebrityRecognitionResponse(TypedDict, total=False):
    JobStatus: VideoJobStatusType
    StatusMessage: str
    VideoMetadata: VideoMetadataTypeDef
    NextToken: str
    Celebrities: list[CelebrityRecognitionTypeDef]
    JobId: str
    Video: VideoTypeDef
    JobTag: str


def get_celebrity_recognition(
    request: GetCelebrityRecognitionRequestTypeDef, context: OperationContext
) -> GetCelebrityRecognitionResponse:
    """:raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    by_id = request.get("SortBy", "TIMESTAMP") == "ID"
    response = job_results(KIND, "Celebrities", request, context, by_key=by_id)
    return cast("GetCelebrityRecognitionResponse", response)
