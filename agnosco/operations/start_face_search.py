"""StartFaceSearch: a job that looks for a collection's faces among the people of a stored
video.  Identification: governed as SearchFacesByImage is (the same policy keys, threshold
floors and audit), and its Get's matches are what review withholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.collection_faces import require_face_model
from agnosco.operations.context import OperationContext
from agnosco.operations.video_jobs import start_job

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartFaceSearchRequestTypeDef

#: The job kind (GetFaceSearch reads it).
KIND = "FaceSearch"


class StartFaceSearchResponse(TypedDict, total=False):
    JobId: str


def start_face_search(
    request: StartFaceSearchRequestTypeDef, context: OperationContext
) -> StartFaceSearchResponse:
    """:raises ResourceNotFoundException: no such collection.
    :raises InvalidS3ObjectException, VideoTooLargeException, IdempotentParameterMismatchException:"""
    collection = context.require_store().get_collection(request["CollectionId"])
    require_face_model(context, collection)
    return {"JobId": start_job(KIND, request, context)}
