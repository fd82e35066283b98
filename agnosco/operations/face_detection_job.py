"""The work of a FaceDetection job: every sampled frame of the video through the face pipeline.

Each face found becomes a ``FaceDetection`` (``Timestamp`` in milliseconds from the start, from
the frame's presentation time, and ``Face``, a FaceDetail shaped as DetectFaces shapes it, with
``FaceAttributes=ALL`` the estimated attributes too), stored as every frame-analysis job
stores its results (:func:`agnosco.operations.frame_analysis.emit_frames`: a batch of frames at
a time, so a long video never holds its results in memory, the lease renewed as it goes).  A
long video may be analysed on a Ray cluster
(:mod:`agnosco.operations.video_analysis`); the results are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agnosco.jobs.runtime import JobRun, Runner
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import face_detail, requested_attributes
from agnosco.operations.frame_analysis import emit_frames
from agnosco.operations.video_analysis import analysed_frames
from agnosco.vision.video import probe_video


def face_detection_runner(context: OperationContext) -> Runner:
    def run(job: JobRun) -> Mapping[str, Any]:
        wanted = job.request.get("FaceAttributes", "DEFAULT")
        attributes = requested_attributes([wanted])
        with context.videos.open(job.request["Video"]) as path:
            metadata = probe_video(path)
            frames = analysed_frames(
                context, path, metadata, job.check, attributes=bool(attributes)
            )
            emit_frames(
                job,
                (
                    (
                        frame.timestamp_ms,
                        [{"Face": face_detail(f, attributes)} for f in frame.faces],
                    )
                    for frame in frames
                ),
            )
        return {"VideoMetadata": metadata.to_shape()}

    return run
