"""RecognizeCelebrities: the deployment's public figures among the 64 largest faces of an image.

Only the people the deployer enrolled (``agnosco celebrities add``) are recognized, at the
engine's threshold (:data:`~agnosco.operations.celebrities.CELEBRITY_MATCH_THRESHOLD`:
Similarity 99); ``MatchConfidence`` is the calibrated Similarity of the face to the closest
enrolled image of that person, and ``KnownGender`` appears only where the deployer stated it.
It is identification, governed as SearchFacesByImage is (its Traits).  ``OrientationCorrection``
is never returned: Rekognition stopped estimating it in August 2021 (the model's documentation)
and the image is turned upright by its Exif orientation before analysis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.celebrities import recognize_image
from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import OrientationCorrectionType
    from types_boto3_rekognition.type_defs import (
        CelebrityTypeDef,
        ComparedFaceTypeDef,
        RecognizeCelebritiesRequestTypeDef,
    )


class RecognizeCelebritiesResponse(TypedDict, total=False):
    CelebrityFaces: list[CelebrityTypeDef]
    UnrecognizedFaces: list[ComparedFaceTypeDef]
    OrientationCorrection: OrientationCorrectionType


def recognize_celebrities(
    request: RecognizeCelebritiesRequestTypeDef, context: OperationContext
) -> RecognizeCelebritiesResponse:
    """:raises ServiceError: for an invalid, unsupported or oversized image."""
    recognized = recognize_image(context.load_image(request["Image"]), context)
    return {
        "CelebrityFaces": recognized.celebrity_faces,
        "UnrecognizedFaces": recognized.unrecognized_faces,
    }
