"""Rekognition's QualityFilter: which faces are too poor to compare, index or search.

``NONE`` keeps every face.  ``AUTO`` lets the service choose; Agnosco's AUTO is MEDIUM.
Each level has bars; a face failing any of them is filtered with the matching Rekognition
``Reason``.  The bars were measured, not guessed: ``tools/measure_quality_bars.py`` degrades
one side of LFW genuine pairs in steps (size, blur, darkness, over-exposure; natural pose
and confidence) and reads, for each measure the pipeline reports, where genuine pairs stop
matching at Similarity 80.  A face fails a level where the false non-match rate (FNMR) at
its measured quality exceeds: LOW 50% (matching mostly fails), MEDIUM the clean FNMR + 10
points, HIGH the clean FNMR + 3 points.  ``docs/quality-filter.md`` has the tables, the rule
and what is not measured.  The bars, per level (LOW, MEDIUM = AUTO, HIGH):

==============================  ======  ======  ======  =====================
measure                          LOW     MEDIUM  HIGH    Reason
==============================  ======  ======  ======  =====================
detector confidence, min         0       94      99      LOW_CONFIDENCE
face box short side, min px      16      23      28      SMALL_BOUNDING_BOX
Brightness, min                  2       4       9       LOW_BRIGHTNESS
Brightness, max (over-exposed)   97      80      68      LOW_FACE_QUALITY
Sharpness, min                   7       20      41      LOW_SHARPNESS
|Yaw|, max                       75      75      45      EXTREME_POSE
Pitch up / down, max             75/75   75/75   45/30   EXTREME_POSE
==============================  ======  ======  ======  =====================

The pose bars are judgment, not an FNMR rise: lfw-dev's natural poses show none up to its
largest |yaw| (67), so nothing measured says where turned faces stop matching; LOW and MEDIUM
drop only faces beyond 75, and HIGH keeps what lfw-dev has enough of to vouch for (|yaw| up to
45, its p99; pitch down to 30, past which its few pairs miss more often).

A face passes a minimum it equals and a maximum it equals.  Box sides are in pixels of the
image as sent.  Pitch is positive when the face tilts up (:mod:`agnosco.vision.pose`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agnosco.vision import quality as _quality
from agnosco.vision.pipeline import FaceAnalysis
from agnosco.vision.quality import Quality

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import ReasonType

#: LOW_SHARPNESS judges a dim face's Sharpness as if it were lit to this Brightness: the
#: variance of the Laplacian behind Sharpness grows with the square of the face's contrast, so
#: a sharp face at Brightness 14 reads ~10 times less sharp than the same face at 45 and would
#: be dropped as blurred although it matches as well (docs/quality-filter.md, darkness table).
SHARPNESS_REFERENCE_BRIGHTNESS = 40.0
#: Below this Brightness the compensation stops growing (quantisation and noise dominate);
#: such faces fail LOW_BRIGHTNESS at MEDIUM and HIGH anyway.
_MIN_COMPENSATED_BRIGHTNESS = 10.0


@dataclass(frozen=True)
class QualityBar:
    """The bars of one level: a face fails each minimum below it and each maximum above it."""

    confidence: float  # detector confidence 0-100 -> LOW_CONFIDENCE
    min_side_px: float  # short side of the face box -> SMALL_BOUNDING_BOX
    brightness: float  # Quality.Brightness -> LOW_BRIGHTNESS
    max_brightness: float  # Quality.Brightness, over-exposed -> LOW_FACE_QUALITY
    sharpness: float  # Quality.Sharpness -> LOW_SHARPNESS
    max_yaw: float  # |Pose.Yaw| -> EXTREME_POSE
    max_pitch_up: float  # Pose.Pitch > 0 -> EXTREME_POSE
    max_pitch_down: float  # -Pose.Pitch when < 0 -> EXTREME_POSE


BARS = {
    "LOW": QualityBar(
        confidence=0.0,
        min_side_px=16.0,
        brightness=2.0,
        max_brightness=97.0,
        sharpness=7.0,
        max_yaw=75.0,
        max_pitch_up=75.0,
        max_pitch_down=75.0,
    ),
    "MEDIUM": QualityBar(
        confidence=94.0,
        min_side_px=23.0,
        brightness=4.0,
        max_brightness=80.0,
        sharpness=20.0,
        max_yaw=75.0,
        max_pitch_up=75.0,
        max_pitch_down=75.0,
    ),
    "HIGH": QualityBar(
        confidence=99.0,
        min_side_px=28.0,
        brightness=9.0,
        max_brightness=68.0,
        sharpness=41.0,
        max_yaw=45.0,
        max_pitch_up=45.0,
        max_pitch_down=30.0,
    ),
}
BARS["AUTO"] = BARS["MEDIUM"]


def blur_sharpness(quality: Quality) -> float:
    """Sharpness as LOW_SHARPNESS judges it: the reported Sharpness, with a face dimmer than
    :data:`SHARPNESS_REFERENCE_BRIGHTNESS` brought to that brightness (the Laplacian variance
    scaled by the square of the brightness ratio, then mapped to 0-100 again)."""
    brightness, sharpness = quality.brightness, quality.sharpness
    if brightness >= SHARPNESS_REFERENCE_BRIGHTNESS or sharpness >= 100.0:
        return sharpness
    gain = (SHARPNESS_REFERENCE_BRIGHTNESS / max(brightness, _MIN_COMPENSATED_BRIGHTNESS)) ** 2
    variance = -_quality._SHARPNESS_SCALE * math.log1p(-max(sharpness, 0.0) / 100.0)
    return 100.0 * (1.0 - math.exp(-variance * gain / _quality._SHARPNESS_SCALE))


def filter_reasons(face: FaceAnalysis, level: str, width: int, height: int) -> list[ReasonType]:
    """Rekognition ``Reasons`` the face fails at ``level`` (empty: the face passes);
    ``width`` and ``height`` are the image's size in pixels."""
    bar = BARS.get(level)
    if bar is None:  # NONE
        return []
    reasons: list[ReasonType] = []
    if face.confidence < bar.confidence:
        reasons.append("LOW_CONFIDENCE")
    if min(face.box.width * width, face.box.height * height) < bar.min_side_px:
        reasons.append("SMALL_BOUNDING_BOX")
    if face.quality.brightness < bar.brightness:
        reasons.append("LOW_BRIGHTNESS")
    if blur_sharpness(face.quality) < bar.sharpness:
        reasons.append("LOW_SHARPNESS")
    pitch = face.pose.pitch
    if abs(face.pose.yaw) > bar.max_yaw or pitch > bar.max_pitch_up or -pitch > bar.max_pitch_down:
        reasons.append("EXTREME_POSE")
    if face.quality.brightness > bar.max_brightness:
        reasons.append("LOW_FACE_QUALITY")
    return reasons
