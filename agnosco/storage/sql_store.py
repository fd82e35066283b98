"""The face store, written once for SQLite and PostgreSQL on :mod:`agnosco.storage.database`.

:class:`SQLStore` implements :class:`~agnosco.storage.base.Store` with one transaction per
method, in the SQL both databases accept; what differs between the backends is the
:class:`~agnosco.storage.database.Database` (dialect, connections, locking) and the
nearest-neighbour search, a :class:`~agnosco.storage.neighbours.NeighbourSearch` strategy:
an in-process cache of exact and FAISS indexes for SQLite (:mod:`.index_cache`), pgvector's
HNSW index for PostgreSQL (:mod:`.pgvector_search`).

* **Writers of a collection's faces** lock its row first (``FOR NO KEY UPDATE`` on PostgreSQL;
  ``FOR UPDATE`` to delete it; SQLite's write transactions exclude each other anyway), and bump
  its ``generation`` and ``face_count`` in the same transaction, so a search strategy can tell
  whether what it caches is current, and neither search nor DescribeCollection counts rows.
  ``touch_faces`` is the exception: it updates the retention clock with ``SKIP LOCKED``, so a
  search never waits for (or deadlocks with) a concurrent write of the same faces; a face locked
  by such a write keeps its previous ``last_matched_at``.
* **Collections are listed by ``seq``**, their creation order, given under
  :meth:`~agnosco.storage.database.Transaction.serialize` so concurrent creators never take one
  number; ids compare bytewise on both backends (``TEXT COLLATE "C"`` on PostgreSQL), so
  listings and their resume keys agree.
* **Descriptors** are float32 blobs on SQLite and pgvector ``vector`` values on PostgreSQL, of the
  length the collection's face model gives them (``collections.descriptor_size``), so collections
  of different models live side by side; on PostgreSQL each length in use has its own partial
  HNSW index (:mod:`.pgvector_search`).
* **Schema.** The ``store`` component's migrations (:data:`MIGRATIONS`) run through
  :meth:`~agnosco.storage.database.Database.migrate`.  The first one also adopts the tables an
  earlier Agnosco made on its own (SQLite's from ``CREATE TABLE IF NOT EXISTS`` and added
  columns, PostgreSQL's with their ``schema_version`` table), bringing them to the same shape
  without losing a row.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agnosco.errors import (
    ConflictException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
)
from agnosco.storage.base import (
    Collection,
    FaceRecord,
    FaceStorage,
    Page,
    RememberedRequest,
    SearchHit,
    UserRecord,
)
from agnosco.storage.database import (
    POSTGRESQL,
    Database,
    Migrations,
    PostgresDatabase,
    SchemaError,
    SQLiteDatabase,
    Transaction,
)
from agnosco.storage.neighbours import CollectionHead, NeighbourSearch, Query

#: The descriptor length of every collection made before collections recorded theirs: dlib's ResNet.
_FIRST_DESCRIPTOR_SIZE = 128

_FACE_COLUMNS = (
    "face_id, image_id, external_image_id, left_, top, width, height, confidence, "
    "descriptor, indexed_at, user_id, consent_ref, last_matched_at"
)
_USER_COLUMNS = "user_id, status, created_at, updated_at"
#: The faces table's statement; ``{descriptor}`` is the column's type, ``{options}`` the storage's.
_FACES_TABLE = (
    "CREATE TABLE IF NOT EXISTS faces ("
    " collection_id TEXT NOT NULL REFERENCES collections (collection_id) ON DELETE CASCADE,"
    " face_id TEXT NOT NULL, image_id TEXT NOT NULL, external_image_id TEXT,"
    " left_ REAL NOT NULL, top REAL NOT NULL, width REAL NOT NULL, height REAL NOT NULL,"
    " confidence REAL NOT NULL, descriptor {descriptor} NOT NULL, indexed_at REAL NOT NULL,"
    " user_id TEXT, consent_ref TEXT, last_matched_at REAL,"
    " PRIMARY KEY (collection_id, face_id)){options}"
)
_TABLES = (
    (
        "CREATE TABLE IF NOT EXISTS collections ("
        " collection_id TEXT PRIMARY KEY, arn TEXT NOT NULL, face_model_version TEXT NOT NULL,"
        " created_at REAL NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS users ("
        " collection_id TEXT NOT NULL REFERENCES collections (collection_id) ON DELETE CASCADE,"
        " user_id TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
        " PRIMARY KEY (collection_id, user_id))"
    ),
    "CREATE TABLE IF NOT EXISTS tags (arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (arn, key))",
    (
        "CREATE TABLE IF NOT EXISTS requests ("
        " scope TEXT NOT NULL, token TEXT NOT NULL, fingerprint TEXT NOT NULL, response TEXT NOT NULL,"
        " created_at REAL NOT NULL, PRIMARY KEY (scope, token))"
    ),
)
#: Columns added after the first release: (table, column, definition).
_ADDED_COLUMNS = (
    ("collections", "seq", "INTEGER"),
    ("collections", "generation", "INTEGER NOT NULL DEFAULT 0"),
    ("collections", "face_count", "INTEGER NOT NULL DEFAULT 0"),
    ("faces", "consent_ref", "TEXT"),
    ("faces", "last_matched_at", "REAL"),
)
_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS collections_by_seq ON collections (seq)",
    "CREATE INDEX IF NOT EXISTS faces_by_user ON faces (collection_id, user_id)",
    "CREATE INDEX IF NOT EXISTS faces_by_image ON faces (collection_id, image_id)",
)
#: The PostgreSQL schema versions an earlier Agnosco recorded in its own ``schema_version`` table.
_LEGACY_POSTGRES_VERSIONS = 2


def _create_or_adopt(tx: Transaction) -> None:
    """The store's tables in their first recorded shape: created, or an earlier Agnosco's brought
    to it (its missing columns added and filled in, nothing else touched)."""
    postgres = tx.dialect == POSTGRESQL
    if postgres and tx.table_exists("schema_version"):
        (legacy,) = tx.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        if legacy > _LEGACY_POSTGRES_VERSIONS:
            raise SchemaError(
                f"the face store's tables are version {legacy}, newer than this Agnosco knows "
                f"({_LEGACY_POSTGRES_VERSIONS}): upgrade Agnosco"
            )
    for statement in _TABLES:
        tx.execute(tx.ddl(statement))
    tx.execute(
        tx.ddl(
            _FACES_TABLE.format(
                descriptor=f"vector({_FIRST_DESCRIPTOR_SIZE})" if postgres else "BLOB",
                # Room on each page for HOT updates of last_matched_at (touch_faces), which then rewrite
                # neither the HNSW index nor the other indexes.
                options=" WITH (fillfactor = 80)" if postgres else "",
            )
        )
    )
    for table, column, definition in _ADDED_COLUMNS:
        if column not in tx.columns(table):
            tx.execute(tx.ddl(f"ALTER TABLE {table} ADD COLUMN {column} {definition}"))
            if column == "face_count":  # kept from now on; counted once
                tx.execute(
                    "UPDATE collections SET face_count ="
                    " (SELECT COUNT(*) FROM faces f WHERE f.collection_id = collections.collection_id)"
                )
            if column == "seq":  # creation order, as the listing had it (SQLite's rowid order)
                tx.execute(
                    "UPDATE collections SET seq = rowid"
                    if not postgres
                    else "UPDATE collections SET seq = (SELECT COUNT(*) FROM collections c"
                    " WHERE c.created_at < collections.created_at OR (c.created_at = collections.created_at"
                    " AND c.collection_id <= collections.collection_id))"
                )
    for statement in _INDEXES:
        tx.execute(statement)
    if postgres:  # (the HNSW indexes are version 2's, one per descriptor length)
        tx.execute("DROP TABLE IF EXISTS schema_version")  # its record is agnosco_schema's now


def _descriptor_size_per_collection(tx: Transaction) -> None:
    """Each collection records its descriptors' length; on PostgreSQL the column takes any length
    and the HNSW index becomes one partial index per length (the first model's, to begin with)."""
    tx.execute(
        f"ALTER TABLE collections ADD COLUMN descriptor_size INTEGER NOT NULL DEFAULT {_FIRST_DESCRIPTOR_SIZE}"
    )
    if tx.dialect == POSTGRESQL:
        from agnosco.storage.pgvector_search import create_hnsw_index

        tx.execute("DROP INDEX IF EXISTS faces_by_descriptor")
        tx.execute("ALTER TABLE faces ALTER COLUMN descriptor TYPE vector")
        create_hnsw_index(tx, _FIRST_DESCRIPTOR_SIZE)


#: The store's migrations; version N is MIGRATIONS[N - 1].  Append, never edit.
MIGRATIONS: Migrations = [[_create_or_adopt], [_descriptor_size_per_collection]]


def _intervals_of_stored_faces(tx: Transaction) -> None:
    """Faces stored before intervals were kept: stored since they were indexed, by no one known."""
    tx.execute(
        "INSERT INTO face_intervals (collection_id, face_id, principal, stored_at, deleted_at)"
        " SELECT collection_id, face_id, NULL, indexed_at, NULL FROM faces"
    )


#: The ``face_usage`` component's migrations: each face's stored interval, kept after the face
#: is deleted (usage is metered from them; ``agnosco.governance.usage``).
USAGE_MIGRATIONS: Migrations = [
    [
        (
            "CREATE TABLE face_intervals ("
            " collection_id TEXT NOT NULL, face_id TEXT NOT NULL, principal TEXT,"
            " stored_at REAL NOT NULL, deleted_at REAL,"
            " PRIMARY KEY (collection_id, face_id, stored_at))"
        ),
        "CREATE INDEX face_intervals_live ON face_intervals (principal, deleted_at)",
        "CREATE INDEX face_intervals_by_time ON face_intervals (stored_at, deleted_at)",
        _intervals_of_stored_faces,
    ]
]


def _face(row: Sequence[Any]) -> FaceRecord:
    stored = row[8]
    descriptor = (
        np.frombuffer(stored, dtype=np.float32)
        if isinstance(stored, bytes | memoryview)
        else stored.to_numpy()
    )  # pgvector's Vector
    return FaceRecord(
        face_id=row[0],
        image_id=row[1],
        external_image_id=row[2],
        left=row[3],
        top=row[4],
        width=row[5],
        height=row[6],
        confidence=row[7],
        descriptor=descriptor,
        indexed_at=row[9],
        user_id=row[10],
        consent_ref=row[11],
        last_matched_at=row[12],
    )


def _user(row: Sequence[Any]) -> UserRecord:
    return UserRecord(user_id=row[0], status=row[1], created_at=row[2], updated_at=row[3])


def _next_key(rows: Sequence[Any], limit: int, after: str | None, key: Any) -> str | None:
    """Where the next page resumes: after this page's last row; with ``limit`` 0 and more rows,
    where this empty page began (``after``, or ``""`` from the start)."""
    if len(rows) <= limit:
        return None
    return str(key(rows[limit - 1])) if limit > 0 else (after or "")


def _marks(values: Sequence[object]) -> str:
    """Placeholders for ``IN (...)``; ``NULL`` for none (PostgreSQL refuses ``IN ()``), which
    matches nothing."""
    return ",".join("?" * len(values)) or "NULL"


def _prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds [prefix, prefix-with-last-char+1) selecting exactly the strings starting with prefix
    (LIKE would read ``_`` and ``%`` in ids as wildcards)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class SQLStore:
    """:class:`~agnosco.storage.base.Store` on a :class:`Database`; safe to share between threads
    and, being transactional, between processes.  Closes the database only when ``owned``."""

    def __init__(
        self, database: Database, neighbours: NeighbourSearch, *, owned: bool = False
    ) -> None:
        self._db, self._owned, self.neighbours = database, owned, neighbours
        try:
            database.migrate("store", MIGRATIONS)
            database.migrate("face_usage", USAGE_MIGRATIONS)
        except BaseException:
            self.close()
            raise

    @classmethod
    def sqlite(
        cls, path: Path | str, *, database: Database | None = None, **options: Any
    ) -> SQLStore:
        """The embedded store in the SQLite file ``path``: in ``database`` (that file, opened by
        the caller, who closes it) or on a database opened here; ``options`` go to
        :class:`~agnosco.storage.index_cache.IndexCache`."""
        from agnosco.storage.index_cache import IndexCache

        db = database or SQLiteDatabase(Path(path))
        return cls(db, IndexCache(db, Path(path), **options), owned=database is None)

    @classmethod
    def postgres(
        cls, dsn: str, *, database: Database | None = None, owned: bool = False, **options: Any
    ) -> SQLStore:
        """The shared store in a PostgreSQL database: in ``database`` (closed with the store only
        when ``owned``) or on a pool opened here (``options``: ``min_size``, ``max_size``)."""
        from agnosco.storage.pgvector_search import PgvectorSearch

        if database is None:
            database, owned = PostgresDatabase(dsn, **options), True
        return cls(database, PgvectorSearch(), owned=owned)

    @property
    def database(self) -> Database:
        return self._db

    def close(self) -> None:
        self.neighbours.close()
        if self._owned:
            self._db.close()

    def compact(self) -> None:
        self._db.compact(["faces"])
        self.neighbours.compact()

    @staticmethod
    def _require(tx: Transaction, collection_id: str, lock: str = "") -> CollectionHead:
        """The collection's row (it must exist); ``lock`` (``"NO KEY UPDATE"``...) locks it."""
        row = tx.execute(
            "SELECT generation, face_count, created_at, descriptor_size FROM collections WHERE collection_id = ?"
            + (tx.locking(lock) if lock else ""),
            (collection_id,),
        ).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return CollectionHead(collection_id, int(row[0]), int(row[1]), float(row[2]), int(row[3]))

    @staticmethod
    def _bump(tx: Transaction, collection_id: str, added: int) -> int:
        """A write changed the collection's faces (``added`` more, or fewer when negative): a new
        generation, and the kept face count.  Returns the generation."""
        (generation,) = tx.execute(
            "UPDATE collections SET generation = generation + 1, face_count = face_count + ?"
            " WHERE collection_id = ? RETURNING generation",
            (added, collection_id),
        ).fetchone()
        return int(generation)

    # collections -------------------------------------------------------------------------
    def create_collection(self, collection: Collection, tags: Mapping[str, str]) -> None:
        with self._db.write() as tx:
            tx.serialize("collections")
            if tx.execute(
                "SELECT 1 FROM collections WHERE collection_id = ?", (collection.collection_id,)
            ).fetchone():
                raise ResourceAlreadyExistsException(
                    f"The collection id: {collection.collection_id} already exists"
                )
            if collection.descriptor_size <= 0:
                raise ValueError(
                    f"a descriptor size must be positive, not {collection.descriptor_size}"
                )
            self.neighbours.prepare(tx, collection.descriptor_size)
            tx.execute(
                "INSERT INTO collections (collection_id, seq, arn, face_model_version, created_at, descriptor_size)"
                " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM collections",
                (
                    collection.collection_id,
                    collection.arn,
                    collection.face_model_version,
                    float(collection.created_at),
                    int(collection.descriptor_size),
                ),
            )
            tx.execute("DELETE FROM tags WHERE arn = ?", (collection.arn,))
            tx.executemany(
                "INSERT INTO tags (arn, key, value) VALUES (?, ?, ?)",
                [(collection.arn, k, v) for k, v in sorted(tags.items())],
            )

    def get_collection(self, collection_id: str) -> Collection:
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT c.collection_id, c.arn, c.face_model_version, c.created_at, c.descriptor_size, c.face_count,"
                " (SELECT COUNT(*) FROM users u WHERE u.collection_id = c.collection_id)"
                " FROM collections c WHERE c.collection_id = ?",
                (collection_id,),
            ).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return Collection(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]), int(row[6]))

    def list_collections(self, after: str | None, limit: int) -> Page[Collection]:
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT seq, collection_id, arn, face_model_version, created_at, descriptor_size FROM collections"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (int(after) if after else 0, limit + 1),
            ).fetchall()
        items = [Collection(*row[1:]) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: row[0]))

    def delete_collection(self, collection_id: str, *, when: float | None = None) -> None:
        with self._db.write() as tx:
            self._require(tx, collection_id, "UPDATE")
            tx.execute(
                "UPDATE face_intervals SET deleted_at = ? WHERE collection_id = ? AND deleted_at IS NULL",
                (float(time.time() if when is None else when), collection_id),
            )
            (arn,) = tx.execute(
                "SELECT arn FROM collections WHERE collection_id = ?", (collection_id,)
            ).fetchone()
            tx.execute("DELETE FROM faces WHERE collection_id = ?", (collection_id,))
            tx.execute("DELETE FROM users WHERE collection_id = ?", (collection_id,))
            tx.execute(
                "DELETE FROM tags WHERE arn = ? OR (arn >= ? AND arn < ?)",
                (arn, *_prefix_range(arn + "/")),
            )
            tx.execute(
                "DELETE FROM requests WHERE scope >= ? AND scope < ?",
                _prefix_range(collection_id + "/"),
            )
            tx.execute("DELETE FROM collections WHERE collection_id = ?", (collection_id,))
        self.neighbours.forget(collection_id)

    # faces -------------------------------------------------------------------------------
    def add_faces(
        self,
        collection_id: str,
        faces: list[FaceRecord],
        *,
        principal: str | None = None,
        face_limit: int | None = None,
    ) -> None:
        with self._db.write() as tx:
            head = self._require(tx, collection_id, "NO KEY UPDATE")
            if not faces:
                return
            if face_limit is not None:
                # One principal's writers in turn (an advisory lock on PostgreSQL, SQLite's write
                # lock), so no two of them, on any replica, both pass the count below.
                tx.serialize(f"face_quota:{principal}")
                stored = self._faces_stored_by(tx, principal)
                if stored + len(faces) > face_limit:
                    raise ServiceQuotaExceededException(
                        f"The number of faces stored exceeds the allowed limit: principal "
                        f"{principal} may store {face_limit} faces, stores {stored}, and this "
                        f"request would add {len(faces)}."
                    )
            for f in faces:
                if np.size(f.descriptor) != head.descriptor_size:
                    raise ValueError(
                        f"face {f.face_id}: a descriptor of {np.size(f.descriptor)} values in a "
                        f"collection of {head.descriptor_size}-value descriptors"
                    )
            tx.executemany(
                f"INSERT INTO faces (collection_id, {_FACE_COLUMNS}) VALUES (?, {_marks(range(13))})",
                [
                    (
                        collection_id,
                        f.face_id,
                        f.image_id,
                        f.external_image_id,
                        float(f.left),
                        float(f.top),
                        float(f.width),
                        float(f.height),
                        float(f.confidence),
                        self._stored(tx, f.descriptor),
                        float(f.indexed_at or time.time()),
                        f.user_id,
                        f.consent_ref,
                        None if f.last_matched_at is None else float(f.last_matched_at),
                    )
                    for f in faces
                ],
            )
            # A face id deleted and stored again with the same indexed_at (a restore, a reused
            # id) opens its interval again rather than colliding with the closed one.
            tx.executemany(
                "INSERT INTO face_intervals (collection_id, face_id, principal, stored_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (collection_id, face_id, stored_at)"
                " DO UPDATE SET principal = excluded.principal, deleted_at = NULL",
                [
                    (collection_id, f.face_id, principal, float(f.indexed_at or time.time()))
                    for f in faces
                ],
            )
            generation = self._bump(tx, collection_id, len(faces))
        self.neighbours.changed(collection_id, generation, added=faces)

    @staticmethod
    def _faces_stored_by(tx: Transaction, principal: str | None) -> int:
        (count,) = tx.execute(
            "SELECT COUNT(*) FROM face_intervals WHERE principal IS NOT DISTINCT FROM ?"
            " AND deleted_at IS NULL"
            if tx.dialect == POSTGRESQL
            else "SELECT COUNT(*) FROM face_intervals WHERE principal IS ? AND deleted_at IS NULL",
            (principal,),
        ).fetchone()
        return int(count)

    def faces_stored_by(self, principal: str) -> int:
        with self._db.read() as tx:
            return self._faces_stored_by(tx, principal)

    def face_storage(self, since: float, until: float) -> list[FaceStorage]:
        """Per principal and collection, the face-seconds stored within ``[since, until)`` and
        the faces stored at ``until``, from the faces' intervals (deleted faces' included)."""
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT principal, collection_id,"
                " SUM((CASE WHEN deleted_at IS NULL OR deleted_at > ? THEN ? ELSE deleted_at END)"
                "     - (CASE WHEN stored_at < ? THEN ? ELSE stored_at END)),"
                " SUM(CASE WHEN deleted_at IS NULL OR deleted_at > ? THEN 1 ELSE 0 END)"
                " FROM face_intervals"
                " WHERE stored_at < ? AND (deleted_at IS NULL OR deleted_at > ?)"
                " GROUP BY principal, collection_id ORDER BY principal, collection_id",
                (until, until, since, since, until, until, since),
            ).fetchall()
        return [FaceStorage(row[0], row[1], float(row[2]), int(row[3])) for row in rows]

    @staticmethod
    def _stored(tx: Transaction, descriptor: np.ndarray) -> object:
        vector = np.asarray(descriptor, np.float32).reshape(-1)
        return vector if tx.dialect == POSTGRESQL else vector.tobytes()

    def _faces_by_id(
        self, tx: Transaction, collection_id: str, face_ids: Sequence[str]
    ) -> dict[str, FaceRecord]:
        if not face_ids:
            return {}
        rows = tx.execute(
            f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND face_id IN ({_marks(face_ids)})",
            (collection_id, *face_ids),
        ).fetchall()
        return {row[0]: _face(row) for row in rows}

    def get_faces(self, collection_id: str, face_ids: list[str]) -> list[FaceRecord]:
        with self._db.read() as tx:
            self._require(tx, collection_id)
            by_id = self._faces_by_id(tx, collection_id, face_ids)
        return [by_id[i] for i in face_ids if i in by_id]

    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]:
        with self._db.read() as tx:
            self._require(tx, collection_id)
            rows = tx.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND image_id = ?"
                " ORDER BY width * height DESC, face_id",
                (collection_id, image_id),
            ).fetchall()
        return [_face(row) for row in rows]

    def list_faces(
        self,
        collection_id: str,
        after: str | None,
        limit: int,
        user_id: str | None = None,
        face_ids: Sequence[str] | None = None,
    ) -> Page[FaceRecord]:
        where, args = ["collection_id = ?", "face_id > ?"], [collection_id, after or ""]
        if user_id is not None:
            where.append("user_id = ?")
            args.append(user_id)
        if face_ids is not None:
            where.append(f"face_id IN ({_marks(face_ids)})")
            args += face_ids
        with self._db.read() as tx:
            self._require(tx, collection_id)
            rows = tx.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE {' AND '.join(where)} ORDER BY face_id LIMIT ?",
                (*args, limit + 1),
            ).fetchall()
        items = [_face(row) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: row[0]))

    def delete_faces(
        self, collection_id: str, face_ids: list[str], *, when: float | None = None
    ) -> list[str]:
        with self._db.write() as tx:
            self._require(tx, collection_id, "NO KEY UPDATE")
            if not face_ids:
                return []
            found = sorted(
                row[0]
                for row in tx.execute(
                    f"DELETE FROM faces WHERE collection_id = ? AND face_id IN ({_marks(face_ids)}) RETURNING face_id",
                    (collection_id, *face_ids),
                ).fetchall()
            )
            if not found:
                return []
            tx.execute(
                "UPDATE face_intervals SET deleted_at = ? WHERE collection_id = ?"
                f" AND face_id IN ({_marks(found)}) AND deleted_at IS NULL",
                (float(time.time() if when is None else when), collection_id, *found),
            )
            generation = self._bump(tx, collection_id, -len(found))
        self.neighbours.changed(collection_id, generation, removed=found)
        return found

    def touch_faces(self, collection_id: str, face_ids: list[str], when: float) -> None:
        if not face_ids:
            return
        with self._db.write() as tx:
            tx.execute(
                "UPDATE faces SET last_matched_at = ? WHERE collection_id = ? AND face_id IN ("
                f" SELECT face_id FROM faces WHERE collection_id = ? AND face_id IN ({_marks(face_ids)})"
                f" ORDER BY face_id{tx.locking('NO KEY UPDATE SKIP LOCKED')})",
                (float(when), collection_id, collection_id, *face_ids),
            )

    def expired_faces(
        self, collection_id: str, indexed_before: float | None, unmatched_before: float | None
    ) -> list[FaceRecord]:
        clauses: list[str] = []
        args: list[float] = []
        if indexed_before is not None:
            clauses.append("indexed_at < ?")
            args.append(float(indexed_before))
        if unmatched_before is not None:
            clauses.append("COALESCE(last_matched_at, indexed_at) < ?")
            args.append(float(unmatched_before))
        if not clauses:
            return []
        with self._db.read() as tx:
            self._require(tx, collection_id)
            rows = tx.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = ? AND ({' OR '.join(clauses)})"
                " ORDER BY face_id",
                (collection_id, *args),
            ).fetchall()
        return [_face(row) for row in rows]

    def search(
        self,
        collection_id: str,
        descriptor: np.ndarray,
        limit: int,
        max_distance: float,
        exclude_face_id: str | None = None,
    ) -> list[SearchHit]:
        query = np.asarray(descriptor, dtype=np.float32).reshape(-1)
        with self._db.read() as tx:
            head = self._require(tx, collection_id)
            if len(query) != head.descriptor_size:
                raise ValueError(
                    f"a query of {len(query)} values in a collection of "
                    f"{head.descriptor_size}-value descriptors"
                )
            if limit <= 0 or head.face_count == 0:
                return []
            wanted = Query(query, limit, float(max_distance), exclude_face_id)
            hits = self.neighbours.nearest(tx, head, wanted)
            records = self._faces_by_id(tx, collection_id, [hit.face_id for hit in hits])
        return [SearchHit(records[h.face_id], h.distance) for h in hits if h.face_id in records]

    # users -------------------------------------------------------------------------------
    def create_user(self, collection_id: str, user: UserRecord) -> None:
        with self._db.write() as tx:
            self._require(tx, collection_id, "NO KEY UPDATE")
            inserted = tx.execute(
                f"INSERT INTO users (collection_id, {_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (collection_id, user_id) DO NOTHING",
                (
                    collection_id,
                    user.user_id,
                    user.status,
                    float(user.created_at),
                    float(user.updated_at),
                ),
            ).rowcount
            if not inserted:
                raise ConflictException(
                    f"User {user.user_id} already exists in collection {collection_id}"
                )

    def get_user(self, collection_id: str, user_id: str) -> UserRecord:
        with self._db.read() as tx:
            self._require(tx, collection_id)
            row = tx.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE collection_id = ? AND user_id = ?",
                (collection_id, user_id),
            ).fetchone()
        if row is None:
            raise ResourceNotFoundException(
                f"User {user_id} does not exist in collection {collection_id}"
            )
        return _user(row)

    def list_users(self, collection_id: str, after: str | None, limit: int) -> Page[UserRecord]:
        with self._db.read() as tx:
            self._require(tx, collection_id)
            rows = tx.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE collection_id = ? AND user_id > ? ORDER BY user_id LIMIT ?",
                (collection_id, after or "", limit + 1),
            ).fetchall()
        items = [_user(row) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: row[0]))

    def delete_user(self, collection_id: str, user_id: str) -> None:
        with self._db.write() as tx:
            self._require(tx, collection_id, "NO KEY UPDATE")
            deleted = tx.execute(
                "DELETE FROM users WHERE collection_id = ? AND user_id = ?",
                (collection_id, user_id),
            ).rowcount
            if not deleted:
                raise ResourceNotFoundException(
                    f"User {user_id} does not exist in collection {collection_id}"
                )
            tx.execute(
                "UPDATE faces SET user_id = NULL WHERE collection_id = ? AND user_id = ?",
                (collection_id, user_id),
            )

    def set_face_user(self, collection_id: str, face_ids: list[str], user_id: str | None) -> None:
        with self._db.write() as tx:
            self._require(tx, collection_id, "NO KEY UPDATE")
            if face_ids:
                tx.execute(
                    f"UPDATE faces SET user_id = ? WHERE collection_id = ? AND face_id IN ({_marks(face_ids)})",
                    (user_id, collection_id, *face_ids),
                )
            tx.execute(
                "UPDATE users SET updated_at = ?, status = CASE WHEN EXISTS (SELECT 1 FROM faces f"
                " WHERE f.collection_id = users.collection_id AND f.user_id = users.user_id)"
                " THEN 'ACTIVE' ELSE 'CREATED' END WHERE collection_id = ?",
                (time.time(), collection_id),
            )

    def delete_empty_users(self, collection_id: str, created_before: float) -> list[str]:
        with self._db.write() as tx:
            self._require(tx, collection_id, "NO KEY UPDATE")
            return sorted(
                row[0]
                for row in tx.execute(
                    "DELETE FROM users WHERE collection_id = ? AND created_at < ? AND NOT EXISTS"
                    " (SELECT 1 FROM faces f WHERE f.collection_id = users.collection_id AND f.user_id = users.user_id)"
                    " RETURNING user_id",
                    (collection_id, float(created_before)),
                ).fetchall()
            )

    # tags --------------------------------------------------------------------------------
    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        with self._db.write() as tx:
            tx.executemany(
                "INSERT INTO tags (arn, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
                [(arn, k, v) for k, v in sorted(tags.items())],
            )

    def untag_resource(self, arn: str, keys: Sequence[str]) -> None:
        with self._db.write() as tx:
            tx.executemany(
                "DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in sorted(keys)]
            )

    def list_tags(self, arn: str) -> dict[str, str]:
        with self._db.read() as tx:
            return {
                k: v
                for k, v in tx.execute(
                    "SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,)
                )
            }

    # idempotency -------------------------------------------------------------------------
    def recall_request(self, scope: str, token: str) -> RememberedRequest | None:
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT fingerprint, response FROM requests WHERE scope = ? AND token = ?",
                (scope, token),
            ).fetchone()
        return RememberedRequest(fingerprint=row[0], response_json=row[1]) if row else None

    def remember_request(
        self, scope: str, token: str, fingerprint: str, response_json: str
    ) -> None:
        with self._db.write() as tx:
            tx.execute(
                "INSERT INTO requests (scope, token, fingerprint, response, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (scope, token) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " response = excluded.response, created_at = excluded.created_at",
                (scope, token, fingerprint, response_json, time.time()),
            )
