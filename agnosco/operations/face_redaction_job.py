"""The work of a FaceRedaction job: the video written with its faces pixelated, to a temporary
file beside the output that is renamed over it only when the whole video is done — a failed,
interrupted or lost run leaves no output and no partial file.

With a ``CollectionId``, a face is spared by the rule of :mod:`agnosco.vision.redact` (a track
is left visible from the first frame its face matches the collection at ``FaceMatchThreshold``
and while it stays the same person); every start of a sparing — the frame's timestamp, the
track's index, the face id and Similarity matched — is a ``PersonMatch`` item of the job, and
all of them are appended to the audit log *before* the output is published: a video showing an
identified face never exists without its record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from agnosco.errors import InternalServerError, InvalidParameterException
from agnosco.jobs.runtime import JobRun, Runner
from agnosco.jobs.store import Item
from agnosco.operations.collection_faces import require_face_model, search_collection
from agnosco.operations.context import OperationContext
from agnosco.operations.start_face_redaction import DEFAULT_SPARE_THRESHOLD, paths
from agnosco.vision.embedding import descriptor_distance
from agnosco.vision.redact import Redaction, Sparing, count_leaks, redact_video

if TYPE_CHECKING:
    from types_boto3_rekognition.type_defs import FaceMatchTypeDef

#: The operation the job's audit records name.
OPERATION = "StartFaceRedaction"
#: Spared-track items stored together.
BATCH = 100


def face_redaction_runner(context: OperationContext) -> Runner:
    def run(job: JobRun) -> Mapping[str, Any]:
        request = job.request
        source, target = paths(request)
        sparing = _sparing(context, request)
        partial = target.with_name(f".{target.name}.{job.job.job_id}.partial")
        try:
            try:
                done = redact_video(
                    source,
                    partial,
                    context.analyzer.detector,
                    sparing=sparing,
                    progress=lambda frame: job.check(),
                )
            except OSError as exc:
                raise InvalidParameterException(
                    f"The output {target} could not be written: {exc.strerror or exc}"
                ) from exc
            result: dict[str, Any] = {
                "Output": str(target),
                "Frames": done.frames,
                "FramesWithFaces": done.frames_with_faces,
                "RegionsPixelated": done.regions,
            }
            if request.get("CheckLeaks"):
                frames, leaks = count_leaks(partial, context.analyzer.detector, done.visible)
                result |= {"CheckedFrames": frames, "FramesWhereAFaceIsStillFound": leaks}
            if sparing is not None:
                result |= {
                    "SparingsStarted": len(done.spared),
                    "FramesWithASparedFace": done.spared_frames,
                }
                persons = _persons(done)
                for start in range(0, len(persons), BATCH):
                    job.emit([Item(p["Timestamp"], p) for p in persons[start : start + BATCH]])
                job.check()  # still this run's: only then is the identification recorded
                _audit(context, job, persons)
            job.check()
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return result

    return run


def _sparing(context: OperationContext, request: Mapping[str, Any]) -> Sparing[Any] | None:
    collection_id = request.get("CollectionId")
    if collection_id is None:
        return None
    if context.audit is None:  # identification is never unrecorded
        raise InternalServerError("Sparing faces needs the audit log; none is configured.")
    collection = context.require_store().get_collection(collection_id)
    require_face_model(context, collection)
    threshold = float(request.get("FaceMatchThreshold", DEFAULT_SPARE_THRESHOLD))

    def match(descriptor: np.ndarray) -> FaceMatchTypeDef | None:
        found = search_collection(context, collection, descriptor, threshold, 1)
        return found[0] if found else None

    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        return float(context.calibration.similarity(descriptor_distance(a, b)))

    return Sparing(match, similarity, threshold)


def _persons(done: Redaction[Any]) -> list[dict[str, Any]]:
    """Each sparing's start as a PersonMatch (the shape GetFaceSearch answers)."""
    return [
        {
            "Timestamp": spared.timestamp_ms,
            "Person": {"Index": spared.track},
            "FaceMatches": [spared.match],
        }
        for spared in done.spared
    ]


def _audit(context: OperationContext, job: JobRun, persons: list[dict[str, Any]]) -> None:
    assert context.audit is not None  # _sparing refused to spare without it
    request = job.request
    context.audit(
        {
            "time": context.clock(),
            "operation": OPERATION,
            "principal": job.job.principal,
            "access_key_id": job.job.access_key_id,
            "source": "job",
            "phase": "match",
            "decision": "Allow",
            "reason": "faces spared by a redaction job, recorded before its output is written",
            "collection": request["CollectionId"],
            "resource": context.collection_arn(request["CollectionId"]),
            "parameters": {
                "JobId": job.job.job_id,
                "Input": request["Input"],
                "Output": request["Output"],
                "FaceMatchThreshold": float(
                    request.get("FaceMatchThreshold", DEFAULT_SPARE_THRESHOLD)
                ),
            },
            "result": {
                "JobId": job.job.job_id,
                "Persons": [
                    {
                        "Timestamp": p["Timestamp"],
                        "Index": p["Person"]["Index"],
                        "FaceMatches": [
                            {"FaceId": m["Face"]["FaceId"], "Similarity": m["Similarity"]}
                            for m in p["FaceMatches"]
                        ],
                    }
                    for p in persons
                ],
            },
        }
    )
