"""DeleteFaces: remove faces; a face still associated to a user is kept and reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import (
        DeleteFacesRequestTypeDef,
        UnsuccessfulFaceDeletionTypeDef,
    )


class DeleteFacesResponse(TypedDict, total=False):
    DeletedFaces: list[str]
    UnsuccessfulFaceDeletions: list[UnsuccessfulFaceDeletionTypeDef]


def delete_faces(
    request: DeleteFacesRequestTypeDef, context: OperationContext
) -> DeleteFacesResponse:
    """:raises ResourceNotFoundException: no such collection."""
    collection_id = request["CollectionId"]
    store = context.require_store()
    wanted = list(dict.fromkeys(request["FaceIds"]))
    found = {f.face_id: f for f in store.get_faces(collection_id, wanted)}
    unsuccessful: list[UnsuccessfulFaceDeletionTypeDef] = []
    deletable = []
    for face_id in wanted:
        face = found.get(face_id)
        if face is None:
            unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.user_id is not None:
            unsuccessful.append(
                {
                    "FaceId": face_id,
                    "UserId": face.user_id,
                    "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"],
                }
            )
        else:
            deletable.append(face_id)
    deleted = (
        store.delete_faces(collection_id, deletable, when=context.clock()) if deletable else []
    )
    response: DeleteFacesResponse = {"DeletedFaces": deleted}
    if unsuccessful:
        response["UnsuccessfulFaceDeletions"] = unsuccessful
    return response
