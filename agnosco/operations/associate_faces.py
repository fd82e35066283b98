"""AssociateFaces: attach indexed faces to a user.

Faces already the user's are ignored; unknown faces, faces of another user, and (once the user
has a face) faces whose best Similarity to the user's faces is under ``UserMatchThreshold``
(default 75) are reported in UnsuccessfulFaceAssociations.  A user holds at most 100 faces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import numpy as np

from agnosco.errors import ServiceQuotaExceededException
from agnosco.operations.context import OperationContext
from agnosco.operations.idempotency import run_once
from agnosco.operations.users import MAX_FACES_PER_USER, user_faces
from agnosco.vision.embedding import descriptor_distance

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import UserStatusType
    from types_boto3_rekognition.type_defs import (
        AssociatedFaceTypeDef,
        AssociateFacesRequestTypeDef,
        UnsuccessfulFaceAssociationTypeDef,
    )


class AssociateFacesResponse(TypedDict, total=False):
    AssociatedFaces: list[AssociatedFaceTypeDef]
    UnsuccessfulFaceAssociations: list[UnsuccessfulFaceAssociationTypeDef]
    UserStatus: UserStatusType


DEFAULT_ASSOCIATE_THRESHOLD = 75.0


def associate_faces(
    request: AssociateFacesRequestTypeDef, context: OperationContext
) -> AssociateFacesResponse:
    """:raises ResourceNotFoundException, ServiceQuotaExceededException, IdempotentParameterMismatchException:"""
    return run_once(context, "AssociateFaces", request, lambda: _associate(request, context))


def _associate(
    request: AssociateFacesRequestTypeDef, context: OperationContext
) -> AssociateFacesResponse:
    collection_id, user_id = request["CollectionId"], request["UserId"]
    threshold = float(request.get("UserMatchThreshold", DEFAULT_ASSOCIATE_THRESHOLD))
    store = context.require_store()
    store.get_user(collection_id, user_id)
    current = user_faces(context, collection_id, user_id)
    if len(current) >= MAX_FACES_PER_USER:
        raise ServiceQuotaExceededException(
            f"User {user_id} already has {MAX_FACES_PER_USER} faces."
        )
    anchors = np.stack([f.descriptor for f in current]) if current else None
    wanted = list(dict.fromkeys(request["FaceIds"]))
    found = {f.face_id: f for f in store.get_faces(collection_id, wanted)}
    associated: list[str] = []
    unsuccessful: list[UnsuccessfulFaceAssociationTypeDef] = []
    room = MAX_FACES_PER_USER - len(current)
    for face_id in wanted:
        face = found.get(face_id)
        if face is None:
            unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.user_id == user_id:
            continue
        elif face.user_id is not None:
            unsuccessful.append(
                {
                    "FaceId": face_id,
                    "UserId": face.user_id,
                    "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"],
                }
            )
        else:
            if anchors is not None:
                similarity = float(
                    context.calibration.similarity(
                        descriptor_distance(anchors, face.descriptor).min()
                    )
                )
                if similarity < threshold:
                    unsuccessful.append(
                        {
                            "FaceId": face_id,
                            "UserId": user_id,
                            "Confidence": similarity,
                            "Reasons": ["LOW_MATCH_CONFIDENCE"],
                        }
                    )
                    continue
            if len(associated) >= room:
                raise ServiceQuotaExceededException(
                    f"User {user_id} would exceed {MAX_FACES_PER_USER} faces."
                )
            associated.append(face_id)
    if associated:
        store.set_face_user(collection_id, associated, user_id)
    return {
        "AssociatedFaces": [{"FaceId": f} for f in associated],
        "UnsuccessfulFaceAssociations": unsuccessful,
        "UserStatus": "ACTIVE" if current or associated else "CREATED",
    }
