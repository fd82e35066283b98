"""The work of a TextDetection job: DetectText's reader on the video's frames sampled
:data:`SAMPLE_FPS` times a second (:mod:`agnosco.operations.frame_analysis`).

Each frame's text is what DetectText answers for that frame as an image, with the request's
``Filters`` (the same filter code: :func:`agnosco.operations.detect_text.word_filter`) and its
limit of 100 words a frame: its lines, then its words with their ``ParentId``, each a
``TextDetectionResult`` (``Timestamp``, the frame's presentation time in milliseconds, and
``TextDetection``).  ``Id`` and ``ParentId`` number the detections of one frame, as they do in
an image.

Sampling.  Rekognition does not document the rate at which it reads text in stored video.  One
frame a second: text on screen (captions, signs, titles) stays up for seconds, and the reader
takes about a third of a CPU second on a 640x360 frame with two lines, more with more text
(``bench/video.py``), so five frames a second, the face jobs' rate, would take five times as
long to read the same text again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agnosco.jobs.runtime import Runner
from agnosco.operations.context import OperationContext
from agnosco.operations.detect_text import select, text_detections, word_filter
from agnosco.operations.frame_analysis import FrameAnalyser, frame_analysis_runner
from agnosco.vision.image import DecodedImage
from agnosco.vision.text import TEXT_MODEL_VERSION

#: Frames read per second of video.
SAMPLE_FPS = 1.0


def text_analysis(context: OperationContext, request: Mapping[str, Any]) -> FrameAnalyser:
    """What a TextDetection job does with each frame: DetectText's reading and filters."""
    keep = word_filter(request.get("Filters"))

    def analyse(image: DecodedImage) -> Sequence[Mapping[str, Any]]:
        lines = select(context.text_reader.read(image), keep)
        return [{"TextDetection": detection} for detection in text_detections(lines)]

    return analyse


def text_detection_runner(context: OperationContext) -> Runner:
    return frame_analysis_runner(
        context,
        lambda request: text_analysis(context, request),
        fps=SAMPLE_FPS,
        result={"TextModelVersion": TEXT_MODEL_VERSION},
    )
