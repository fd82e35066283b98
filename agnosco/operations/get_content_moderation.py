"""GetContentModeration: a ContentModeration job's state, and once it has succeeded the moderation
labels of its sampled frames, each with its frame's timestamp (milliseconds from the start): by
time (``SortBy=TIMESTAMP``, the default) or by name (``NAME``), each frame's labels
(``AggregateBy=TIMESTAMPS``, the default) or a label's run of consecutive frames as one segment
(``SEGMENTS``), as :mod:`agnosco.operations.frame_analysis` describes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.content_moderation_job import SAMPLE_FPS
from agnosco.operations.context import OperationContext
from agnosco.operations.frame_analysis import BY_TIMESTAMP, BY_TIMESTAMPS, named_arrangement
from agnosco.operations.start_content_moderation import KIND
from agnosco.operations.video_jobs import job_results
from agnosco.vision.moderation import MODERATION_MODEL_VERSION

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import (
        ContentModerationDetectionTypeDef,
        GetContentModerationRequestMetadataTypeDef,
        GetContentModerationRequestTypeDef,
        VideoMetadataTypeDef,
        VideoTypeDef,
    )


class GetContentModerationResponse(TypedDict, total=False):
    JobStatus: VideoJobStatusType
    StatusMessage: str
    VideoMetadata: VideoMetadataTypeDef
    ModerationLabels: list[ContentModerationDetectionTypeDef]
    NextToken: str
    ModerationModelVersion: str
    JobId: str
    Video: VideoTypeDef
    JobTag: str
    GetRequestMetadata: GetContentModerationRequestMetadataTypeDef


def get_content_moderation(
    request: GetContentModerationRequestTypeDef, context: OperationContext
) -> GetContentModerationResponse:
    """``GetRequestMetadata`` says the order and aggregation answered (the defaults filled in);
    a NextToken is good only for the ones that issued it.

    :raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    sort_by = request.get("SortBy", BY_TIMESTAMP)
    aggregate_by = request.get("AggregateBy", BY_TIMESTAMPS)
    arrangement = named_arrangement("ModerationLabel", sort_by, aggregate_by, fps=SAMPLE_FPS)
    response = job_results(KIND, "ModerationLabels", request, context, arrangement)
    response.setdefault("ModerationModelVersion", MODERATION_MODEL_VERSION)
    response["GetRequestMetadata"] = {"SortBy": sort_by, "AggregateBy": aggregate_by}
    return cast("GetContentModerationResponse", response)
