"""GetFaceDetection: a FaceDetection job's state, and once it has succeeded its faces, each
with the timestamp of its frame (milliseconds from the start), in time order."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.start_face_detection import KIND
from agnosco.operations.video_jobs import add_job_members, get_job, result_page

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
    job = get_job(KIND, request["JobId"], context)
    response: GetFaceDetectionResponse = {}
    add_job_members(response, job)
    if job.result is not None and "VideoMetadata" in job.result:
        response["VideoMetadata"] = cast("VideoMetadataTypeDef", job.result["VideoMetadata"])
    items, token = result_page(context, job, request)
    response["Faces"] = [cast("FaceDetectionTypeDef", item.body) for item in items]
    if token is not None:
        response["NextToken"] = token
    return response
