"""The work of a LabelDetection job: DetectLabels' label sources on the video's frames sampled
:data:`SAMPLE_FPS` times a second (:mod:`agnosco.operations.frame_analysis`).

Each frame's labels are what DetectLabels answers for that frame as an image (the same code:
:func:`agnosco.operations.detect_labels.general_labels`), with the request's
``Settings.GeneralLabels`` filters and its ``MinConfidence`` (default 50, as the model documents
for StartLabelDetection; DetectLabels' is 55), each a ``LabelDetection`` (``Timestamp``, the
frame's presentation time in milliseconds, and ``Label``: ``Name``, ``Confidence``,
``Instances`` with their boxes where a source locates them, ``Parents``, ``Aliases``,
``Categories``), most confident first within a frame.  Instances carry no ``DominantColors``
(the model's documentation: they are not returned for video).

Sampling.  Rekognition does not document its rate.  Two frames a second: labels describe what is
in the scene (a person, a bird, a room) and last for seconds, and the classifier and the face
evidence cost about 40 CPU milliseconds a 360x288 frame (``bench/video.py``), so two a second is
cheap and a thing on screen for half a second is still sampled; the face jobs' five a second
would cost two and a half times as much for the same labels again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agnosco.jobs.runtime import Runner
from agnosco.operations.context import OperationContext
from agnosco.operations.detect_labels import LABEL_MODEL_VERSION, general_labels, label_shapes
from agnosco.operations.frame_analysis import FrameAnalyser, frame_analysis_runner
from agnosco.vision.image import DecodedImage

#: Frames analysed per second of video.
SAMPLE_FPS = 2.0
#: MinConfidence when StartLabelDetection gives none (the model's documentation).
DEFAULT_MIN_CONFIDENCE = 50.0


def label_analysis(context: OperationContext, request: Mapping[str, Any]) -> FrameAnalyser:
    """What a LabelDetection job does with each frame: DetectLabels' sources and filters."""
    general: Mapping[str, Any] = (request.get("Settings") or {}).get("GeneralLabels") or {}
    min_confidence = float(request.get("MinConfidence", DEFAULT_MIN_CONFIDENCE))

    def analyse(image: DecodedImage) -> Sequence[Mapping[str, Any]]:
        labels = general_labels(image, context, general, min_confidence)
        return [{"Label": label} for label in label_shapes(labels, image, None)]

    return analyse


def label_detection_runner(context: OperationContext) -> Runner:
    return frame_analysis_runner(
        context,
        lambda request: label_analysis(context, request),
        fps=SAMPLE_FPS,
        result={"LabelModelVersion": LABEL_MODEL_VERSION},
    )
