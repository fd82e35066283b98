"""GetFaceSearch: a FaceSearch job's state, and once it has succeeded the people of the video
whose faces matched the collection: for each sampled frame and person, the person's ``Index``
(stable across frames: :mod:`agnosco.vision.tracking`), box and FaceDetail, and the matches
(Similarity >= the job's FaceMatchThreshold, best first).  ``SortBy`` TIMESTAMP (the default)
or INDEX (by person, then time)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.start_face_search import KIND
from agnosco.operations.video_jobs import add_job_members, get_job, result_page

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import (
        GetFaceSearchRequestTypeDef,
        PersonMatchTypeDef,
        VideoMetadataTypeDef,
        VideoTypeDef,
    )


class GetFaceSearchResponse(TypedDict, total=False):
    JobStatus: VideoJobStatusType
    StatusMessage: str
    NextToken: str
    VideoMetadata: VideoMetadataTypeDef
    Persons: list[PersonMatchTypeDef]
    JobId: str
    Video: VideoTypeDef
    JobTag: str


def get_face_search(
    request: GetFaceSearchRequestTypeDef, context: OperationContext
) -> GetFaceSearchResponse:
    """:raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    job = get_job(KIND, request["JobId"], context)
    response: GetFaceSearchResponse = {}
    add_job_members(response, job)
    if job.result is not None and "VideoMetadata" in job.result:
        response["VideoMetadata"] = cast("VideoMetadataTypeDef", job.result["VideoMetadata"])
    by_index = request.get("SortBy", "TIMESTAMP") == "INDEX"
    items, token = result_page(context, job, request, by_key=by_index)
    response["Persons"] = [cast("PersonMatchTypeDef", item.body) for item in items]
    if token is not None:
        response["NextToken"] = token
    return response
