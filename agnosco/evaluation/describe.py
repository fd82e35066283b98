"""Turn a labelled data set into comparison scores, with Agnosco's own pipeline.

In process, every image's largest face is described once (:class:`FaceAnalyzer`) and
descriptors are cached by the SHA-256 of the image bytes and the descriptor model, so a re-run
over the same images costs only the comparisons.  Through a running server (``--endpoint``),
the images are indexed into a temporary collection and every face is searched against it with
``FaceMatchThreshold=0``, so the scores are exactly the Similarities the server reports.
Either way the result is a :class:`Scores`: which samples enrolled, why the others did not,
and a Similarity for any two enrolled samples.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agnosco.errors import ServiceError
from agnosco.evaluation.datasets import Dataset, as_rekognition_format, rekognition_bytes
from agnosco.evaluation.progress import Progress
from agnosco.vision.embedding import DESCRIPTOR_MODEL
from agnosco.vision.image import decode_image
from agnosco.vision.pipeline import PIPELINE_VERSION, FaceAnalyzer
from agnosco.vision.similarity import SimilarityCalibration

NO_FACE = "no face detected"


@dataclass
class Scores:
    """Similarity between enrolled samples, and why the others failed to enrol."""

    names: list[str]  # enrolled samples, in matrix order
    similarity: np.ndarray  # len(names) x len(names), Similarity 0-100
    failures: dict[str, str] = field(default_factory=dict)  # sample name -> reason
    #: descriptor distances, when computed in process (what a calibration is fitted on)
    distances: np.ndarray | None = None

    def index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}


class DescriptorCache:
    """Descriptors (or failure reasons) keyed by image SHA-256, in one ``.npz`` file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.failures: dict[str, str] = {}
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                for key in data.files:
                    kind, digest = key.split(":", 1)
                    if kind == "v":
                        self.vectors[digest] = data[key]
                    else:
                        self.failures[digest] = str(data[key])

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"v:{k}": v for k, v in self.vectors.items()} | {
            f"f:{k}": np.array(v) for k, v in self.failures.items()
        }
        temp = self.path.with_suffix(".tmp.npz")
        np.savez(temp, **arrays)  # type: ignore[arg-type]  # (numpy's stub types **kwds as the allow_pickle flag)
        temp.replace(self.path)


def describe_in_process(
    dataset: Dataset,
    calibration: SimilarityCalibration,
    *,
    analyzer: FaceAnalyzer | None = None,
    cache_dir: Path | None = None,
    progress: bool | None = None,
) -> Scores:
    analyzer = analyzer or FaceAnalyzer()
    cache = DescriptorCache(
        cache_dir / f"descriptors-{DESCRIPTOR_MODEL}-{PIPELINE_VERSION}.npz" if cache_dir else None
    )
    bar = Progress(len(dataset.samples), "describing", enabled=progress)
    names, vectors, failures = [], [], {}
    fresh = 0
    for sample in dataset.samples:
        data = sample.path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest not in cache.vectors and digest not in cache.failures:
            _describe_one(data, digest, analyzer, cache)
            fresh += 1
            if fresh % 50 == 0:
                cache.save()  # resumable: an interrupted run keeps what it computed
        if digest in cache.vectors:
            names.append(sample.name)
            vectors.append(cache.vectors[digest])
        else:
            failures[sample.name] = cache.failures[digest]
        bar.step()
    bar.close()
    if fresh:
        cache.save()
    matrix = np.stack(vectors) if vectors else np.zeros((0, 128), np.float32)
    sq = (matrix.astype(np.float64) ** 2).sum(1)
    distances = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * matrix @ matrix.T, 0.0))
    np.fill_diagonal(distances, 0.0)  # exactly: the expansion above leaves rounding noise
    return Scores(names, calibration.similarity(distances), failures, distances)


def _describe_one(data: bytes, digest: str, analyzer: FaceAnalyzer, cache: DescriptorCache) -> None:
    try:
        faces = analyzer.describe(decode_image(as_rekognition_format(data)), max_faces=1)
    except ServiceError as error:
        cache.failures[digest] = error.code
        return
    if faces:
        cache.vectors[digest] = faces[0].descriptor
    else:
        cache.failures[digest] = NO_FACE


def describe_via_endpoint(
    dataset: Dataset,
    client_factory: Callable[[], object],
    *,
    progress: bool | None = None,
) -> Scores:
    """Scores as a running Agnosco (or any Rekognition endpoint) reports them."""
    client = client_factory()
    collection = "agnosco-evaluation-" + dataset.fingerprint()[:16]
    with contextlib.suppress(Exception):  # absent is the normal case
        client.delete_collection(CollectionId=collection)  # type: ignore[attr-defined]
    client.create_collection(CollectionId=collection)  # type: ignore[attr-defined]
    try:
        face_of: dict[str, str] = {}
        failures: dict[str, str] = {}
        bar = Progress(len(dataset.samples), "indexing", enabled=progress)
        for sample in dataset.samples:
            try:
                result = client.index_faces(  # type: ignore[attr-defined]
                    CollectionId=collection,
                    Image={"Bytes": rekognition_bytes(sample.path)},
                    MaxFaces=1,
                    QualityFilter="NONE",
                )
                records = result["FaceRecords"]
                if records:
                    face_of[sample.name] = records[0]["Face"]["FaceId"]
                else:
                    failures[sample.name] = NO_FACE
            except Exception as exc:  # noqa: BLE001 - the server's error code is the reason
                failures[sample.name] = (
                    getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                )
            bar.step()
        bar.close()
        names = list(face_of)
        position = {face_of[n]: i for i, n in enumerate(names)}
        similarity = np.zeros((len(names), len(names)))
        np.fill_diagonal(similarity, 100.0)
        bar = Progress(len(names), "searching", enabled=progress)
        for i, name in enumerate(names):
            matches = client.search_faces(  # type: ignore[attr-defined]
                CollectionId=collection, FaceId=face_of[name], FaceMatchThreshold=0, MaxFaces=4096
            )["FaceMatches"]
            for m in matches:
                j = position.get(m["Face"]["FaceId"])
                if j is not None:
                    similarity[i, j] = m["Similarity"]
            bar.step()
        bar.close()
        return Scores(names, similarity, failures)
    finally:
        client.delete_collection(CollectionId=collection)  # type: ignore[attr-defined]
