"""StartLabelDetection: a job that labels what is seen in a stored video's sampled frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.video_jobs import start_job

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartLabelDetectionRequestTypeDef

#: The job kind (the Get that reads it is Get<kind>).
KIND = "LabelDetection"


class StartLabelDetectionResponse(TypedDict, total=False):
    JobId: str


def start_label_detection(
    request: StartLabelDetectionRequestTypeDef, context: OperationContext
) -> StartLabelDetectionResponse:
    """``MinConfidence`` (0-100, default 50), ``Features`` (``GENERAL_LABELS``, the only video
    feature the model has) and ``Settings.GeneralLabels`` (DetectLabels' filters, by exact
    name or category) are checked against the model before any job is stored; nothing else in
    them can be wrong.

    :raises InvalidParameterException, InvalidS3ObjectException, VideoTooLargeException,
        IdempotentParameterMismatchException:"""
    return {"JobId": start_job(KIND, request, context)}
