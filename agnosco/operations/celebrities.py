"""Recognizing the deployment's public figures in faces: what RecognizeCelebrities does to one
image, and what a video's celebrity recognition does to each decoded frame.

The faces of an image (the 64 largest, as Rekognition documents) are described by the face
pipeline, and each face's descriptor is compared with every descriptor of every celebrity the
deployer enrolled (:mod:`agnosco.storage.celebrities`) made by this deployment's face model.
A face is the celebrity whose closest enrolled descriptor is the most similar, when that
calibrated Similarity (``docs/similarity.md``) is at least :data:`CELEBRITY_MATCH_THRESHOLD`;
``MatchConfidence`` is that Similarity.  Every other face is unrecognized.

The threshold is the engine's, not the caller's: Rekognition's request has no threshold
member.  It is 99, where the calibration promises a false-match rate of 1e-5 per pair of adults
(measured 6.9e-7 on lfw-dev, 4.0e-5 on UTKFace's adults): a face is compared with every
enrolled image, so its chance of being taken for *someone* grows with their number; at 99 and
a thousand enrolled images about one stranger's face in 25 (UTKFace's adults' rate) to one in
1,500 (lfw-dev's) would be named as someone, where at 95 (1e-4) it would be one in six to one in
ninety.  It is
also the moratorium's floor for police identification.  The price is missed recognitions
(``docs/analysis.md``): enrol several images of each person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from agnosco.errors import InternalServerError, InvalidParameterException
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import compared_face
from agnosco.storage.celebrities import CelebrityDescriptors, CelebrityStore
from agnosco.vision.image import DecodedImage
from agnosco.vision.pipeline import DescribedFace

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import KnownGenderTypeType
    from types_boto3_rekognition.type_defs import (
        CelebrityTypeDef,
        ComparedFaceTypeDef,
        KnownGenderTypeDef,
    )

#: The Similarity a face must reach to be named a celebrity (see the module docstring).
CELEBRITY_MATCH_THRESHOLD = 99.0
#: RecognizeCelebrities returns the 64 largest faces of an image (the model's documentation).
MAX_CELEBRITY_FACES = 64


@dataclass(frozen=True)
class CelebrityMatch:
    """The celebrity one face is, and how similar it is to their closest enrolled face."""

    celebrity_id: str
    similarity: float


@dataclass(frozen=True)
class Recognized:
    """What RecognizeCelebrities answers for one image or frame: the recognized faces (best
    match first) and the others (largest first)."""

    celebrity_faces: list[CelebrityTypeDef]
    unrecognized_faces: list[ComparedFaceTypeDef]


def require_celebrities(context: OperationContext) -> CelebrityStore:
    if context.celebrities is None:
        raise InternalServerError("This operation needs the celebrity store; none is configured.")
    return context.celebrities


def enrolled_descriptors(context: OperationContext) -> CelebrityDescriptors:
    """Every enrolled descriptor of this deployment's face model: what a video job reads once
    and hands to :func:`match_faces` for each of its frames."""
    model = context.face_model
    return require_celebrities(context).descriptors(model.version, model.descriptor.size)


def match_faces(
    faces: Sequence[DescribedFace],
    context: OperationContext,
    threshold: float = CELEBRITY_MATCH_THRESHOLD,
    enrolled: CelebrityDescriptors | None = None,
) -> list[CelebrityMatch | None]:
    """For each face, the celebrity it is (Similarity >= ``threshold``), else None; against
    ``enrolled`` when given (read once for many frames), else the store as it is now."""
    if not faces:
        return []
    enrolled = enrolled if enrolled is not None else enrolled_descriptors(context)
    if not enrolled.owners:
        return [None] * len(faces)
    probes = np.stack([face.descriptor for face in faces]).astype(np.float32)
    gallery = enrolled.vectors
    # Euclidean distances of every face to every enrolled descriptor, without a faces x
    # gallery x 128 array: |a|^2 + |b|^2 - 2ab.
    squared = (
        np.sum(probes**2, axis=1)[:, None]
        + np.sum(gallery**2, axis=1)[None, :]
        - 2.0 * probes @ gallery.T
    )
    distances = np.sqrt(np.maximum(squared, 0.0))
    nearest = np.argmin(distances, axis=1)
    similarities = context.calibration.similarity(distances[np.arange(len(faces)), nearest])
    out: list[CelebrityMatch | None] = []
    for index, similarity in zip(nearest, similarities, strict=True):
        if float(similarity) >= threshold:
            out.append(CelebrityMatch(enrolled.owners[int(index)], float(similarity)))
        else:
            out.append(None)
    return out


def celebrity_face(face: DescribedFace) -> ComparedFaceTypeDef:
    """A face as RecognizeCelebrities reports it: CompareFaces' ComparedFace (box, detector
    confidence, five landmarks, pose, quality) and the Smile the engine estimates.  No
    Emotions: Agnosco reads no emotion (``docs/face-attributes.md``)."""
    shape = compared_face(face)
    if face.attributes is not None:
        smile = face.attributes.smile
        shape["Smile"] = {"Value": smile.value, "Confidence": smile.confidence}
    return shape


def known_gender(value: str | None) -> KnownGenderTypeDef | None:
    """The deployer's statement as the model's KnownGender, or None when they stated none."""
    return {"Type": cast("KnownGenderTypeType", value)} if value else None


def recognize_faces(
    faces: Sequence[DescribedFace],
    context: OperationContext,
    enrolled: CelebrityDescriptors | None = None,
) -> Recognized:
    """The celebrities among already described faces (a decoded frame's): what
    :func:`recognize_image` answers once the faces are found (``enrolled``: as
    :func:`match_faces`)."""
    store = require_celebrities(context)
    matches = match_faces(faces, context, enrolled=enrolled)
    found: list[tuple[float, CelebrityTypeDef]] = []
    unrecognized: list[ComparedFaceTypeDef] = []
    people = store.find({m.celebrity_id for m in matches if m is not None})
    for face, match in zip(faces, matches, strict=True):
        person = people.get(match.celebrity_id) if match is not None else None
        if match is None or person is None:  # None: removed since the descriptors were read
            unrecognized.append(celebrity_face(face))
            continue
        celebrity: CelebrityTypeDef = {
            "Urls": list(person.urls),
            "Name": person.name,
            "Id": person.celebrity_id,
            "Face": celebrity_face(face),
            "MatchConfidence": match.similarity,
        }
        gender = known_gender(person.known_gender)
        if gender is not None:
            celebrity["KnownGender"] = gender
        found.append((match.similarity, celebrity))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return Recognized([celebrity for _, celebrity in found], unrecognized)


def recognize_image(image: DecodedImage, context: OperationContext) -> Recognized:
    """The celebrities in one decoded image or video frame: its 64 largest faces, described
    once, matched against the deployment's celebrities."""
    faces = context.analyzer.describe(image, attributes=True, max_faces=MAX_CELEBRITY_FACES)
    return recognize_faces(faces, context)


def enrolment_descriptor(image: DecodedImage, context: OperationContext, label: str) -> np.ndarray:
    """The descriptor of the one face of an image a celebrity is enrolled from.

    :raises InvalidParameterException: the image shows no face, or more than one (whose would
        it be?)."""
    faces = context.analyzer.describe(image, max_faces=2)
    if len(faces) != 1:
        found = "no face" if not faces else "more than one face"
        raise InvalidParameterException(
            f"{label} shows {found}; each image of a celebrity must show exactly their face."
        )
    return faces[0].descriptor
