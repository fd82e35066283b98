"""StartCelebrityRecognition: a job that recognizes the deployment's public figures in a stored
video's sampled frames (:mod:`agnosco.operations.celebrity_recognition_job`).  Identification,
governed as RecognizeCelebrities is (the same engine threshold, policy keys, moratorium and
floors), and its Get's ``Celebrities`` are what review withholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.celebrities import require_celebrities
from agnosco.operations.context import OperationContext
from agnosco.operations.video_jobs import start_job

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartCelebrityRecognitionRequestTypeDef

#: The job kind (GetCelebrityRecognition reads it).
KIND = "CelebrityRecognition"


class StartCelebrityRecognitionResponse(TypedDict, total=False):
    JobId: str


def start_celebrity_recognition(
    request: StartCelebrityRecognitionRequestTypeDef, context: OperationContext
) -> StartCelebrityRecognitionResponse:
    """:raises InvalidS3ObjectException, VideoTooLargeException,
    IdempotentParameterMismatchException, InvalidParameterException:"""
    require_celebrities(context)  # a deployment without the store refuses before storing a job
    return {"JobId": start_job(KIND, request, context)}
