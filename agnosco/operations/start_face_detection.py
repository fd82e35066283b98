"""StartFaceDetection: a job that detects the faces of a stored video, frame by frame."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.video_jobs import start_job

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartFaceDetectionRequestTypeDef

#: The job kind (the Get that reads it is Get<kind>).
KIND = "FaceDetection"


class StartFaceDetectionResponse(TypedDict, total=False):
    JobId: str


def start_face_detection(
    request: StartFaceDetectionRequestTypeDef, context: OperationContext
) -> StartFaceDetectionResponse:
    """:raises InvalidS3ObjectException, VideoTooLargeException, IdempotentParameterMismatchException:"""
    return {"JobId": start_job(KIND, request, context)}
