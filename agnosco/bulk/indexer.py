"""The bulk-indexing coordinator: skip what is done, farm out the model work, write everything.

For each image of a source, in the coordinator's process:

1. read it and hash it (SHA-256; a few threads read ahead, so S3 round trips overlap); with the ExternalImageId derived from its key
   (:mod:`.external_id`) that gives the ImageId IndexFaces would give it
   (:func:`~agnosco.operations.index_faces.image_id_for`);
2. **skip** it, before any model runs, when the collection already holds faces of that ImageId
   (``Store.faces_of_image``) or the :mod:`.ledger` says it was analysed with nothing to index;
3. otherwise hand it to the runner (worker processes or Ray), which decodes and analyses it;
4. **write** the analysis through IndexFaces' own storing code
   (:func:`~agnosco.operations.index_faces.index_analysis`): the same QualityFilter, MaxFaces,
   ImageId, one atomic ``add_faces`` per image.  The request is validated against the model's
   IndexFaces input shape first, as :func:`agnosco.operations.invoke` would.

So a run can be killed at any moment: every image is stored entirely or not at all, and the
next run skips what is stored and analyses the rest ("resumable").  Running it twice indexes
nothing new.  Only the coordinator writes, so SQLite sees one writer, and a cluster of Ray
workers needs no database access.  One run per collection and data directory at a time: a
second concurrent run is refused (a lock file in ``<data-dir>/bulk-locks/``).
"""

from __future__ import annotations

import fcntl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agnosco import spec
from agnosco.bulk.external_id import external_image_id
from agnosco.bulk.ledger import Ledger
from agnosco.bulk.runners import Runner
from agnosco.bulk.sources import Item, Read, Source, read_ahead
from agnosco.bulk.worker import Analysis, Job
from agnosco.errors import ResourceNotFoundException, ServiceError
from agnosco.evaluation.progress import Progress
from agnosco.operations.context import OperationContext
from agnosco.operations.index_faces import image_id_for, index_analysis
from agnosco.storage.base import Collection

LOCKS = "bulk-locks"


class BulkIndexingError(RuntimeError):
    """The run cannot start (another run holds the collection)."""


@dataclass
class IndexingOptions:
    collection_id: str
    quality_filter: str = "AUTO"
    max_faces: int | None = None

    def request(self, external_id: str) -> dict[str, Any]:
        """The IndexFaces request (without its Image) one image of the run stands for."""
        request: dict[str, Any] = {
            "CollectionId": self.collection_id,
            "ExternalImageId": external_id,
            "QualityFilter": self.quality_filter,
        }
        if self.max_faces is not None:
            request["MaxFaces"] = self.max_faces
        return request


@dataclass
class Counts:
    files_seen: int = 0
    images_indexed: int = 0  # analysed, at least one face stored
    images_without_faces: int = 0  # analysed, nothing to store (no face, or all filtered)
    images_skipped: int = 0  # already indexed (or known to hold nothing) before this run
    images_failed: Counter[str] = field(default_factory=Counter)  # by error code
    faces_indexed: int = 0
    faces_unindexed: int = 0
    unindexed_reasons: Counter[str] = field(default_factory=Counter)  # a face may have several

    @property
    def processed(self) -> int:
        """Images this run read and did not skip: analysed, or failed."""
        return self.images_indexed + self.images_without_faces + sum(self.images_failed.values())

    def add(self, other: Counts) -> None:
        for name in (
            "files_seen",
            "images_indexed",
            "images_without_faces",
            "images_skipped",
            "faces_indexed",
            "faces_unindexed",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.images_failed.update(other.images_failed)
        self.unindexed_reasons.update(other.unindexed_reasons)

    def as_json(self) -> dict[str, Any]:
        return {
            "FilesSeen": self.files_seen,
            "ImagesIndexed": self.images_indexed,
            "ImagesWithoutIndexableFaces": self.images_without_faces,
            "ImagesSkipped": self.images_skipped,
            "ImagesFailed": dict(sorted(self.images_failed.items())),
            "FacesIndexed": self.faces_indexed,
            "UnindexedFaces": self.faces_unindexed,
            "UnindexedFacesByReason": dict(sorted(self.unindexed_reasons.items())),
        }


@dataclass
class Summary:
    source: str
    collection_id: str
    runner: str
    counts: Counts
    seconds: float
    #: The first failed keys with their errors, to start looking from (not all of them are kept).
    failures: list[dict[str, str]]

    def as_json(self) -> dict[str, Any]:
        return {
            "Source": self.source,
            "CollectionId": self.collection_id,
            "Runner": self.runner,
            **self.counts.as_json(),
            "Seconds": round(self.seconds, 3),
            "ImagesPerSecond": round(self.counts.processed / self.seconds, 2)
            if self.seconds > 0
            else None,
            "FailureExamples": self.failures,
        }

    def message(self) -> str:
        c = self.counts
        failed = sum(c.images_failed.values())
        if c.images_indexed == 0:
            head = f"nothing new indexed into {self.collection_id}"
        else:
            head = f"indexed {c.faces_indexed} faces from {c.images_indexed} images into {self.collection_id}"
        return (
            f"{head}: {c.files_seen} files, {c.images_skipped} done before, "
            f"{c.images_without_faces} without indexable faces, {failed} failed"
        )


def validate_settings(settings: IndexingOptions) -> None:
    """:raises InvalidParameterException: settings IndexFaces would refuse (e.g. MaxFaces 0)."""
    input_shape = spec.input_shape_name("IndexFaces")
    spec.validate(settings.request("-") | {"Image": {"Bytes": b"-"}}, input_shape)


#: Called with the counts of each batch of written images (for the audit log).
BatchReport = Callable[[Counts], None]


class Coordinator:
    def __init__(
        self,
        context: OperationContext,
        data_dir: Path,
        settings: IndexingOptions,
        *,
        progress: bool | None = None,
        report: BatchReport | None = None,
        batch_images: int = 1000,
        batch_seconds: float = 60.0,
    ) -> None:
        self.context = context
        self.data_dir = Path(data_dir)
        self.settings = settings
        self.progress = progress
        self.report = report
        self.batch_images, self.batch_seconds = batch_images, batch_seconds
        validate_settings(settings)

    def run(self, source: Source, runner: Runner) -> Summary:
        """Index every image of ``source`` with ``runner``.

        :raises ResourceNotFoundException: no such collection (or it was deleted during the run).
        :raises BulkIndexingError: another bulk run holds this collection.
        """
        started = time.monotonic()
        collection = self.context.require_store().get_collection(self.settings.collection_id)
        with _collection_lock(self.data_dir, collection.collection_id):
            ledger = Ledger(self.data_dir)
            try:
                state = _Run(self, collection, ledger)
                state.run(source, runner)
            finally:
                ledger.close()
        return Summary(
            source.description,
            collection.collection_id,
            runner.description,
            state.total,
            time.monotonic() - started,
            state.failures,
        )


class _Run:
    """The state of one run: counts, the images in flight, the current audit batch."""

    MAX_FAILURE_EXAMPLES = 20

    def __init__(self, coordinator: Coordinator, collection: Collection, ledger: Ledger) -> None:
        self.c = coordinator
        self.store = coordinator.context.require_store()
        self.collection, self.ledger = collection, ledger
        self.level = coordinator.settings.quality_filter
        self.total, self.batch = Counts(), Counts()
        self.batch_started = time.monotonic()
        self.failures: list[dict[str, str]] = []
        self.pending: dict[str, tuple[str, str]] = {}  # key -> (ExternalImageId, SHA-256)
        self.input_shape = spec.input_shape_name("IndexFaces")

    def run(self, source: Source, runner: Runner) -> None:
        items = list(source.items())
        self.progress = Progress(len(items), "indexing", enabled=self.c.progress)
        try:
            for analysis in runner.run(self.jobs(items)):
                external_id, sha256 = self.pending.pop(analysis.key)
                self.write(analysis, external_id, sha256)
                self.progress.step()
                if (
                    self.batch.processed >= self.c.batch_images
                    or time.monotonic() - self.batch_started >= self.c.batch_seconds
                ):
                    self.flush()
        finally:
            self.progress.close()
            self.flush()

    def flush(self) -> None:
        self.total.add(self.batch)
        if self.c.report is not None and self.batch != Counts():
            self.c.report(self.batch)
        self.batch, self.batch_started = Counts(), time.monotonic()

    def fail(self, key: str, code: str, message: str) -> None:
        self.batch.images_failed[code] += 1
        if len(self.failures) < self.MAX_FAILURE_EXAMPLES:
            self.failures.append({"Key": key, "Code": code, "Message": message})

    def jobs(self, items: list[Item]) -> Iterator[Job]:
        for read in read_ahead(items):
            self.batch.files_seen += 1
            job = self.job(read)
            if job is None:
                self.progress.step()
            else:
                yield job

    def job(self, read: Read) -> Job | None:
        """The job for an item read, or None when it is skipped or could not be read."""
        key = read.item.key
        if read.error is not None:
            self.fail(key, read.error.code, getattr(read.error, "message", str(read.error)))
            return None
        external_id = external_image_id(key)
        image_id = image_id_for(read.sha256, external_id)
        if self.store.faces_of_image(self.collection.collection_id, image_id) or self.ledger.known(
            self.collection, image_id, self.level
        ):
            self.batch.images_skipped += 1
            return None
        self.pending[key] = (external_id, read.sha256)
        return Job(key, read.data)

    def write(self, analysis: Analysis, external_id: str, sha256: str) -> None:
        if analysis.error_code is not None:
            self.fail(analysis.key, analysis.error_code, analysis.error_message or "")
            return
        request = self.c.settings.request(external_id)
        try:
            spec.validate(request | {"Image": {"Bytes": b"-"}}, self.input_shape)
            response = index_analysis(
                request,
                self.c.context,
                self.collection,
                sha256,
                analysis.width,
                analysis.height,
                list(analysis.faces),
            )
        except ResourceNotFoundException:
            raise  # the collection was deleted under the run: stop
        except ServiceError as exc:
            self.fail(analysis.key, exc.code, exc.message)
            return
        unindexed = response["UnindexedFaces"]
        self.batch.faces_unindexed += len(unindexed)
        for face in unindexed:
            self.batch.unindexed_reasons.update(face["Reasons"])
        if response["FaceRecords"]:
            self.batch.images_indexed += 1
            self.batch.faces_indexed += len(response["FaceRecords"])
        else:
            self.batch.images_without_faces += 1
            self.ledger.record(
                self.collection, image_id_for(sha256, external_id), self.level, len(unindexed)
            )


class _collection_lock:
    """An exclusive, non-blocking lock on (data directory, collection); released on exit or death."""

    def __init__(self, data_dir: Path, collection_id: str) -> None:
        folder = data_dir / LOCKS
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{collection_id}.lock"
        self.collection_id = collection_id

    def __enter__(self) -> None:
        self._fh = open(self.path, "a")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise BulkIndexingError(
                f"another bulk run is indexing collection {self.collection_id} in this data directory"
            ) from None

    def __exit__(self, *exc_info: object) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
