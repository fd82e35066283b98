"""GetFaceDetection: a FaceDetection job's state, and once it has succeeded its faces, each
with the timestamp of its frame (milliseconds from the start), in time order."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.start_face_detection import KIND
from agnosco.operations.video_jobs import job_results

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import (
        FaceDetectionTypeDef,
        GetFaceDetectionRequestTypeDef,
        VideoMetadataTypeDef,
        VideoTypeDef,
    )


class GetFaceDetectionResponse(TypedDict, total=False):
    JobStatus: VideoJobStatusType
    StatusMessage: str
    VideoMetadata: VideoMetadataTypeDef
    Faces: list[FaceDetectionTypeDef]
    JobId: str
    Video: VideoTypeDef
    JobTag: str
    NextToken: str


def get_face_detection(
    request: GetFaceDetectionRequestTypeDef, context: OperationContext
) -> GetFaceDetectionResponse:
    """:raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    return cast("GetFaceDetectionResponse", job_results(KIND, "Faces", request, context))
