"""IndexFaces: detect faces in an image and store their metadata in a collection, atomically.

Faces failing ``QualityFilter`` (default AUTO) are returned as UnindexedFaces with their
reasons; of the rest, the ``MaxFaces`` largest are indexed and the others are unindexed with
``EXCEEDS_MAX_FACES``.  Every face of one call is written in one transaction, so a failed call
leaves nothing behind.  The ImageId is derived from the image's SHA-256, and indexing the same
image with the same ExternalImageId again stores nothing new and returns the faces already
stored, as Rekognition does; a retried call after a timeout is therefore harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from agnosco.operations.collection_faces import face_shape, require_face_model
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import face_detail, requested_attributes
from agnosco.operations.quality_filter import filter_reasons
from agnosco.storage.base import Collection, FaceRecord
from agnosco.vision.pipeline import DescribedFace

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import OrientationCorrectionType
    from types_boto3_rekognition.type_defs import (
        FaceRecordTypeDef,
        IndexFacesRequestTypeDef,
        UnindexedFaceTypeDef,
    )


class IndexFacesResponse(TypedDict, total=False):
    FaceRecords: list[FaceRecordTypeDef]
    OrientationCorrection: OrientationCorrectionType
    FaceModelVersion: str
    UnindexedFaces: list[UnindexedFaceTypeDef]


_IMAGE_NAMESPACE = uuid.UUID("7d5f2a8c-8a43-4f0e-9a51-3f4f6f7a9b10")


def image_id_for(sha256: str, external_image_id: str | None) -> str:
    """The deterministic ImageId of an image (by its SHA-256) indexed under an ExternalImageId."""
    return str(uuid.uuid5(_IMAGE_NAMESPACE, f"{sha256}/{external_image_id or ''}"))


#: A stored face and a face analysed now are the same face of the image above this overlap.
SAME_FACE_IOU = 0.5


def _stored_record_of(face: DescribedFace, stored: list[FaceRecord]) -> FaceRecord | None:
    """The stored record of the image whose box overlaps ``face``'s most (IoU above
    :data:`SAME_FACE_IOU`), or None."""
    best, best_iou = None, SAME_FACE_IOU
    box = face.box
    for record in stored:
        iw = min(box.left + box.width, record.left + record.width) - max(box.left, record.left)
        ih = min(box.top + box.height, record.top + record.height) - max(box.top, record.top)
        inter = max(iw, 0.0) * max(ih, 0.0)
        union = box.width * box.height + record.width * record.height - inter
        iou = inter / union if union > 0 else 0.0
        if iou > best_iou:
            best, best_iou = record, iou
    return best


def index_faces(request: IndexFacesRequestTypeDef, context: OperationContext) -> IndexFacesResponse:
    """:raises ResourceNotFoundException: no such collection.
    :raises ServiceError: an invalid image (see :func:`decode_image`)."""
    store = context.require_store()
    collection = store.get_collection(request["CollectionId"])
    attributes = requested_attributes(request.get("DetectionAttributes"))
    image = context.load_image(request["Image"])
    faces = context.analyzer.describe(image, attributes=bool(attributes))
    return index_analysis(
        request, context, collection, image.sha256, image.width, image.height, faces
    )


def index_analysis(
    request: Mapping[str, Any],
    context: OperationContext,
    collection: Collection,
    sha256: str,
    width: int,
    height: int,
    faces: list[DescribedFace],
) -> IndexFacesResponse:
    """The second half of IndexFaces: filter an image's analysed faces, store them atomically
    and answer.  ``faces`` come from ``describe()``, largest first, with
    attributes when the request's DetectionAttributes asks for them; ``width`` and ``height``
    are the image's size in pixels.  Bulk indexing (:mod:`agnosco.bulk`) analyses images in
    worker processes and stores them through this function, so both paths behave alike."""
    require_face_model(context, collection)
    collection_id = collection.collection_id
    store = context.require_store()
    attributes = requested_attributes(request.get("DetectionAttributes"))
    external_id = request.get("ExternalImageId")
    level = request.get("QualityFilter", "AUTO")
    max_faces = request.get("MaxFaces")
    image_id = image_id_for(sha256, external_id)

    unindexed: list[UnindexedFaceTypeDef] = []
    kept: list[DescribedFace] = []
    for face in faces:  # largest first
        reasons = filter_reasons(face, level, width, height)
        if not reasons and max_faces is not None and len(kept) >= max_faces:
            reasons = ["EXCEEDS_MAX_FACES"]
        if reasons:
            unindexed.append({"Reasons": reasons, "FaceDetail": face_detail(face, attributes)})
        else:
            kept.append(face)

    # The same image under the same ExternalImageId again: a face already stored is returned,
    # never stored twice; one this call keeps that an earlier call did not (another MaxFaces or
    # QualityFilter) is stored now.  Faces are told apart by where they are in the image.
    unmatched = store.faces_of_image(collection_id, image_id) if kept else []
    now = context.clock()
    records, new = [], []
    for face in kept:
        stored = _stored_record_of(face, unmatched)
        if stored is not None:
            unmatched.remove(stored)
            records.append(stored)
            continue
        record = FaceRecord(
            face_id=str(uuid.uuid4()),
            image_id=image_id,
            external_image_id=external_id,
            left=face.box.left,
            top=face.box.top,
            width=face.box.width,
            height=face.box.height,
            confidence=face.confidence,
            descriptor=face.descriptor,
            indexed_at=now,
            consent_ref=context.consent_reference,
        )
        records.append(record)
        new.append(record)
    if new:
        requester = context.requester
        store.add_faces(
            collection_id,
            new,
            principal=requester.principal if requester else None,
            face_limit=requester.face_quota if requester else None,
        )
    details = [face_detail(face, attributes) for face in kept]
    return {
        "FaceRecords": [
            {"Face": face_shape(record, collection.face_model_version), "FaceDetail": detail}
            for record, detail in zip(records, details)
        ],
        "FaceModelVersion": collection.face_model_version,
        "UnindexedFaces": unindexed,
    }
