"""What the collection operations share: the Face shape, face search, and the limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agnosco.errors import InvalidParameterException
from agnosco.operations.context import OperationContext
from agnosco.storage.base import Collection, FaceRecord

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import FaceMatchTypeDef, FaceTypeDef

DEFAULT_FACE_MATCH_THRESHOLD = 80.0
#: Rekognition documents no default MaxFaces for searches; Agnosco returns up to the maximum.
MAX_SEARCH_FACES = 4096
#: Rekognition documents no default page size; Agnosco uses this where MaxResults is absent.
DEFAULT_PAGE_SIZE = 1000


def require_face_model(context: OperationContext, collection: Collection) -> None:
    """Faces analysed here may be added to or searched in ``collection`` only if its descriptors
    are this deployment's model's (another model's lie in another space).

    :raises InvalidParameterException: the collection was made with another face model."""
    if collection.face_model_version != context.face_model.version:
        raise InvalidParameterException(
            f"The collection {collection.collection_id} holds faces of face model version "
            f"{collection.face_model_version}; this deployment analyses faces with version "
            f"{context.face_model.version}, whose descriptors cannot be compared with them."
        )


def face_shape(record: FaceRecord, face_model_version: str) -> FaceTypeDef:
    """A Rekognition ``Face`` of a collection made with ``face_model_version``."""
    face: FaceTypeDef = {
        "FaceId": record.face_id,
        "BoundingBox": {
            "Width": record.width,
            "Height": record.height,
            "Left": record.left,
            "Top": record.top,
        },
        "ImageId": record.image_id,
        "Confidence": record.confidence,
        "IndexFacesModelVersion": face_model_version,
    }
    if record.external_image_id is not None:
        face["ExternalImageId"] = record.external_image_id
    if record.user_id is not None:
        face["UserId"] = record.user_id
    return face


def search_collection(
    context: OperationContext,
    collection: Collection,
    descriptor: np.ndarray,
    threshold: float,
    max_faces: int,
    exclude_face_id: str | None = None,
) -> list[FaceMatchTypeDef]:
    """``FaceMatches`` for a descriptor: Similarity >= threshold, best first, at most max_faces."""
    max_distance = context.calibration.distance_at(threshold)
    collection_id = collection.collection_id
    hits = context.require_store().search(
        collection_id, descriptor, max_faces, max_distance, exclude_face_id=exclude_face_id
    )
    matches: list[FaceMatchTypeDef] = []
    matched: list[str] = []
    for hit in hits:
        similarity = float(context.calibration.similarity(hit.distance))
        if similarity >= threshold:
            matches.append(
                {
                    "Similarity": similarity,
                    "Face": face_shape(hit.face, collection.face_model_version),
                }
            )
            matched.append(hit.face.face_id)
    # Retention can count from a face's last match ("delete if unmatched for N days").
    context.require_store().touch_faces(collection_id, matched, context.clock())
    return matches
