"""GetLabelDetection: a LabelDetection job's state, and once it has succeeded the labels of its
sampled frames, each with its frame's timestamp (milliseconds from the start): by time
(``SortBy=TIMESTAMP``, the default; within a frame, most confident first) or by name
(``NAME``), each frame's labels (``AggregateBy=TIMESTAMPS``, the default) or a label's run of
consecutive frames as one segment (``SEGMENTS``, without instances), as
:mod:`agnosco.operations.frame_analysis` describes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.detect_labels import LABEL_MODEL_VERSION
from agnosco.operations.frame_analysis import BY_TIMESTAMP, BY_TIMESTAMPS, named_arrangement
from agnosco.operations.label_detection_job import SAMPLE_FPS
from agnosco.operations.start_label_detection import KIND
from agnosco.operations.video_jobs import job_results

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import (
        GetLabelDetectionRequestMetadataTypeDef,
        GetLabelDetectionRequestTypeDef,
        LabelDetectionTypeDef,
        VideoMetadataTypeDef,
        VideoTypeDef,
    )


class GetLabelDetectionResponse(TypedDict, total=False):
    JobStatus: VideoJobStatusType
    StatusMessage: str
    VideoMetadata: VideoMetadataTypeDef
    NextToken: str
    Labels: list[LabelDetectionTypeDef]
    LabelModelVersion: str
    JobId: str
    Video: VideoTypeDef
    JobTag: str
    GetRequestMetadata: GetLabelDetectionRequestMetadataTypeDef


def get_label_detection(
    request: GetLabelDetectionRequestTypeDef, context: OperationContext
) -> GetLabelDetectionResponse:
    """``GetRequestMetadata`` says the order and aggregation answered (the defaults filled in);
    a NextToken is good only for the ones that issued it.

    :raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    sort_by = request.get("SortBy", BY_TIMESTAMP)
    aggregate_by = request.get("AggregateBy", BY_TIMESTAMPS)
    arrangement = named_arrangement(
        "Label", sort_by, aggregate_by, fps=SAMPLE_FPS, drop=("Instances",)
    )
    response = job_results(KIND, "Labels", request, context, arrangement)
    response.setdefault("LabelModelVersion", LABEL_MODEL_VERSION)
    response["GetRequestMetadata"] = {"SortBy": sort_by, "AggregateBy": aggregate_by}
    return cast("GetLabelDetectionResponse", response)
