"""GetSegmentDetection: a SegmentDetection job's state, and once it has succeeded its segments,
in the order of the request's ``SegmentTypes`` and, within a type, by start time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.segment_detection_job import selected_types
from agnosco.operations.start_segment_detection import KIND
from agnosco.operations.video_jobs import add_job_members, get_job, result_page

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import (
        AudioMetadataTypeDef,
        GetSegmentDetectionRequestTypeDef,
        SegmentDetectionTypeDef,
        SegmentTypeInfoTypeDef,
        VideoMetadataTypeDef,
        VideoTypeDef,
    )


class GetSegmentDetectionResponse(TypedDict, total=False):
    JobStatus: VideoJobStatusType
    StatusMessage: str
    VideoMetadata: list[VideoMetadataTypeDef]
    AudioMetadata: list[AudioMetadataTypeDef]
    NextToken: str
    Segments: list[SegmentDetectionTypeDef]
    SelectedSegmentTypes: list[SegmentTypeInfoTypeDef]
    JobId: str
    Video: VideoTypeDef
    JobTag: str


def get_segment_detection(
    request: GetSegmentDetectionRequestTypeDef, context: OperationContext
) -> GetSegmentDetectionResponse:
    """:raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    job = get_job(KIND, request["JobId"], context)
    response: GetSegmentDetectionResponse = {}
    add_job_members(response, job)
    result: dict[str, Any] = job.result or {}
    if "VideoMetadata" in result:
        response["VideoMetadata"] = cast("list[VideoMetadataTypeDef]", result["VideoMetadata"])
        response["AudioMetadata"] = cast("list[AudioMetadataTypeDef]", result["AudioMetadata"])
    response["SelectedSegmentTypes"] = cast(
        "list[SegmentTypeInfoTypeDef]",
        result.get("SelectedSegmentTypes") or selected_types(job.request),
    )
    items, token = result_page(context, job, request, by_key=True)
    response["Segments"] = [cast("SegmentDetectionTypeDef", item.body) for item in items]
    if token is not None:
        response["NextToken"] = token
    return response
