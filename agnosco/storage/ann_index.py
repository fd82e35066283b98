"""Approximate nearest-neighbour search over one large collection's descriptors, in memory.

The same interface as :class:`~agnosco.storage.vector_index.ExactIndex` (``add``, ``remove``,
``search``), for collections where a brute-force scan is too slow (~24 ms at 1M faces on 2
cores).  Candidates come from a FAISS inverted-file index (``IndexIVFFlat``, Euclidean): k-means
cells over the descriptors, and a query scans only the ``nprobe`` cells nearest to it.  The
candidates are then re-measured exactly as ExactIndex measures them (float32
``np.linalg.norm``), so the distances returned are exact and the only approximation is which
faces are found.  Measured on 1M identity-clustered descriptors (``docs/benchmarks.md``):
recall@1 0.998-1.0 at ~1-2 ms, built in ~30 s; why IVF rather than HNSW is explained there.

The cells are trained on the vectors the index is built with; later additions go to their
nearest cell.  When the index has grown to :data:`RETRAIN_GROWTH` times the size it was trained
on, it retrains itself (so the cells stay small and searches fast).

``save`` / ``load`` persist it in one file, written atomically, beside a small JSON manifest that
records what the caller says the file corresponds to (the SQLite store: the collection's
``generation`` and face count), the file's size and CRC-32.  ``load`` refuses (raises
:class:`IndexFileError`) a file whose manifest disagrees with what the caller expects, whose
bytes do not match the manifest, or that does not parse: a stale or damaged index is rebuilt by
the caller, never trusted.

Not thread-safe by itself: the store serialises every call, as it does for ExactIndex.
"""

from __future__ import annotations

import json
import math
import os
import struct
import uuid
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from agnosco.storage.vector_index import as_rows

#: Cells: about 4 * sqrt(n) (4,000 at 1M faces), with at least MIN_CELL_POINTS training points each.
CELLS_PER_SQRT = 4
MIN_CELL_POINTS = 39
#: Training sample: at most this many points per cell (k-means cost grows with the sample).
TRAIN_POINTS_PER_CELL = 40
#: Cells scanned per query: at least MIN_PROBES, or 1/64 of the cells (62 of 4,000 at 1M).
MIN_PROBES = 32
PROBE_FRACTION = 64
#: Retrain when the index has grown this many times past the size it was trained on.
RETRAIN_GROWTH = 4
#: Extra candidates fetched beyond ``limit`` before exact re-measuring (as ExactIndex).
SLACK = 8

FORMAT = 1
MAGIC = b"AGNOSCO-ANN\x00"
_CHUNK = 1 << 24


class IndexFileError(Exception):
    """A saved index that cannot be used: missing, stale, or damaged."""


def _cells(n: int) -> int:
    return max(1, min(int(CELLS_PER_SQRT * math.sqrt(n)), n // MIN_CELL_POINTS))


class AnnIndex:
    """Face ids and their descriptors; add, remove and approximate k-nearest search with exact
    distances."""

    def __init__(
        self,
        ids: list[str] | None = None,
        vectors: np.ndarray | None = None,
        *,
        dim: int | None = None,
    ) -> None:
        ids = list(ids or [])
        vectors = as_rows(vectors, len(ids), dim)
        self._ids: list[str | None] = []  # key (FAISS id) -> face id; None once removed
        self._key: dict[str, int] = {}  # face id -> key
        self._index: Any = None  # faiss.IndexIVFFlat, trained on the first vectors it is given
        self._trained_on = 0
        self.manifest: dict[str, Any] = {}  # what load() found beside the file
        if ids:
            self._train(vectors)
            self.add(ids, vectors)

    # building ---------------------------------------------------------------------------
    def _train(self, vectors: np.ndarray) -> None:
        cells = _cells(len(vectors))
        dim = vectors.shape[1]
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, cells, faiss.METRIC_L2)
        index.cp.min_points_per_centroid = 1  # small indexes train on what there is, quietly
        sample = vectors
        if len(vectors) > TRAIN_POINTS_PER_CELL * cells:
            rng = np.random.default_rng(len(vectors))
            chosen = rng.choice(len(vectors), TRAIN_POINTS_PER_CELL * cells, replace=False)
            sample = vectors[np.sort(chosen)]
        index.train(np.ascontiguousarray(sample))
        # Reconstruct and remove by key (DirectMap is missing from faiss's own stub).
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        index.nprobe = min(cells, max(MIN_PROBES, cells // PROBE_FRACTION))
        self._index, self._trained_on = index, len(vectors)

    def _retrain(self) -> None:
        """Rebuild the cells from the vectors now held (keys and ids stay the same)."""
        keys = np.fromiter(self._key.values(), dtype=np.int64, count=len(self._key))
        vectors = self._index.reconstruct_batch(keys)
        self._train(vectors)
        self._index.add_with_ids(vectors, keys)

    @property
    def cells(self) -> int:
        return int(self._index.nlist) if self._index is not None else 0

    @property
    def probes(self) -> int:
        return int(self._index.nprobe) if self._index is not None else 0

    # the ExactIndex interface -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._key)

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        if not ids:
            return
        vectors = np.ascontiguousarray(
            as_rows(vectors, len(ids), self._index.d if self._index is not None else None)
        )
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one add")
        self.remove([i for i in ids if i in self._key])  # an id added again replaces its vector
        if self._index is None:
            self._train(vectors)
        keys = np.arange(len(self._ids), len(self._ids) + len(ids), dtype=np.int64)
        self._index.add_with_ids(vectors, keys)
        self._ids.extend(ids)
        self._key.update(zip(ids, keys.tolist()))
        if len(self._key) > RETRAIN_GROWTH * max(self._trained_on, MIN_CELL_POINTS):
            self._retrain()

    def remove(self, ids: list[str]) -> None:
        keys = [self._key.pop(i) for i in ids if i in self._key]
        if not keys:
            return
        for key in keys:
            self._ids[key] = None
        self._index.remove_ids(faiss.IDSelectorArray(np.asarray(keys, dtype=np.int64)))

    def items(self) -> tuple[list[str], np.ndarray]:
        """Every face id held and its descriptor (row i for id i)."""
        keys = np.fromiter(self._key.values(), dtype=np.int64, count=len(self._key))
        if not len(keys):
            return [], np.empty((0, self._index.d if self._index is not None else 0), np.float32)
        return list(self._key), self._index.reconstruct_batch(keys)

    def search(self, query: np.ndarray, limit: int, max_distance: float) -> list[tuple[str, float]]:
        """Up to ``limit`` (id, exact distance) pairs within ``max_distance``, nearest first."""
        if not self._key or limit <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(1, self._index.d)
        _, found = self._index.search(q, min(limit + SLACK, len(self._key)))
        keys = found[0][found[0] >= 0]
        if not len(keys):
            return []
        exact = np.linalg.norm(self._index.reconstruct_batch(keys) - q, axis=1)
        keep = exact <= max_distance
        keys, exact = keys[keep], exact[keep]
        order = np.argsort(exact, kind="stable")[:limit]
        return [(self._ids[keys[i]], float(exact[i])) for i in order]

    # persistence ------------------------------------------------------------------------
    def save(self, path: Path | str, meta: Mapping[str, Any] | None = None) -> None:
        """Write the index to ``path`` and its manifest to ``manifest_path(path)``, each
        atomically (a temporary file renamed over the old one).  ``meta`` (JSON values) is
        recorded in the manifest for :meth:`load` to check."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        alive = np.fromiter(self._key.values(), dtype=np.int64, count=len(self._key))
        encoded = [self._ids[k].encode() for k in alive.tolist()]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.uint32, count=len(encoded))
        header = json.dumps(
            {
                "format": FORMAT,
                "token": token,
                "count": len(alive),
                "next_key": len(self._ids),
                "trained_on": self._trained_on,
                "id_bytes": int(lengths.sum()),
            }
        ).encode()
        crc, size = 0, 0

        def write(out: Any, data: bytes | memoryview) -> int:
            nonlocal crc, size
            crc, size = zlib.crc32(data, crc), size + len(data)
            out.write(data)
            return len(data)

        tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as out:
                write(out, MAGIC + struct.pack("<Q", len(header)) + header)
                write(out, alive.tobytes())
                write(out, lengths.tobytes())
                write(out, b"".join(encoded))
                if self._index is not None:
                    writer = faiss.PyCallbackIOWriter(lambda b: write(out, b))  # type: ignore[attr-defined]
                    faiss.write_index(self._index, writer)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        manifest = {
            **(meta or {}),
            "format": FORMAT,
            "token": token,
            "count": len(alive),
            "size": size,
            "crc32": crc,
        }
        _write_atomically(manifest_path(path), json.dumps(manifest, indent=1).encode())
        _fsync_dir(path.parent)

    @classmethod
    def load(cls, path: Path | str, expect: Mapping[str, Any] | None = None) -> AnnIndex:
        """The index saved at ``path``, if its manifest records every ``expect`` item as given
        and the file is the one the manifest describes, byte for byte; else
        :class:`IndexFileError`."""
        path = Path(path)
        manifest = read_manifest(path)
        for key, value in (expect or {}).items():
            if manifest.get(key) != value:
                raise IndexFileError(
                    f"stale index {path.name}: {key} is {manifest.get(key)!r}, not {value!r}"
                )
        if manifest.get("format") != FORMAT:
            raise IndexFileError(f"index {path.name} has format {manifest.get('format')!r}")
        try:
            with open(path, "rb") as f:
                crc, size = 0, 0
                while chunk := f.read(_CHUNK):
                    crc, size = zlib.crc32(chunk, crc), size + len(chunk)
                if (size, crc) != (manifest.get("size"), manifest.get("crc32")):
                    raise IndexFileError(
                        f"index {path.name} does not match its manifest (damaged or replaced)"
                    )
                f.seek(0)
                index = cls._read(f, manifest)
                index.manifest = manifest
                return index
        except OSError as exc:
            raise IndexFileError(f"cannot read index {path.name}: {exc}") from exc

    @classmethod
    def _read(cls, f: Any, manifest: Mapping[str, Any]) -> AnnIndex:
        try:
            if f.read(len(MAGIC)) != MAGIC:
                raise IndexFileError("not an agnosco ANN index")
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
            if header.get("token") != manifest.get("token") or header.get("count") != manifest.get(
                "count"
            ):
                raise IndexFileError("index and manifest are from different saves")
            count = int(header["count"])
            keys = np.frombuffer(f.read(8 * count), dtype=np.int64)
            lengths = np.frombuffer(f.read(4 * count), dtype=np.uint32)
            blob = f.read(int(header["id_bytes"]))
            self = cls()
            self._ids = [None] * int(header["next_key"])
            offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
            for key, start, end in zip(keys.tolist(), offsets[:-1].tolist(), offsets[1:].tolist()):
                face_id = blob[start:end].decode()
                self._ids[key] = face_id
                self._key[face_id] = key
            if count:
                self._index = faiss.read_index(faiss.PyCallbackIOReader(f.read))  # type: ignore[attr-defined]  # an IndexIVFFlat
                if not isinstance(self._index, faiss.IndexIVFFlat):
                    raise IndexFileError("not an IVF-Flat index")
                self._trained_on = int(header["trained_on"])
                if self._index.ntotal != count:
                    raise IndexFileError("index holds other vectors than its id list")
            return self
        except IndexFileError:
            raise
        except Exception as exc:  # whatever a damaged file makes the parsers raise
            raise IndexFileError(f"unreadable index: {exc}") from exc


def manifest_path(path: Path | str) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest saved beside the index file at ``path`` (IndexFileError if none or unreadable)."""
    try:
        manifest = json.loads(manifest_path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"no usable manifest for {Path(path).name}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise IndexFileError(f"no usable manifest for {Path(path).name}")
    return manifest


def remove_files(path: Path | str) -> None:
    """Delete an index file and its manifest, if present."""
    for p in (manifest_path(path), Path(path)):
        p.unlink(missing_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
