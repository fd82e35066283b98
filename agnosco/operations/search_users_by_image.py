"""SearchUsersByImage: users matching the largest face of an image.

Unlike SearchFacesByImage, an image without a usable face is not an error: the response has
no SearchedFace and empty UserMatches, and every other face is listed as unsearched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agnosco.operations.collection_faces import require_face_model
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import face_detail
from agnosco.operations.quality_filter import filter_reasons
from agnosco.operations.users import DEFAULT_USER_MATCH_THRESHOLD, MAX_USERS, match_users

if TYPE_CHECKING:  # the API's request shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import SearchUsersByImageRequestTypeDef


def search_users_by_image(
    request: SearchUsersByImageRequestTypeDef, context: OperationContext
) -> dict[str, Any]:
    """:raises ResourceNotFoundException: no such collection.
    :raises ServiceError: an invalid image."""
    collection_id = request["CollectionId"]
    collection = context.require_store().get_collection(collection_id)
    require_face_model(context, collection)
    image = context.load_image(request["Image"])
    faces = context.analyzer.describe(image)
    level = request.get("QualityFilter", "NONE")
    response: dict[str, Any] = {
        "FaceModelVersion": collection.face_model_version,
        "UserMatches": [],
    }
    unsearched = []
    for i, face in enumerate(faces):  # largest first
        reasons = filter_reasons(face, level, image.width, image.height)
        if i > 0:
            reasons = ["FACE_NOT_LARGEST", *reasons]
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
