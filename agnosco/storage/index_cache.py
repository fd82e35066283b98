"""Nearest-neighbour search for the embedded store: indexes in this process, kept as a cache of
the SQLite ``faces`` table, never a second source of truth.

A collection's :class:`~agnosco.storage.vector_index.ExactIndex` is built from the table on its
first search, updated after each write this process commits, and rebuilt whenever the
collection's ``generation`` (bumped in the same transaction as every face added or deleted)
shows that another process wrote.  So after a crash or a restart the index is simply rebuilt,
and it always agrees with the table.

A collection of more than ``ann_threshold`` faces is searched through an
:class:`~agnosco.storage.ann_index.AnnIndex` instead (approximate candidates, exact distances),
which takes ~30 s to build at 1M faces and so is also kept on disk: ``<db>.ann/<hash>.idx``
with a manifest recording the collection's generation when it was saved.  On first use it is
loaded from there if the manifest's generation is the collection's current one (and the file
matches its manifest byte for byte); a stale file, or the in-memory index after another process
wrote, is *repaired*: every face id and descriptor in the table is compared with the index's and
the differences applied; a damaged or missing file is rebuilt from the table.  The file is saved
after a build or repair, once enough changes have accumulated (:data:`ANN_SAVE_FRACTION`), on
:meth:`IndexCache.compact` and on :meth:`IndexCache.close`; between saves it is stale and its
generation says so.  ``compact`` also deletes every index file that is not current, since it may
hold deleted descriptors.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agnosco.storage.ann_index import AnnIndex, IndexFileError, read_manifest, remove_files
from agnosco.storage.base import FaceRecord
from agnosco.storage.database import Database, Transaction
from agnosco.storage.neighbours import CollectionHead, Neighbour, NeighbourSearch, Query
from agnosco.storage.vector_index import ExactIndex

log = logging.getLogger(__name__)

#: Collections with more faces than this are searched through an AnnIndex: where an exact scan's
#: p50 passes ~5 ms on 2 cores (docs/benchmarks.md).
ANN_THRESHOLD = 250_000
#: Save an AnnIndex once changes since its last save reach this fraction of its size (min 1000).
ANN_SAVE_FRACTION = 0.05
#: Repair a stale AnnIndex unless more than this fraction of the faces differ (then rebuild it).
ANN_REPAIR_MAX = 0.5


@dataclass
class _Cached:
    """A collection's index and the generation it is current at; ``created_at`` tells a
    collection deleted and made again under the same id (its generations start afresh)."""

    generation: int
    created_at: float
    index: ExactIndex | AnnIndex


class IndexCache(NeighbourSearch):
    """The search strategy for the SQLite file ``path`` (whose AnnIndex files go beside it);
    safe to share between threads."""

    def __init__(
        self, database: Database, path: Path, *, ann_threshold: int = ANN_THRESHOLD
    ) -> None:
        self._db, self.path, self.ann_threshold = database, Path(path), ann_threshold
        self._lock = threading.RLock()
        self._indexes: dict[str, _Cached] = {}
        self._unsaved: Counter[str] = Counter()  # collection -> changes to its AnnIndex since saved
        #: What happened to AnnIndexes ("loaded", "built", "repaired", "rejected", "saved"): for tests.
        self.events: Counter[str] = Counter()

    # the strategy -------------------------------------------------------------------------
    def nearest(self, tx: Transaction, collection: CollectionHead, query: Query) -> list[Neighbour]:
        with self._lock:
            index = self._index(tx, collection)
            extra = 1 if query.exclude_face_id else 0
            found = index.search(query.vector, query.limit + extra, query.max_distance)
        hits = [Neighbour(i, d) for i, d in found if i != query.exclude_face_id]
        return hits[: query.limit]

    def changed(
        self,
        collection_id: str,
        generation: int,
        *,
        added: Sequence[FaceRecord] = (),
        removed: Sequence[str] = (),
    ) -> None:
        """Apply a committed write (the one that made ``generation``) to the cached index, if the
        cache was current just before it; otherwise drop the cache (another write came between)."""
        with self._lock:
            cached = self._indexes.pop(collection_id, None)
            if cached is None or cached.generation != generation - 1:
                return
            index = cached.index
            try:
                if added:
                    index.add([f.face_id for f in added], np.stack([f.descriptor for f in added]))
                if removed:
                    index.remove(list(removed))
            except (
                Exception
            ):  # the write is committed: only the cache is lost, rebuilt on next search
                log.exception(
                    "collection %s: search index update failed; it will be rebuilt", collection_id
                )
                self._unsaved.pop(collection_id, None)
                return
            if isinstance(index, AnnIndex):
                if len(index) <= self.ann_threshold // 2:  # shrunk well below: exact search again
                    self._unsaved.pop(collection_id, None)
                    return
                self._unsaved[collection_id] += len(added) + len(removed)
            elif len(index) > self.ann_threshold:  # grown past: the next search builds an AnnIndex
                return
            self._indexes[collection_id] = _Cached(generation, cached.created_at, index)
            if self._unsaved[collection_id] >= max(1000, ANN_SAVE_FRACTION * len(index)):
                self._save_ann(collection_id)

    def forget(self, collection_id: str) -> None:
        with self._lock:
            self._indexes.pop(collection_id, None)
            self._unsaved.pop(collection_id, None)
        remove_files(self.ann_path(collection_id))  # it holds the deleted faces' descriptors

    def compact(self) -> None:
        with self._lock:
            # Index files may hold descriptors deleted since they were saved: bring this process's
            # up to date, and delete any other that is not current.
            for collection_id in list(self._unsaved):
                self._save_ann(collection_id)
            directory = self._ann_dir()
            for path in directory.glob("*.idx") if directory.is_dir() else ():
                if not self._ann_file_current(path):
                    remove_files(path)
            for path in directory.glob("*.tmp") if directory.is_dir() else ():
                if path.stat().st_mtime < time.time() - 3600:  # left by a save that crashed
                    path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            for collection_id in list(self._unsaved):
                self._save_ann(collection_id)

    # building -----------------------------------------------------------------------------
    def _index(self, tx: Transaction, collection: CollectionHead) -> ExactIndex | AnnIndex:
        """The collection's index at the generation ``tx`` sees (one consistent read: the rows
        read are those of that generation)."""
        cached = self._indexes.get(collection.collection_id)
        if cached and (cached.generation, cached.created_at) == (
            collection.generation,
            collection.created_at,
        ):
            return cached.index
        index: ExactIndex | AnnIndex
        if collection.face_count > self.ann_threshold:
            previous = cached.index if cached and isinstance(cached.index, AnnIndex) else None
            index = self._ann_index(tx, collection, previous)
        else:
            index = ExactIndex(
                *self._rows(tx, collection.collection_id), dim=collection.descriptor_size
            )
            self._unsaved.pop(collection.collection_id, None)
        self._indexes[collection.collection_id] = _Cached(
            collection.generation, collection.created_at, index
        )
        return index

    @staticmethod
    def _rows(tx: Transaction, collection_id: str) -> tuple[list[str], np.ndarray]:
        rows = tx.execute(
            "SELECT face_id, descriptor FROM faces WHERE collection_id = ? ORDER BY face_id",
            (collection_id,),
        ).fetchall()
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return [r[0] for r in rows], vectors.reshape(len(rows), -1) if rows else vectors

    def _ann_dir(self) -> Path:
        return self.path.with_name(self.path.name + ".ann")

    def ann_path(self, collection_id: str) -> Path:
        """Where the collection's AnnIndex file is kept."""
        return self._ann_dir() / (hashlib.sha256(collection_id.encode()).hexdigest()[:32] + ".idx")

    def _ann_meta(self, collection_id: str) -> dict[str, object] | None:
        """What identifies the collection an index file belongs to (a collection deleted and
        created again under the same id starts its generations afresh, but not its created_at);
        None if it no longer exists."""
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT created_at FROM collections WHERE collection_id = ?", (collection_id,)
            ).fetchone()
        return {"collection_id": collection_id, "created_at": row[0]} if row else None

    def _ann_file_current(self, path: Path) -> bool:
        """Whether an index file holds exactly its collection's faces as the table has them now."""
        try:
            manifest = read_manifest(path)
        except IndexFileError:
            return False
        collection_id = manifest.get("collection_id")
        if not isinstance(collection_id, str) or path != self.ann_path(collection_id):
            return False
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT generation, created_at FROM collections WHERE collection_id = ?",
                (collection_id,),
            ).fetchone()
        return row is not None and [manifest.get("generation"), manifest.get("created_at")] == list(
            row
        )

    def _ann_index(
        self, tx: Transaction, collection: CollectionHead, previous: AnnIndex | None
    ) -> AnnIndex:
        """The collection's AnnIndex at its generation: the saved one if it is current, else the
        previous one (in memory or a stale file) repaired, else one built from the table."""
        collection_id, generation, count = (
            collection.collection_id,
            collection.generation,
            collection.face_count,
        )
        start, path = time.perf_counter(), self.ann_path(collection_id)
        meta = {"collection_id": collection_id, "created_at": collection.created_at}
        if previous is None:
            try:
                previous = AnnIndex.load(path, meta)
                if previous.manifest.get("generation") == generation and len(previous) == count:
                    self.events["loaded"] += 1
                    log.info(
                        "collection %s: ANN index of %d faces loaded in %.1f s",
                        collection_id,
                        count,
                        time.perf_counter() - start,
                    )
                    return previous
            except IndexFileError as exc:
                if path.exists() or path.with_name(path.name + ".json").exists():
                    self.events["rejected"] += 1
                    log.warning("collection %s: %s; rebuilding it", collection_id, exc)
        ids, vectors = self._rows(tx, collection_id)
        index, event = None, "built"
        if previous is not None:
            have_ids, have_vectors = previous.items()
            position = {face_id: i for i, face_id in enumerate(have_ids)}
            at = np.fromiter((position.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
            same = at >= 0
            same[same] = (have_vectors[at[same]] == vectors[same]).all(axis=1)
            fresh = np.flatnonzero(
                ~same
            )  # new in the table, or the same id with another descriptor
            kept = {ids[i] for i in np.flatnonzero(same)}
            gone = [i for i in have_ids if i not in kept]
            if len(fresh) + len(gone) <= ANN_REPAIR_MAX * max(count, 1):
                previous.remove(gone)
                previous.add([ids[i] for i in fresh], vectors[fresh])
                index, event = previous, "repaired"
        if index is None:
            index = AnnIndex(ids, vectors, dim=collection.descriptor_size)
        self.events[event] += 1
        log.info(
            "collection %s: ANN index of %d faces %s in %.1f s",
            collection_id,
            count,
            event,
            time.perf_counter() - start,
        )
        self._indexes[collection_id] = _Cached(generation, collection.created_at, index)
        self._save_ann(collection_id)
        return index

    def _save_ann(self, collection_id: str) -> None:
        """Save the cached AnnIndex with the generation it is current at (a failure is logged:
        the file is only a cache, and a missing or stale one is rebuilt or repaired)."""
        cached = self._indexes.get(collection_id)
        self._unsaved.pop(collection_id, None)
        meta = self._ann_meta(collection_id)
        if cached is None or not isinstance(cached.index, AnnIndex) or meta is None:
            return
        start = time.perf_counter()
        try:
            cached.index.save(
                self.ann_path(collection_id), {**meta, "generation": cached.generation}
            )
        except OSError as exc:
            log.warning("collection %s: could not save its ANN index: %s", collection_id, exc)
            return
        self.events["saved"] += 1
        log.info(
            "collection %s: ANN index of %d faces saved in %.1f s",
            collection_id,
            len(cached.index),
            time.perf_counter() - start,
        )
