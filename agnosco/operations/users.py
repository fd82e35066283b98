"""What the user operations share: user similarity and the per-user limits.

A user's Similarity to a probe is the best Similarity between the probe and any face
associated to the user (a user is the set of its faces; no averaged "user vector" is kept).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agnosco.operations.context import OperationContext
from agnosco.storage.base import FaceRecord, UserRecord

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import UserMatchTypeDef

DEFAULT_USER_MATCH_THRESHOLD = 80.0
MAX_FACES_PER_USER = 100
MAX_USERS = 500


def user_status(store_user: UserRecord, face_count: int) -> str:
    return "ACTIVE" if face_count else "CREATED"


def user_faces(context: OperationContext, collection_id: str, user_id: str) -> list[FaceRecord]:
    return (
        context.require_store()
        .list_faces(collection_id, None, MAX_FACES_PER_USER + 1, user_id=user_id)
        .items
    )


def match_users(
    context: OperationContext,
    collection_id: str,
    probes: list[np.ndarray],
    threshold: float,
    max_users: int,
    exclude_user: str | None = None,
) -> list[UserMatchTypeDef]:
    """``UserMatches`` for probe descriptors: users whose best face Similarity >= threshold."""
    store = context.require_store()
    max_distance = context.calibration.distance_at(threshold)
    best: dict[str, float] = {}
    matched_faces = []
    for probe in probes:
        for hit in store.search(collection_id, probe, 4096, max_distance):
            user = hit.face.user_id
            if user is None or user == exclude_user:
                continue
            similarity = float(context.calibration.similarity(hit.distance))
            best[user] = max(best.get(user, 0.0), similarity)
            if similarity >= threshold:
                matched_faces.append(hit.face.face_id)
    store.touch_faces(collection_id, matched_faces, context.clock())
    ranked = sorted(
        ((s, u) for u, s in best.items() if s >= threshold), key=lambda x: (-x[0], x[1])
    )
    return [
        {"Similarity": s, "User": {"UserId": u, "UserStatus": "ACTIVE"}}
        for s, u in ranked[:max_users]
    ]
