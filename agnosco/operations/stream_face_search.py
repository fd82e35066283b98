"""The work of a FaceSearch stream processor on one frame: faces found, tracked and searched in
the processor's collection, as the documented Kinesis face search record.

A record is written for every analysed frame (as Rekognition writes one per analysed frame,
with an empty ``FaceSearchResponse`` when no face is seen)::

    {"InputInformation": {"KinesisVideo": {"StreamArn", "FragmentNumber", "ServerTimestamp",
                                           "ProducerTimestamp", "FrameOffsetInSeconds"}},
     "StreamProcessorInformation": {"Status": "RUNNING"},
     "FaceSearchResponse": [{"DetectedFace": {BoundingBox, Confidence, Landmarks, Pose, Quality},
                             "MatchedFaces": [{"Similarity", "Face": {BoundingBox, FaceId,
                                                Confidence, ImageId, ExternalImageId}}]}]}

There are no Kinesis fragments here: ``FragmentNumber`` is the frame's sequence number in the
session, ``FrameOffsetInSeconds`` its presentation time from the session's first frame,
``ProducerTimestamp`` when the source produced it (as far as the source tells) and
``ServerTimestamp`` when it was decoded, both in epoch seconds.  ``MatchedFaces``: at most
:data:`MAX_MATCHES` faces with Similarity at or above the session's threshold, best first.
With ``RegionsOfInterest``, only faces whose box centre lies in one of them are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agnosco.operations.collection_faces import require_face_model, search_collection
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import bounding_box, face_detail
from agnosco.operations.stream_processors import MIN_FACE_MATCH_THRESHOLD, face_search_settings
from agnosco.streams.runtime import AnalysedFrame, Analysis, AnalysisFactory
from agnosco.streams.store import StreamProcessor
from agnosco.vision.geometry import Box
from agnosco.vision.live import LiveFrame
from agnosco.vision.tracking import FaceTracker
from agnosco.vision.video import SAMPLE_FPS

#: Matches reported per face.
MAX_MATCHES = 10
_DETECTED_FACE = ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality")
_MATCHED_FACE = ("BoundingBox", "FaceId", "Confidence", "ImageId", "ExternalImageId")


def in_regions(box: Box, regions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the box's centre lies in one of ``regions`` (all of the frame when none)."""
    if not regions:
        return True
    x, y = box.left + box.width / 2, box.top + box.height / 2
    for region in regions:
        if "BoundingBox" in region:
            b = region["BoundingBox"]
            left, top = b.get("Left", 0.0), b.get("Top", 0.0)
            if left <= x <= left + b.get("Width", 0.0) and top <= y <= top + b.get("Height", 0.0):
                return True
        elif _in_polygon(x, y, [(p.get("X", 0.0), p.get("Y", 0.0)) for p in region["Polygon"]]):
            return True
    return False


def _in_polygon(x: float, y: float, points: list[tuple[float, float]]) -> bool:
    """Ray casting: an odd number of edges crossed to the right of the point is inside."""
    inside = False
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def face_search_analysis(context: OperationContext) -> AnalysisFactory:
    def make(processor: StreamProcessor) -> Analysis:
        settings = face_search_settings(processor.definition) or {}
        store = context.require_store()
        collection = store.get_collection(settings["CollectionId"])  # it may have been deleted
        require_face_model(context, collection)
        session = processor.session
        threshold = (
            session.threshold
            if session is not None and session.threshold is not None
            else MIN_FACE_MATCH_THRESHOLD
        )
        regions = processor.definition.get("RegionsOfInterest") or []
        stream_arn = processor.definition["Input"]["KinesisVideoStream"]["Arn"]
        tracker = FaceTracker(SAMPLE_FPS)

        def analyse(frame: LiveFrame) -> AnalysedFrame:
            faces = [
                f for f in context.analyzer.describe(frame.image()) if in_regions(f.box, regions)
            ]
            persons = tracker.update(
                [f.box for f in faces], [f.confidence for f in faces], frame.width, frame.height
            )
            response = []
            for face in faces:
                detail = face_detail(face, set())
                detected = {k: detail[k] for k in _DETECTED_FACE if k in detail}  # type: ignore[literal-required]
                detected["BoundingBox"] = bounding_box(face.box)
                matches = search_collection(
                    context, collection, face.descriptor, threshold, MAX_MATCHES
                )
                response.append(
                    {
                        "DetectedFace": detected,
                        "MatchedFaces": [
                            {
                                "Similarity": m["Similarity"],
                                "Face": {k: m["Face"][k] for k in _MATCHED_FACE if k in m["Face"]},  # type: ignore[literal-required]
                            }
                            for m in matches
                        ],
                    }
                )
            record = {
                "InputInformation": {
                    "KinesisVideo": {
                        "StreamArn": stream_arn,
                        "FragmentNumber": str(frame.sequence),
                        "ServerTimestamp": round(frame.received_time, 3),
                        "ProducerTimestamp": round(frame.producer_time, 3),
                        "FrameOffsetInSeconds": frame.offset_ms / 1000,
                    }
                },
                "StreamProcessorInformation": {"Status": "RUNNING"},
                "FaceSearchResponse": response,
            }
            return AnalysedFrame(record, persons)

        return analyse

    return make
