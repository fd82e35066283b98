"""The work of a ContentModeration job: DetectModerationLabels' classifier on the video's frames
sampled :data:`SAMPLE_FPS` times a second (:mod:`agnosco.operations.frame_analysis`).

Each frame's moderation labels are what DetectModerationLabels answers for that frame as an
image (the same code: :func:`agnosco.operations.detect_moderation_labels.
frame_moderation_labels`), at the request's ``MinConfidence`` (default 50), each a
``ContentModerationDetection`` (``Timestamp``, the frame's presentation time in milliseconds,
and ``ModerationLabel``: ``Name``, ``ParentName``, ``TaxonomyLevel``, ``Confidence``).  The
classifier reports one category, ``Explicit`` (``docs/analysis.md`` says what it can and cannot
see).  ``ContentTypes`` (animated, illustrated) is never returned: the model cannot tell a
drawing from a photograph, as for images.

Sampling.  Rekognition does not document its rate.  Two frames a second, as for labels: the
classifier costs about 35 CPU milliseconds a 360x288 frame (``bench/video.py``), and unsafe content on
screen for half a second is still sampled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agnosco.jobs.runtime import Runner
from agnosco.operations.context import OperationContext
from agnosco.operations.detect_moderation_labels import (
    DEFAULT_MIN_CONFIDENCE,
    frame_moderation_labels,
)
from agnosco.operations.frame_analysis import FrameAnalyser, frame_analysis_runner
from agnosco.vision.image import DecodedImage
from agnosco.vision.moderation import MODERATION_MODEL_VERSION

#: Frames analysed per second of video.
SAMPLE_FPS = 2.0


def moderation_analysis(context: OperationContext, request: Mapping[str, Any]) -> FrameAnalyser:
    """What a ContentModeration job does with each frame: DetectModerationLabels' classifier."""
    min_confidence = float(request.get("MinConfidence", DEFAULT_MIN_CONFIDENCE))

    def analyse(image: DecodedImage) -> Sequence[Mapping[str, Any]]:
        labels = frame_moderation_labels(image.pixels, context, min_confidence)
        return [{"ModerationLabel": label} for label in labels]

    return analyse


def content_moderation_runner(context: OperationContext) -> Runner:
    return frame_analysis_runner(
        context,
        lambda request: moderation_analysis(context, request),
        fps=SAMPLE_FPS,
        result={"ModerationModelVersion": MODERATION_MODEL_VERSION},
    )
