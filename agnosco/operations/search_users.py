"""SearchUsers: users similar to an indexed face or to another user's faces."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.errors import InvalidParameterException, ResourceNotFoundException
from agnosco.operations.context import OperationContext
from agnosco.operations.users import (
    DEFAULT_USER_MATCH_THRESHOLD,
    MAX_USERS,
    match_users,
    user_faces,
)

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import (
        SearchedFaceTypeDef,
        SearchedUserTypeDef,
        SearchUsersRequestTypeDef,
        UserMatchTypeDef,
    )


class SearchUsersResponse(TypedDict, total=False):
    UserMatches: list[UserMatchTypeDef]
    FaceModelVersion: str
    SearchedFace: SearchedFaceTypeDef
    SearchedUser: SearchedUserTypeDef


def search_users(
    request: SearchUsersRequestTypeDef, context: OperationContext
) -> SearchUsersResponse:
    """:raises InvalidParameterException: not exactly one of FaceId and UserId.
    :raises ResourceNotFoundException: no such collection, face or user."""
    collection_id = request["CollectionId"]
    face_id, user_id = request.get("FaceId"), request.get("UserId")
    if (face_id is None) == (user_id is None):
        raise InvalidParameterException("The request must be provided with either FaceId or UserId")
    store = context.require_store()
    collection = store.get_collection(collection_id)
    response: SearchUsersResponse = {"FaceModelVersion": collection.face_model_version}
    if user_id is None:
        assert face_id is not None  # exactly one of them, checked above
        faces = store.get_faces(collection_id, [face_id])
        if not faces:
            raise ResourceNotFoundException(
                f"The face id: {face_id} does not exist in collection {collection_id}"
            )
        probes = [faces[0].descriptor]
        response["SearchedFace"] = {"FaceId": face_id}
    else:
        store.get_user(collection_id, user_id)
        probes = [f.descriptor for f in user_faces(context, collection_id, user_id)]
        response["SearchedUser"] = {"UserId": user_id}
    response["UserMatches"] = match_users(
        context,
        collection_id,
        probes,
        float(request.get("UserMatchThreshold", DEFAULT_USER_MATCH_THRESHOLD)),
        request.get("MaxUsers", MAX_USERS),
        exclude_user=user_id,
    )
    return response
