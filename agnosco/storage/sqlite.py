"""The embedded default store: one SQLite database (WAL) in the data directory.

Every method runs in one transaction.  Descriptors are float32 blobs; the in-memory
:class:`ExactIndex` of a collection is a cache of the ``faces`` table, never a second source
of truth: it is built from SQLite on first search, updated after each commit, and rebuilt
whenever the collection's ``generation`` counter (bumped in the same transaction as every
face added or deleted) shows that another process wrote.  So after a crash or a restart the index is
simply rebuilt, and it always agrees with SQLite.

A collection of more than ``ann_threshold`` faces is searched through an
:class:`~agnosco.storage.ann_index.AnnIndex` instead (approximate candidates, exact distances),
which takes ~30 s to build at 1M faces and so is also kept on disk: ``<db>.ann/<hash>.idx``
with a manifest recording the collection's generation when it was saved.  On first use it is
loaded from there if the manifest's generation is the collection's current one (and the file
matches its manifest byte for byte); a stale file, or the in-memory index after another process
wrote, is *repaired*: every face id and descriptor in SQLite is compared with the index's and
the differences applied; a damaged or missing file is rebuilt from SQLite.  The file is saved
after a build or repair, once enough changes have accumulated (:data:`ANN_SAVE_FRACTION`), on
:meth:`SQLiteStore.compact` and on :meth:`SQLiteStore.close`; between saves it is stale and its
generation says so.  ``compact`` also deletes every index file that is not current, since it may
hold deleted descriptors.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from agnosco.errors import (
    ConflictException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from agnosco.storage.ann_index import AnnIndex, IndexFileError, read_manifest, remove_files
from agnosco.storage.base import Collection, FaceRecord, Page, SearchHit, UserRecord
from agnosco.storage.vector_index import ExactIndex

log = logging.getLogger(__name__)

#: Collections with more faces than this are searched through an AnnIndex: where an exact scan's
#: p50 passes ~5 ms on 2 cores (docs/benchmarks.md).
ANN_THRESHOLD = 250_000
#: Save an AnnIndex once changes since its last save reach this fraction of its size (min 1000).
ANN_SAVE_FRACTION = 0.05
#: Repair a stale AnnIndex unless more than this fraction of the faces differ (then rebuild it).
ANN_REPAIR_MAX = 0.5

SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    collection_id TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    face_model_version TEXT NOT NULL,
    created_at REAL NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    face_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS faces (
    collection_id TEXT NOT NULL REFERENCES collections (collection_id) ON DELETE CASCADE,
    face_id TEXT NOT NULL,
    image_id TEXT NOT NULL,
    external_image_id TEXT,
    left_ REAL NOT NULL, top REAL NOT NULL, width REAL NOT NULL, height REAL NOT NULL,
    confidence REAL NOT NULL,
    descriptor BLOB NOT NULL,
    indexed_at REAL NOT NULL,
    user_id TEXT,
    consent_ref TEXT,
    last_matched_at REAL,
    PRIMARY KEY (collection_id, face_id)
);
CREATE INDEX IF NOT EXISTS faces_by_user ON faces (collection_id, user_id);
CREATE INDEX IF NOT EXISTS faces_by_image ON faces (collection_id, image_id);
CREATE TABLE IF NOT EXISTS users (
    collection_id TEXT NOT NULL REFERENCES collections (collection_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (collection_id, user_id)
);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS requests (
    scope TEXT NOT NULL, token TEXT NOT NULL, fingerprint TEXT NOT NULL,
    response TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (scope, token)
);
"""

_FACE_COLUMNS = (
    "face_id, image_id, external_image_id, left_, top, width, height, confidence, "
    "descriptor, indexed_at, user_id, consent_ref, last_matched_at"
)


def _face(row: sqlite3.Row | tuple) -> FaceRecord:  # type: ignore[type-arg]
    return FaceRecord(
        face_id=row[0], image_id=row[1], external_image_id=row[2],
        left=row[3], top=row[4], width=row[5], height=row[6], confidence=row[7],
        descriptor=np.frombuffer(row[8], dtype=np.float32), indexed_at=row[9], user_id=row[10],
        consent_ref=row[11], last_matched_at=row[12],
    )


def _next_key(rows: list, limit: int, after: str | None, key) -> str | None:  # type: ignore[no-untyped-def,type-arg]
    """Where the next page resumes: after this page's last row (or where this page began)."""
    if len(rows) <= limit:
        return None
    return key(rows[limit - 1]) if limit > 0 else (after or "")


def _int_key(after: str | None) -> int:
    return int(after) if after else 0


def _prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds [prefix, prefix-with-last-char+1) selecting exactly the strings starting with prefix
    (LIKE would read ``_`` and ``%`` in ids as wildcards)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class SQLiteStore:
    """:class:`~agnosco.storage.base.Store` on one SQLite file; safe to share between threads."""

    def __init__(self, path: Path | str, *, ann_threshold: int = ANN_THRESHOLD) -> None:
        self.path = Path(path)
        self.ann_threshold = ann_threshold
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives power loss
        self._db.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, so purged descriptors do not linger in free pages.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._upgrade()
        self._indexes: dict[str, tuple[int, ExactIndex | AnnIndex]] = {}  # collection -> (generation, index)
        self._unsaved: Counter[str] = Counter()  # collection -> changes to its AnnIndex since saved
        #: What happened to AnnIndexes ("loaded", "built", "repaired", "rejected", "saved"): for tests.
        self.ann_events: Counter[str] = Counter()

    def _upgrade(self) -> None:
        """Bring a database written by an earlier Agnosco up to :data:`SCHEMA`, atomically."""
        with self._tx() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(faces)")}
            for column, kind in (("consent_ref", "TEXT"), ("last_matched_at", "REAL")):
                if column not in columns:  # a database from before retention existed
                    db.execute(f"ALTER TABLE faces ADD COLUMN {column} {kind}")
            if "face_count" not in {row[1] for row in db.execute("PRAGMA table_info(collections)")}:
                # A database from before face counts were kept: count once, then keep them.
                db.execute("ALTER TABLE collections ADD COLUMN face_count INTEGER NOT NULL DEFAULT 0")
                db.execute("UPDATE collections SET face_count ="
                           " (SELECT COUNT(*) FROM faces f WHERE f.collection_id = collections.collection_id)")

    def close(self) -> None:
        with self._lock:
            for collection_id in list(self._unsaved):
                self._save_ann(collection_id)
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _require(self, db: sqlite3.Connection, collection_id: str) -> int:
        row = db.execute(
            "SELECT generation FROM collections WHERE collection_id = ?", (collection_id,)
        ).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return int(row[0])

    def _bump(self, db: sqlite3.Connection, collection_id: str, added: int) -> int:
        """A write changed the collection's faces (``added`` more, or fewer when negative):
        a new generation, and the kept face count.  Returns the generation."""
        db.execute(
            "UPDATE collections SET generation = generation + 1, face_count = face_count + ? WHERE collection_id = ?",
            (added, collection_id),
        )
        return self._require(db, collection_id)

    # collections -------------------------------------------------------------------------
    def create_collection(self, collection: Collection, tags: dict[str, str]) -> None:
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO collections (collection_id, arn, face_model_version, created_at) VALUES (?, ?, ?, ?)",
                    (collection.collection_id, collection.arn, collection.face_model_version, collection.created_at),
                )
            except sqlite3.IntegrityError:
                raise ResourceAlreadyExistsException(
                    f"The collection id: {collection.collection_id} already exists"
                ) from None
            db.execute("DELETE FROM tags WHERE arn = ?", (collection.arn,))
            db.executemany("INSERT INTO tags VALUES (?, ?, ?)", [(collection.arn, k, v) for k, v in tags.items()])

    def get_collection(self, collection_id: str) -> Collection:
        with self._lock:
            row = self._db.execute(
                "SELECT c.collection_id, c.arn, c.face_model_version, c.created_at, c.face_count,"
                " (SELECT COUNT(*) FROM users u WHERE u.collection_id = c.collection_id)"
                " FROM collections c WHERE c.collection_id = ?",
                (collection_id,),
            ).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return Collection(*row)

    def list_collections(self, after: str | None, limit: int) -> Page:
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, collection_id, arn, face_model_version, created_at FROM collections"
                " WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (_int_key(after), limit + 1),
            ).fetchall()
        items = [Collection(*row[1:]) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: str(row[0])))

    def delete_collection(self, collection_id: str) -> None:
        with self._tx() as db:
            self._require(db, collection_id)
            arn = db.execute("SELECT arn FROM collections WHERE collection_id = ?", (collection_id,)).fetchone()[0]
            db.execute("DELETE FROM faces WHERE collection_id = ?", (collection_id,))
            db.execute("DELETE FROM users WHERE collection_id = ?", (collection_id,))
            db.execute("DELETE FROM tags WHERE arn = ? OR (arn >= ? AND arn < ?)", (arn, *_prefix_range(arn + "/")))
            db.execute("DELETE FROM requests WHERE scope >= ? AND scope < ?", _prefix_range(collection_id + "/"))
            db.execute("DELETE FROM collections WHERE collection_id = ?", (collection_id,))
            self._indexes.pop(collection_id, None)
            self._unsaved.pop(collection_id, None)
        remove_files(self._ann_path(collection_id))  # it holds the deleted faces' descriptors

    # faces -------------------------------------------------------------------------------
    def add_faces(self, collection_id: str, faces: list[FaceRecord]) -> None:
        with self._lock:
            with self._tx() as db:
                self._require(db, collection_id)
                db.executemany(
                    f"INSERT INTO faces (collection_id, {_FACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (collection_id, f.face_id, f.image_id, f.external_image_id, f.left, f.top, f.width,
                         f.height, f.confidence, np.asarray(f.descriptor, np.float32).tobytes(),
                         f.indexed_at or time.time(), f.user_id, f.consent_ref, f.last_matched_at)
                        for f in faces
                    ],
                )
                generation = self._bump(db, collection_id, len(faces))
            if faces:
                self._follow(collection_id, generation, len(faces), lambda index: index.add(
                    [f.face_id for f in faces], np.stack([f.descriptor for f in faces])))

    def get_faces(self, collection_id: str, face_ids: list[str]) -> list[FaceRecord]:
        with self._lock:
            self._require(self._db, collection_id)
            marks = ",".join("?" * len(face_ids))
            rows = self._db.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND face_id IN ({marks})",
                (collection_id, *face_ids),
            ).fetchall()
        by_id = {row[0]: _face(row) for row in rows}
        return [by_id[i] for i in face_ids if i in by_id]

    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]:
        with self._lock:
            self._require(self._db, collection_id)
            rows = self._db.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND image_id = ?"
                " ORDER BY width * height DESC",
                (collection_id, image_id),
            ).fetchall()
        return [_face(row) for row in rows]

    def list_faces(
        self, collection_id: str, after: str | None, limit: int,
        user_id: str | None = None, face_ids: list[str] | None = None,
    ) -> Page:
        where, args = ["collection_id = ?", "face_id > ?"], [collection_id, after or ""]
        if user_id is not None:
            where.append("user_id = ?")
            args.append(user_id)
        if face_ids is not None:
            where.append(f"face_id IN ({','.join('?' * len(face_ids))})")
            args += face_ids
        with self._lock:
            self._require(self._db, collection_id)
            rows = self._db.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE {' AND '.join(where)} ORDER BY face_id LIMIT ?",
                (*args, limit + 1),
            ).fetchall()
        items = [_face(row) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: row[0]))

    def delete_faces(self, collection_id: str, face_ids: list[str]) -> list[str]:
        with self._lock:
            with self._tx() as db:
                self._require(db, collection_id)
                marks = ",".join("?" * len(face_ids))
                found = [
                    row[0] for row in db.execute(
                        f"SELECT face_id FROM faces WHERE collection_id = ? AND face_id IN ({marks})",
                        (collection_id, *face_ids),
                    )
                ]
                db.execute(f"DELETE FROM faces WHERE collection_id = ? AND face_id IN ({marks})", (collection_id, *face_ids))
                generation = self._bump(db, collection_id, -len(found))
            self._follow(collection_id, generation, len(found), lambda index: index.remove(found))
        return found

    def touch_faces(self, collection_id: str, face_ids: list[str], when: float) -> None:
        if not face_ids:
            return
        with self._tx() as db:
            marks = ",".join("?" * len(face_ids))
            db.execute(
                f"UPDATE faces SET last_matched_at = ? WHERE collection_id = ? AND face_id IN ({marks})",
                (when, collection_id, *face_ids),
            )

    def expired_faces(
        self, collection_id: str, indexed_before: float | None, unmatched_before: float | None
    ) -> list[FaceRecord]:
        clauses, args = [], []
        if indexed_before is not None:
            clauses.append("indexed_at < ?")
            args.append(indexed_before)
        if unmatched_before is not None:
            clauses.append("COALESCE(last_matched_at, indexed_at) < ?")
            args.append(unmatched_before)
        if not clauses:
            return []
        with self._lock:
            self._require(self._db, collection_id)
            rows = self._db.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND ({' OR '.join(clauses)})"
                " ORDER BY face_id",
                (collection_id, *args),
            ).fetchall()
        return [_face(row) for row in rows]

    def compact(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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

    # the search index: a cache of the faces table ---------------------------------------
    def _follow(self, collection_id: str, generation: int, changes: int, change) -> None:  # type: ignore[no-untyped-def]
        """Apply a committed write (the one that made ``generation``) to the cached index, if
        the cache was current just before it; otherwise drop the cache (another process wrote)."""
        cached = self._indexes.pop(collection_id, None)
        if cached is None or cached[0] != generation - 1:
            return
        index = cached[1]
        try:
            change(index)
        except Exception:  # the write is committed: only the cache is lost, rebuilt on next search
            log.exception("collection %s: search index update failed; it will be rebuilt", collection_id)
            self._unsaved.pop(collection_id, None)
            return
        if isinstance(index, AnnIndex):
            if len(index) <= self.ann_threshold // 2:  # shrunk well below: exact search again
                self._unsaved.pop(collection_id, None)
                return
            self._unsaved[collection_id] += changes
        elif len(index) > self.ann_threshold:  # grown past: the next search builds an AnnIndex
            return
        self._indexes[collection_id] = (generation, index)
        if self._unsaved[collection_id] >= max(1000, ANN_SAVE_FRACTION * len(index)):
            self._save_ann(collection_id)

    def _index(self, collection_id: str) -> ExactIndex | AnnIndex:
        generation = self._require(self._db, collection_id)
        cached = self._indexes.get(collection_id)
        if cached and cached[0] == generation:
            return cached[1]
        self._db.execute("BEGIN")  # one snapshot: the rows read are those of the generation read
        try:
            generation = self._require(self._db, collection_id)
            (count,) = self._db.execute(
                "SELECT face_count FROM collections WHERE collection_id = ?", (collection_id,)
            ).fetchone()
            index: ExactIndex | AnnIndex
            if count > self.ann_threshold:
                previous = cached[1] if cached and isinstance(cached[1], AnnIndex) else None
                index = self._ann_index(collection_id, generation, count, previous)
            else:
                index = ExactIndex(*self._rows(collection_id))
                self._unsaved.pop(collection_id, None)
        finally:
            self._db.execute("COMMIT")
        self._indexes[collection_id] = (generation, index)
        return index

    def _rows(self, collection_id: str) -> tuple[list[str], np.ndarray]:
        rows = self._db.execute(
            "SELECT face_id, descriptor FROM faces WHERE collection_id = ? ORDER BY face_id", (collection_id,)
        ).fetchall()
        return [r[0] for r in rows], np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, 128)

    def _ann_dir(self) -> Path:
        return self.path.with_name(self.path.name + ".ann")

    def _ann_path(self, collection_id: str) -> Path:
        return self._ann_dir() / (hashlib.sha256(collection_id.encode()).hexdigest()[:32] + ".idx")

    def _ann_meta(self, collection_id: str) -> dict[str, object] | None:
        """What identifies the collection an index file belongs to (a collection deleted and
        created again under the same id starts its generations afresh, but not its created_at);
        None if it no longer exists."""
        row = self._db.execute(
            "SELECT created_at FROM collections WHERE collection_id = ?", (collection_id,)
        ).fetchone()
        return {"collection_id": collection_id, "created_at": row[0]} if row else None

    def _ann_file_current(self, path: Path) -> bool:
        """Whether an index file holds exactly its collection's faces as SQLite has them now."""
        try:
            manifest = read_manifest(path)
        except IndexFileError:
            return False
        collection_id = manifest.get("collection_id")
        if not isinstance(collection_id, str) or path != self._ann_path(collection_id):
            return False
        row = self._db.execute(
            "SELECT generation, created_at FROM collections WHERE collection_id = ?", (collection_id,)
        ).fetchone()
        return row is not None and [manifest.get("generation"), manifest.get("created_at")] == list(row)

    def _ann_index(self, collection_id: str, generation: int, count: int, previous: AnnIndex | None) -> AnnIndex:
        """The collection's AnnIndex at ``generation``: the saved one if it is current, else the
        previous one (in memory or a stale file) repaired, else one built from SQLite."""
        start, path, meta = time.perf_counter(), self._ann_path(collection_id), self._ann_meta(collection_id)
        assert meta is not None  # the caller found the collection in this transaction
        if previous is None:
            try:
                previous = AnnIndex.load(path, meta)
                if previous.manifest.get("generation") == generation and len(previous) == count:
                    self.ann_events["loaded"] += 1
                    log.info("collection %s: ANN index of %d faces loaded in %.1f s",
                             collection_id, count, time.perf_counter() - start)
                    return previous
            except IndexFileError as exc:
                if path.exists() or path.with_name(path.name + ".json").exists():
                    self.ann_events["rejected"] += 1
                    log.warning("collection %s: %s; rebuilding it", collection_id, exc)
        ids, vectors = self._rows(collection_id)
        index, event = None, "built"
        if previous is not None:
            have_ids, have_vectors = previous.items()
            position = {face_id: i for i, face_id in enumerate(have_ids)}
            at = np.fromiter((position.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
            same = at >= 0
            same[same] = (have_vectors[at[same]] == vectors[same]).all(axis=1)
            fresh = np.flatnonzero(~same)  # new in SQLite, or the same id with another descriptor
            kept = {ids[i] for i in np.flatnonzero(same)}
            gone = [i for i in have_ids if i not in kept]
            if len(fresh) + len(gone) <= ANN_REPAIR_MAX * max(count, 1):
                previous.remove(gone)
                previous.add([ids[i] for i in fresh], vectors[fresh])
                index, event = previous, "repaired"
        if index is None:
            index = AnnIndex(ids, vectors)
        self.ann_events[event] += 1
        log.info("collection %s: ANN index of %d faces %s in %.1f s",
                 collection_id, count, event, time.perf_counter() - start)
        self._indexes[collection_id] = (generation, index)
        self._save_ann(collection_id)
        return index

    def _save_ann(self, collection_id: str) -> None:
        """Save the cached AnnIndex with the generation it is current at (a failure is logged:
        the file is only a cache, and a missing or stale one is rebuilt or repaired)."""
        cached = self._indexes.get(collection_id)
        self._unsaved.pop(collection_id, None)
        meta = self._ann_meta(collection_id)
        if cached is None or not isinstance(cached[1], AnnIndex) or meta is None:
            return
        start = time.perf_counter()
        try:
            cached[1].save(self._ann_path(collection_id), {**meta, "generation": cached[0]})
        except OSError as exc:
            log.warning("collection %s: could not save its ANN index: %s", collection_id, exc)
            return
        self.ann_events["saved"] += 1
        log.info("collection %s: ANN index of %d faces saved in %.1f s",
                 collection_id, len(cached[1]), time.perf_counter() - start)

    def search(
        self, collection_id: str, descriptor: np.ndarray, limit: int, max_distance: float,
        exclude_face_id: str | None = None,
    ) -> list[SearchHit]:
        with self._lock:
            index = self._index(collection_id)
            extra = 1 if exclude_face_id else 0
            hits = [(i, d) for i, d in index.search(descriptor, limit + extra, max_distance) if i != exclude_face_id]
            hits = hits[:limit]
            records = {f.face_id: f for f in self.get_faces(collection_id, [i for i, _ in hits])} if hits else {}
        return [SearchHit(records[i], d) for i, d in hits if i in records]

    # users -------------------------------------------------------------------------------
    def create_user(self, collection_id: str, user: UserRecord) -> None:
        with self._tx() as db:
            self._require(db, collection_id)
            try:
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                    (collection_id, user.user_id, user.status, user.created_at, user.updated_at),
                )
            except sqlite3.IntegrityError:
                raise ConflictException(f"User {user.user_id} already exists in collection {collection_id}") from None

    def get_user(self, collection_id: str, user_id: str) -> UserRecord:
        with self._lock:
            self._require(self._db, collection_id)
            row = self._db.execute(
                "SELECT user_id, status, created_at, updated_at FROM users WHERE collection_id = ? AND user_id = ?",
                (collection_id, user_id),
            ).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"User {user_id} does not exist in collection {collection_id}")
        return UserRecord(*row)

    def list_users(self, collection_id: str, after: str | None, limit: int) -> Page:
        with self._lock:
            self._require(self._db, collection_id)
            rows = self._db.execute(
                "SELECT user_id, status, created_at, updated_at FROM users"
                " WHERE collection_id = ? AND user_id > ? ORDER BY user_id LIMIT ?",
                (collection_id, after or "", limit + 1),
            ).fetchall()
        items = [UserRecord(*row) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: row[0]))

    def delete_user(self, collection_id: str, user_id: str) -> None:
        with self._tx() as db:
            self._require(db, collection_id)
            deleted = db.execute(
                "DELETE FROM users WHERE collection_id = ? AND user_id = ?", (collection_id, user_id)
            ).rowcount
            if not deleted:
                raise ResourceNotFoundException(f"User {user_id} does not exist in collection {collection_id}")
            db.execute("UPDATE faces SET user_id = NULL WHERE collection_id = ? AND user_id = ?", (collection_id, user_id))

    def set_face_user(self, collection_id: str, face_ids: list[str], user_id: str | None) -> None:
        with self._tx() as db:
            self._require(db, collection_id)
            marks = ",".join("?" * len(face_ids))
            db.execute(
                f"UPDATE faces SET user_id = ? WHERE collection_id = ? AND face_id IN ({marks})",
                (user_id, collection_id, *face_ids),
            )
            db.execute(
                "UPDATE users SET updated_at = ?, status = CASE WHEN EXISTS (SELECT 1 FROM faces f"
                " WHERE f.collection_id = users.collection_id AND f.user_id = users.user_id)"
                " THEN 'ACTIVE' ELSE 'CREATED' END WHERE collection_id = ?",
                (time.time(), collection_id),
            )

    def delete_empty_users(self, collection_id: str, created_before: float) -> list[str]:
        with self._tx() as db:
            self._require(db, collection_id)
            users = [row[0] for row in db.execute(
                "SELECT user_id FROM users u WHERE collection_id = ? AND created_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM faces f WHERE f.collection_id = u.collection_id AND f.user_id = u.user_id)"
                " ORDER BY user_id",
                (collection_id, created_before),
            )]
            db.executemany("DELETE FROM users WHERE collection_id = ? AND user_id = ?",
                           [(collection_id, u) for u in users])
        return users

    # tags --------------------------------------------------------------------------------
    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", [(arn, k, v) for k, v in tags.items()])

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])

    def list_tags(self, arn: str) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,)).fetchall())

    # idempotency -------------------------------------------------------------------------
    def recall_request(self, scope: str, token: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT fingerprint, response FROM requests WHERE scope = ? AND token = ?", (scope, token)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def remember_request(self, scope: str, token: str, fingerprint: str, response_json: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?, ?)",
                (scope, token, fingerprint, response_json, time.time()),
            )
