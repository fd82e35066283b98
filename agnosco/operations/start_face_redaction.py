"""StartFaceRedaction, Agnosco's own operation (Rekognition has none like it): a job that writes
a video with every face pixelated (:mod:`agnosco.vision.redact`), optionally sparing the faces
a collection holds — what an agency needs before it releases body-camera footage.

It is not on the Rekognition wire (``RekognitionService.StartFaceRedaction`` is an unknown
operation to the server): ``Input`` and ``Output`` are files of the machine the job runs on,
and a caller over HTTP must not name where a server reads and writes.  The command line submits
it (``agnosco redact VIDEO --out OUT.mp4 [--spare-collection C] --job``) through the governance
gate as the principal it names, into the deployment's job store, where the server's job runtime
runs it; ``agnosco jobs show ID`` follows it.

Its request is shaped as the Start operations' are, with their member names where they mean the
same thing: ``CollectionId`` is the collection whose faces stay visible, ``FaceMatchThreshold``
the Similarity a face must reach to be spared (default :data:`DEFAULT_SPARE_THRESHOLD`).  With a
``CollectionId`` the call compares faces with a collection's: identification, governed as
SearchFacesByImage is (``agnosco:Identification``, the threshold keys, the moratorium), and
since its matches are published in the output video, they cannot be withheld for review (a
policy requiring review refuses it).  ``CheckLeaks`` counts the output's leaks before it is
published (:func:`~agnosco.vision.redact.count_leaks`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from agnosco.errors import InvalidParameterException
from agnosco.operations.collection_faces import require_face_model
from agnosco.operations.context import OperationContext

#: The job kind.
KIND = "FaceRedaction"
#: The Similarity a face must reach to be spared when FaceMatchThreshold is not given: a
#: bystander left visible is the harm, an officer pixelated is not, so the default is the one
#: the vendor advises for public-safety identification (FMR about 1e-5 on average by
#: Agnosco's calibration, docs/similarity.md), not Rekognition's 80 (1e-2).
DEFAULT_SPARE_THRESHOLD = 99.0
#: The longest file path the request takes (Linux's PATH_MAX).
MAX_PATH = 4096

#: The input shape, in botocore's JSON form, on the model's own member shapes.
INPUT_SHAPES = json.dumps(
    {
        "StartFaceRedactionRequest": {
            "type": "structure",
            "required": ["Input", "Output"],
            "members": {
                "Input": {"shape": "LocalPath"},
                "Output": {"shape": "LocalPath"},
                "CollectionId": {"shape": "CollectionId"},
                "FaceMatchThreshold": {"shape": "Percent"},
                "CheckLeaks": {"shape": "Boolean"},
                "ClientRequestToken": {"shape": "ClientRequestToken"},
                "JobTag": {"shape": "JobTag"},
            },
        },
        "LocalPath": {"type": "string", "min": 1, "max": MAX_PATH},
    }
)
INPUT_SHAPE = "StartFaceRedactionRequest"


class StartFaceRedactionRequest(TypedDict, total=False):
    Input: str
    Output: str
    CollectionId: str
    FaceMatchThreshold: float
    CheckLeaks: bool
    ClientRequestToken: str
    JobTag: str


class StartFaceRedactionResponse(TypedDict, total=False):
    JobId: str


def paths(request: StartFaceRedactionRequest | dict[str, Any]) -> tuple[Path, Path]:
    """The request's video and output, checked as far as they can be before the job runs.

    :raises InvalidParameterException: a relative path, no such video, the output's folder
        missing, or the output being the video itself."""
    source, target = Path(request["Input"]), Path(request["Output"])
    for name, path in (("Input", source), ("Output", target)):
        if not path.is_absolute():
            raise InvalidParameterException(f"{name} must be an absolute path: {path}")
    if not source.is_file():
        raise InvalidParameterException(f"The video {source} is not a file on this machine.")
    if not target.parent.is_dir():
        raise InvalidParameterException(f"The output's folder {target.parent} does not exist.")
    if target.resolve() == source.resolve():
        raise InvalidParameterException("Output must not be the video itself.")
    return source, target


def start_face_redaction(
    request: StartFaceRedactionRequest, context: OperationContext
) -> StartFaceRedactionResponse:
    """:raises InvalidParameterException: as :func:`paths`; a FaceMatchThreshold without a
        CollectionId; a collection of another face model.
    :raises ResourceNotFoundException: no such collection.
    :raises IdempotentParameterMismatchException: its ClientRequestToken started another job."""
    paths(request)
    collection_id = request.get("CollectionId")
    if collection_id is None and "FaceMatchThreshold" in request:
        raise InvalidParameterException("FaceMatchThreshold needs a CollectionId to spare.")
    if collection_id is not None:
        require_face_model(context, context.require_store().get_collection(collection_id))
    requester = context.requester  # who the job is for: its matches are audited as theirs
    job = context.require_jobs().submit(
        KIND,
        dict(request),
        principal=requester.principal if requester else None,
        access_key_id=requester.access_key_id if requester else None,
    )
    return {"JobId": job.job_id}
