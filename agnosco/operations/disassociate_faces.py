"""DisassociateFaces: detach faces from a user (the faces stay indexed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.idempotency import run_once
from agnosco.operations.users import user_faces

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import UserStatusType
    from types_boto3_rekognition.type_defs import (
        DisassociatedFaceTypeDef,
        DisassociateFacesRequestTypeDef,
        UnsuccessfulFaceDisassociationTypeDef,
    )


class DisassociateFacesResponse(TypedDict, total=False):
    DisassociatedFaces: list[DisassociatedFaceTypeDef]
    UnsuccessfulFaceDisassociations: list[UnsuccessfulFaceDisassociationTypeDef]
    UserStatus: UserStatusType


def disassociate_faces(
    request: DisassociateFacesRequestTypeDef, context: OperationContext
) -> DisassociateFacesResponse:
    """:raises ResourceNotFoundException, IdempotentParameterMismatchException:"""
    return run_once(context, "DisassociateFaces", request, lambda: _disassociate(request, context))


def _disassociate(
    request: DisassociateFacesRequestTypeDef, context: OperationContext
) -> DisassociateFacesResponse:
    collection_id, user_id = request["CollectionId"], request["UserId"]
    store = context.require_store()
    store.get_user(collection_id, user_id)
    wanted = list(dict.fromkeys(request["FaceIds"]))
    found = {f.face_id: f for f in store.get_faces(collection_id, wanted)}
    done: list[str] = []
    unsuccessful: list[UnsuccessfulFaceDisassociationTypeDef] = []
    for face_id in wanted:
        face = found.get(face_id)
        if face is None:
            unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.user_id == user_id:
            done.append(face_id)
        elif face.user_id is not None:
            unsuccessful.append(
                {
                    "FaceId": face_id,
                    "UserId": face.user_id,
                    "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"],
                }
            )
    if done:
        store.set_face_user(collection_id, done, None)
    remaining = user_faces(context, collection_id, user_id)
    return {
        "DisassociatedFaces": [{"FaceId": f} for f in done],
        "UnsuccessfulFaceDisassociations": unsuccessful,
        "UserStatus": "ACTIVE" if remaining else "CREATED",
    }
