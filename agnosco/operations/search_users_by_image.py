"""SearchUsersByImage: users matching the largest face of an image.

Unlike SearchFacesByImage, an image without a usable face is not an error: the response has
no SearchedFace and empty UserMatches, and every other face is listed as unsearched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.collection_faces import require_face_model
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import face_detail
from agnosco.operations.quality_filter import filter_reasons
from agnosco.operations.users import DEFAULT_USER_MATCH_THRESHOLD, MAX_USERS, match_users

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import UnsearchedFaceReasonType
    from types_boto3_rekognition.type_defs import (
        SearchedFaceDetailsTypeDef,
        SearchUsersByImageRequestTypeDef,
        UnsearchedFaceTypeDef,
        UserMatchTypeDef,
    )


class SearchUsersByImageResponse(TypedDict, total=False):
    UserMatches: list[UserMatchTypeDef]
    FaceModelVersion: str
    SearchedFace: SearchedFaceDetailsTypeDef
    UnsearchedFaces: list[UnsearchedFaceTypeDef]


def search_users_by_image(
    request: SearchUsersByImageRequestTypeDef, context: OperationContext
) -> SearchUsersByImageResponse:
    """:raises ResourceNotFoundException: no such collection.
    :raises ServiceError: an invalid image."""
    collection_id = request["CollectionId"]
    collection = context.require_store().get_collection(collection_id)
    require_face_model(context, collection)
    image = context.load_image(request["Image"])
    faces = context.analyzer.describe(image)
    level = request.get("QualityFilter", "NONE")
    response: SearchUsersByImageResponse = {
        "FaceModelVersion": collection.face_model_version,
        "UserMatches": [],
    }
    unsearched: list[UnsearchedFaceTypeDef] = []
    for i, face in enumerate(faces):  # largest first
        reasons: list[UnsearchedFaceReasonType] = [
            *filter_reasons(face, level, image.width, image.height)
        ]
        if i > 0:
            reasons.insert(0, "FACE_NOT_LARGEST")
        if reasons:
            unsearched.append({"FaceDetails": face_detail(face, set()), "Reasons": reasons})
    if faces and not filter_reasons(faces[0], level, image.width, image.height):
        face = faces[0]
        response["SearchedFace"] = {"FaceDetail": face_detail(face, set())}
        response["UserMatches"] = match_users(
            context,
            collection_id,
            [face.descriptor],
            float(request.get("UserMatchThreshold", DEFAULT_USER_MATCH_THRESHOLD)),
            request.get("MaxUsers", MAX_USERS),
        )
    response["UnsearchedFaces"] = unsearched
    return response
