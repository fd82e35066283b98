"""The model work of bulk indexing, one image at a time, in a worker process.

:func:`analyze` is a pure function of a :class:`Job` (a key and the image's bytes): it decodes
the image as IndexFaces does (JPEG/PNG, Rekognition's size rules, the 15 MiB limit of images in
S3) and runs the face pipeline with descriptors, the heavy part, returning an :class:`Analysis`
that pickles cheaply (boxes, landmarks, pose, quality and a 128-float32 descriptor per face: a
few KB).  It never touches storage: the coordinator decides and writes
(:func:`agnosco.operations.index_faces.index_analysis`), so the quality filter and MaxFaces
are applied exactly as for IndexFaces.

Each worker process builds its :class:`~agnosco.vision.pipeline.FaceAnalyzer` once
(:func:`init_worker`, the pool's initializer; or on first use, e.g. in a Ray worker) and keeps
its models for every image it is given.  A failure of one image (an invalid file, even an
unexpected exception) is returned as an error code, never raised, so it cannot stop a run.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass

from agnosco.errors import ServiceError
from agnosco.vision.image import MAX_S3_IMAGE_BYTES, decode_image
from agnosco.vision.pipeline import DescribedFace, FaceAnalyzer

#: The error code of an image whose analysis raised something other than a ServiceError.
UNEXPECTED_ERROR = "InternalServerError"


@dataclass(frozen=True)
class Job:
    key: str
    data: bytes


@dataclass(frozen=True)
class Analysis:
    """The faces of one image (largest first) and its size, or why it could not be analysed."""

    key: str
    width: int = 0
    height: int = 0
    faces: tuple[DescribedFace, ...] = ()
    error_code: str | None = None
    error_message: str | None = None


_analyzer: FaceAnalyzer | None = None


def init_worker(coordinator_pid: int | None = None) -> None:
    """Build this process's analyzer and load its detector (dlib models load with the first face).

    With ``coordinator_pid`` (worker processes: the pid of the process that started them), the
    process ignores Ctrl-C (the coordinator stops the pool) and ends itself within a second of
    the coordinator's death: a coordinator killed with SIGKILL leaves no orphaned workers.
    """
    import numpy as np

    if coordinator_pid is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
        _exit_with_parent(coordinator_pid)
    analyzer = _get_analyzer()
    analyzer.detector.detect(np.zeros((160, 160, 3), dtype=np.uint8))


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _get_analyzer() -> FaceAnalyzer:
    global _analyzer
    if _analyzer is None:
        _analyzer = FaceAnalyzer()
    return _analyzer


def analyze(job: Job) -> Analysis:
    try:
        image = decode_image(job.data, max_bytes=MAX_S3_IMAGE_BYTES)
        faces = _get_analyzer().describe(image)
    except ServiceError as exc:
        return Analysis(job.key, error_code=exc.code, error_message=exc.message)
    except Exception as exc:  # noqa: BLE001 - one hostile file must not end a run of millions
        return Analysis(
            job.key, error_code=UNEXPECTED_ERROR, error_message=f"{type(exc).__name__}: {exc}"
        )
    return Analysis(job.key, image.width, image.height, tuple(faces))


def analyze_batch(jobs: list[Job]) -> list[Analysis]:
    return [analyze(job) for job in jobs]
