"""The work of a SegmentDetection job: the video's frames, every one, through the segment
detectors of :mod:`agnosco.vision.segments`, with the request's filters (Rekognition's
defaults where it leaves them out).

Each segment becomes a ``SegmentDetection``, stored with the position of its type in the
request's ``SegmentTypes`` as its sort key, so the Get answers them in that order and by start
time within a type, as Rekognition does.  The job's lease is renewed every frame; the video's
``VideoMetadata`` and ``AudioMetadata`` and the ``SelectedSegmentTypes`` (with the version of
what detected them) are what the Get answers besides the segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agnosco.jobs.runtime import JobRun, Runner
from agnosco.jobs.store import Item
from agnosco.operations.context import OperationContext
from agnosco.vision.segments import (
    DEFAULT_MAX_PIXEL_THRESHOLD,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_MIN_COVERAGE,
    MODEL_VERSIONS,
    SHOT,
    TECHNICAL_CUE,
    SegmentOptions,
    detect_segments,
    segment_shape,
)
from agnosco.vision.video import probe_audio, probe_video

#: Segments stored together.
BATCH = 500


def selected_types(request: Mapping[str, Any]) -> list[dict[str, str]]:
    """``SelectedSegmentTypes``: the requested types, each with its ModelVersion."""
    return [{"Type": t, "ModelVersion": MODEL_VERSIONS[t]} for t in request["SegmentTypes"]]


def segment_options(request: Mapping[str, Any]) -> SegmentOptions:
    """What the request asks to detect, and its filters (Rekognition's defaults)."""
    filters = request.get("Filters") or {}
    cues = filters.get("TechnicalCueFilter") or {}
    shots = filters.get("ShotFilter") or {}
    black = cues.get("BlackFrame") or {}
    return SegmentOptions(
        shots=SHOT in request["SegmentTypes"],
        cues=TECHNICAL_CUE in request["SegmentTypes"],
        shot_min_confidence=float(shots.get("MinSegmentConfidence", DEFAULT_MIN_CONFIDENCE)),
        cue_min_confidence=float(cues.get("MinSegmentConfidence", DEFAULT_MIN_CONFIDENCE)),
        max_pixel_threshold=float(black.get("MaxPixelThreshold", DEFAULT_MAX_PIXEL_THRESHOLD)),
        min_coverage=float(black.get("MinCoveragePercentage", DEFAULT_MIN_COVERAGE)),
    )


def segment_detection_runner(context: OperationContext) -> Runner:
    def run(job: JobRun) -> Mapping[str, Any]:
        options = segment_options(job.request)
        order = {kind: n for n, kind in enumerate(job.request["SegmentTypes"])}
        with context.videos.open(job.request["Video"]) as path:
            metadata = probe_video(path)
            audio = probe_audio(path)
            found = detect_segments(path, metadata, options, tick=job.check)
        items = [Item(s.start_ms, segment_shape(s, metadata.rate), order[s.type]) for s in found]
        for start in range(0, len(items), BATCH):
            job.emit(items[start : start + BATCH])
        return {
            "VideoMetadata": [metadata.to_shape()],
            "AudioMetadata": [a.to_shape() for a in audio],
            "SelectedSegmentTypes": selected_types(job.request),
        }

    return run
