"""The work of a FaceDetection job: every sampled frame of the video through the face pipeline.

Each face found becomes a ``FaceDetection`` (``Timestamp`` in milliseconds from the start, from
the frame's presentation time, and ``Face``, a FaceDetail shaped as DetectFaces shapes it, with
``FaceAttributes=ALL`` the estimated attributes too); results are stored every
:data:`BATCH_FRAMES` frames, so a long video never holds its results in memory, and the job's
lease is renewed as it goes.  A long video may be analysed on a Ray cluster
(:mod:`agnosco.operations.video_analysis`); the results are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agnosco.jobs.runtime import JobRun, Runner
from agnosco.jobs.store import Item
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import face_detail, requested_attributes
from agnosco.operations.video_analysis import analysed_frames
from agnosco.vision.video import probe_video

#: Frames whose faces are stored together.
BATCH_FRAMES = 25


def face_detection_runner(context: OperationContext) -> Runner:
    def run(job: JobRun) -> Mapping[str, Any]:
        wanted = job.request.get("FaceAttributes", "DEFAULT")
        attributes = requested_attributes([wanted])
        with context.videos.open(job.request["Video"]) as path:
            metadata = probe_video(path)
            batch: list[Item] = []
            frames = analysed_frames(
                context, path, metadata, job.check, attributes=bool(attributes)
            )
            for n, frame in enumerate(frames, start=1):
                job.check()
                at = frame.timestamp_ms
                for face in frame.faces:
                    batch.append(Item(at, {"Timestamp": at, "Face": face_detail(face, attributes)}))
                if n % BATCH_FRAMES == 0:
                    job.emit(batch)
                    batch = []
            job.emit(batch)
        return {"VideoMetadata": metadata.to_shape()}

    return run
