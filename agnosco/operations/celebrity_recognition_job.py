"""The work of a CelebrityRecognition job: the deployment's public figures among the faces of a
stored video's frames sampled :data:`SAMPLE_FPS` times a second
(:mod:`agnosco.operations.frame_analysis`).

Each sampled frame's faces (its 64 largest, as RecognizeCelebrities takes an image's) are
described once and matched against every celebrity's enrolled descriptors, read once for the
whole job (:func:`~agnosco.operations.celebrities.enrolled_descriptors`), at the engine's
threshold (:data:`~agnosco.operations.celebrities.CELEBRITY_MATCH_THRESHOLD`, Similarity 99),
exactly as RecognizeCelebrities matches an image's.  Each recognized face of a frame is a
``CelebrityRecognition``: the frame's ``Timestamp`` and a ``CelebrityDetail`` with the person's
``Id``, ``Name``, ``Urls`` and ``KnownGender`` (only where the deployer stated it), its
``Confidence`` (the calibrated Similarity to their closest enrolled face, RecognizeCelebrities'
``MatchConfidence``), the face's ``BoundingBox``, and ``Face``, a FaceDetail with only the default
attributes (box, confidence, landmarks, pose, quality), as Rekognition documents for this Get.
Faces recognized as no one are not reported (Rekognition's video API reports only celebrities).
A celebrity removed while the job runs is not reported from then on; one enrolled while it runs
is not sought (the gallery is the one read at the job's start).

Recognition is per frame: a person is reported at every sampled frame where their face is
recognized, and not where it scores under the threshold — turned, blurred, too small (there is
no tracking that carries a name across frames where the face itself is not recognized).

Sampling: five frames a second, the face jobs' rate.  Rekognition does not document the rate
at which it samples stored video for celebrities; five a second is affordable because a face is
described once a frame: on franck.mp4 (360x288, one face) the job takes 37 CPU ms a frame, 0.19
CPU seconds a second of video, and analyses 5.1 s of video a second (``bench/video.py
--celebrities-only``).  A 1080p frame with many faces costs several times more.

Every batch of matches — each one's ``Timestamp``, celebrity ``Id`` and ``Confidence``, never a
name or a face — is appended to the audit log before it is stored (:func:`record_matches`): no
match is kept that is not recorded.  Without an audit log the job fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agnosco.errors import InternalServerError
from agnosco.jobs.runtime import JobRun, Runner
from agnosco.jobs.store import Item
from agnosco.operations.celebrities import (
    CELEBRITY_MATCH_THRESHOLD,
    MAX_CELEBRITY_FACES,
    enrolled_descriptors,
    known_gender,
    match_faces,
    require_celebrities,
)
from agnosco.operations.context import OperationContext
from agnosco.operations.face_detail import bounding_box, face_detail
from agnosco.operations.frame_analysis import FrameAnalyser, Record, frame_analysis_runner
from agnosco.storage.celebrities import Celebrity
from agnosco.vision.image import DecodedImage

#: Frames analysed per second of video (the face jobs' rate).
SAMPLE_FPS = 5.0
#: The operation the job's audit records name.
OPERATION = "StartCelebrityRecognition"
#: Characters of a celebrity Id its sort key orders by (ids are 8: ``agnosco.storage.celebrities``).
_KEY_CHARS = 10


def id_sort_key(celebrity_id: str) -> int:
    """An integer that orders as ``celebrity_id`` does (the model's ``[0-9A-Za-z]*``, compared
    character by character as strings are, over its first ten characters): the store's
    ``Item.sort_key`` for ``SortBy=ID``.  Each character is a digit of base 76 (``'0'`` is 1, 0
    pads a shorter id), so ten of them fit a signed 64-bit integer."""
    key = 0
    for n in range(_KEY_CHARS):
        digit = ord(celebrity_id[n]) - ord("0") + 1 if n < len(celebrity_id) else 0
        key = key * 76 + max(0, min(digit, 75))
    return key


def _body_key(body: Mapping[str, Any]) -> int:
    return id_sort_key(str(body["Celebrity"]["Id"]))


def celebrity_analysis(context: OperationContext, request: Mapping[str, Any]) -> FrameAnalyser:
    """What a CelebrityRecognition job does with each frame; the gallery is read here, once."""
    store = require_celebrities(context)
    enrolled = enrolled_descriptors(context)

    def analyse(image: DecodedImage) -> Sequence[Mapping[str, Any]]:
        faces = context.analyzer.describe(image, max_faces=MAX_CELEBRITY_FACES)
        matches = match_faces(faces, context, enrolled=enrolled)
        wanted = {m.celebrity_id for m in matches if m is not None}
        # the matched people as they are now (one read a frame that recognizes anyone): one
        # removed while the job runs is not reported from then on
        people: dict[str, Celebrity] = store.find(wanted) if wanted else {}
        out: list[tuple[float, dict[str, Any]]] = []
        for face, match in zip(faces, matches, strict=True):
            person = people.get(match.celebrity_id) if match is not None else None
            if match is None or person is None:  # None: removed since the gallery was read
                continue
            detail: dict[str, Any] = {
                "Urls": list(person.urls),
                "Name": person.name,
                "Id": person.celebrity_id,
                "Confidence": match.similarity,
                "BoundingBox": bounding_box(face.box),
                "Face": face_detail(face, set()),
            }
            gender = known_gender(person.known_gender)
            if gender is not None:
                detail["KnownGender"] = gender
            out.append((match.similarity, {"Celebrity": detail}))
        out.sort(key=lambda pair: pair[0], reverse=True)  # best match first within a frame
        return [body for _, body in out]

    return analyse


def record_matches(context: OperationContext, job: JobRun) -> Record:
    """What appends a batch of the job's matches to the audit log before they are stored.

    :raises InternalServerError: no audit log (identification is never unrecorded)."""
    audit = context.audit
    if audit is None:
        raise InternalServerError(
            "Recognizing celebrities needs the audit log; none is configured."
        )

    def record(items: Sequence[Item]) -> None:
        audit(
            {
                "time": context.clock(),
                "operation": OPERATION,
                "principal": job.job.principal,
                "access_key_id": job.job.access_key_id,
                "source": "job",
                "phase": "match",
                "decision": "Allow",
                "reason": "celebrities recognized by a video job, recorded before they are stored",
                "resource": "*",
                "parameters": {
                    "JobId": job.job.job_id,
                    "Video": job.request["Video"],
                    "MatchThreshold": CELEBRITY_MATCH_THRESHOLD,
                },
                "result": {
                    "JobId": job.job.job_id,
                    "Celebrities": [
                        {
                            "Timestamp": item.body["Timestamp"],
                            "Id": item.body["Celebrity"]["Id"],
                            "MatchConfidence": item.body["Celebrity"]["Confidence"],
                        }
                        for item in items
                    ],
                },
            }
        )

    return record


def celebrity_recognition_runner(context: OperationContext) -> Runner:
    return frame_analysis_runner(
        context,
        lambda request: celebrity_analysis(context, request),
        fps=SAMPLE_FPS,
        sort_key=_body_key,
        record=lambda job: record_matches(context, job),
    )
