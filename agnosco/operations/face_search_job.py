"""The work of a FaceSearch job: every sampled frame's faces tracked into persons and searched
in the collection.

A person appears at a frame's timestamp when one of its faces there matches the collection
(Similarity >= the job's FaceMatchThreshold, default 80): a ``PersonMatch`` with the person's
index, box and FaceDetail, and its ``FaceMatches``.  A face seen in a single sampled frame is not
a tracked person and is not reported (:mod:`agnosco.vision.tracking`).

A long video's frames may be detected and described on a Ray cluster
(:mod:`agnosco.operations.video_analysis`); tracking and search stay here, in time order, so
the persons and their indices are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from agnosco.jobs.runtime import JobRun, Runner
from agnosco.jobs.store import Item
from agnosco.operations.collection_faces import (
    DEFAULT_FACE_MATCH_THRESHOLD,
    MAX_SEARCH_FACES,
    search_collection,
)
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import bounding_box, face_detail
from agnosco.operations.video_analysis import analysed_frames
from agnosco.vision.pipeline import DescribedFace
from agnosco.vision.tracking import FaceTracker
from agnosco.vision.video import probe_video

#: Frames whose matches are stored together.
BATCH_FRAMES = 25


def face_search_runner(context: OperationContext) -> Runner:
    def run(job: JobRun) -> Mapping[str, Any]:
        request = job.request
        store = context.require_store()
        collection = store.get_collection(request["CollectionId"])
        threshold = float(request.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD))
        with context.videos.open(request["Video"]) as path:
            metadata = probe_video(path)
            tracker = FaceTracker(min(metadata.frame_rate or 5.0, 5.0))
            batch: list[Item] = []
            frames = analysed_frames(context, path, metadata, job.check, describe=True)
            for n, frame in enumerate(frames, start=1):
                job.check()
                faces = cast("tuple[DescribedFace, ...]", frame.faces)
                people = tracker.update(
                    [f.box for f in faces], [f.confidence for f in faces], frame.width, frame.height
                )
                for face, person in zip(faces, people, strict=True):
                    if person is None:
                        continue
                    matches = search_collection(
                        context, collection, face.descriptor, threshold, MAX_SEARCH_FACES
                    )
                    if not matches:
                        continue
                    body = {
                        "Timestamp": frame.timestamp_ms,
                        "Person": {
                            "Index": person,
                            "BoundingBox": bounding_box(face.box),
                            "Face": face_detail(face, set()),
                        },
                        "FaceMatches": matches,
                    }
                    batch.append(Item(frame.timestamp_ms, body, sort_key=person))
                if n % BATCH_FRAMES == 0:
                    job.emit(batch)
                    batch = []
            job.emit(batch)
        return {"VideoMetadata": metadata.to_shape()}

    return run
