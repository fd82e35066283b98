"""CompareFaces: the largest face of the source image against every face of the target.

As Rekognition: only the source's largest face is used; every target face (up to 100)
with Similarity >= ``SimilarityThreshold`` (default 80) is a FaceMatch, best first, the rest
are UnmatchedFaces, largest first.  ``QualityFilter`` (default NONE) drops poor target faces
before comparison; a source face failing it is an error, as is a source with no face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import numpy as np

from agnosco.errors import InvalidParameterException
from agnosco.operations.context import FaceContext
from agnosco.operations.face_detail import bounding_box, compared_face
from agnosco.operations.quality_filter import filter_reasons
from agnosco.vision.embedding import descriptor_distance

DEFAULT_SIMILARITY_THRESHOLD = 80.0

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import OrientationCorrectionType
    from types_boto3_rekognition.type_defs import (
        ComparedFaceTypeDef,
        ComparedSourceImageFaceTypeDef,
        CompareFacesMatchTypeDef,
        CompareFacesRequestTypeDef,
    )


class CompareFacesResponse(TypedDict, total=False):
    SourceImageFace: ComparedSourceImageFaceTypeDef
    FaceMatches: list[CompareFacesMatchTypeDef]
    UnmatchedFaces: list[ComparedFaceTypeDef]
    SourceImageOrientationCorrection: OrientationCorrectionType
    TargetImageOrientationCorrection: OrientationCorrectionType


def compare_faces(
    request: CompareFacesRequestTypeDef, context: FaceContext
) -> CompareFacesResponse:
    """:raises ServiceError: for an invalid request or image, or no usable source face."""
    threshold = float(request.get("SimilarityThreshold", DEFAULT_SIMILARITY_THRESHOLD))
    level = request.get("QualityFilter", "NONE")

    source_image = context.load_image(request["SourceImage"])
    target_image = context.load_image(request["TargetImage"])
    sources = context.analyzer.describe(source_image, max_faces=1)
    if not sources:
        raise InvalidParameterException("No face was detected in the source image.")
    source = sources[0]
    reasons = filter_reasons(source, level, source_image.width, source_image.height)
    if reasons:
        raise InvalidParameterException(
            f"The source face does not pass QualityFilter {level}: {', '.join(reasons)}."
        )
    targets = [
        face
        for face in context.analyzer.describe(target_image)
        if not filter_reasons(face, level, target_image.width, target_image.height)
    ]
    scored: list[tuple[float, ComparedFaceTypeDef]] = []
    unmatched: list[ComparedFaceTypeDef] = []
    if targets:
        distances = descriptor_distance(
            np.stack([t.descriptor for t in targets]), source.descriptor
        )
        similarities = context.calibration.similarity(distances)
        for face, similarity in zip(targets, similarities):
            if similarity >= threshold:
                scored.append((float(similarity), compared_face(face)))
            else:
                unmatched.append(compared_face(face))
    scored.sort(key=lambda match: match[0], reverse=True)
    return {
        "SourceImageFace": {
            "BoundingBox": bounding_box(source.box),
            "Confidence": source.confidence,
        },
        "FaceMatches": [{"Similarity": s, "Face": face} for s, face in scored],
        "UnmatchedFaces": unmatched,
    }
