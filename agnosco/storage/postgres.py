"""The shared store: PostgreSQL with the pgvector extension, for several server processes.

Same observable behaviour as :class:`~agnosco.storage.sqlite.SQLiteStore` (the contract suite in
``tests/storage`` runs on both); what differs is underneath:

* **Transactions.** Each method borrows a connection from a ``psycopg_pool`` pool and runs in
  one transaction (autocommit off, READ COMMITTED).  Writers lock their collection's row first
  (``FOR NO KEY UPDATE``; ``FOR UPDATE`` to delete it), so writes to one collection are
  serialised as SQLite serialises all writes, and a collection cannot vanish under a write.
  ``touch_faces`` is the exception: it updates the retention clock with ``SKIP LOCKED``, so a
  search never waits for (or deadlocks with) a concurrent write of the same faces; a face locked
  by such a write keeps its previous ``last_matched_at``.
* **Search.** Descriptors are ``vector(128)`` in the ``faces`` table with one HNSW index
  (``vector_l2_ops``: Euclidean distance, the metric the Similarity calibration is defined in).
  Nothing is cached in the process, so every search sees every face committed before it began,
  whichever process wrote it.  Each collection's row keeps its face count (updated by the
  writers under the row lock they take anyway), so neither search nor DescribeCollection counts
  rows.  A collection of at most :data:`EXACT_SEARCH_MAX` faces is
  searched exactly (``l2_distance()`` of every row of the collection: the HNSW index cannot
  serve that function, only its ``<->`` operator); a larger one through the HNSW index with
  ``hnsw.ef_search = min(1000, max(400, 2 * n))`` for ``n`` wanted rows and
  ``hnsw.iterative_scan = relaxed_order``: the index is shared by all collections and the
  collection filter is applied after the graph search, so without iterative scanning a
  collection that is a small part of the table would get fewer rows than it has within reach.
  Relaxed order gives better recall than strict order; the rows are re-sorted here anyway.
  The nearest ``n`` rows are fetched in a materialized CTE and filtered by distance outside it
  (pgvector's advice); ``n`` starts small and grows only while every row fetched is within
  ``max_distance``, so a thresholded search over a large collection reads few rows.
  Distances are re-measured in float32 with numpy from the stored descriptors, exactly as
  :class:`~agnosco.storage.vector_index.ExactIndex` measures them.
* **Schema.** Migrations (:data:`MIGRATIONS`) run when a store opens, in one transaction, under
  ``pg_advisory_xact_lock`` so processes starting together do not race; ``schema_version``
  records what is applied.  A database newer than this code is refused.
* **Ids** are ``TEXT COLLATE "C"``: byte order, as SQLite compares them, so listings and their
  resume keys agree between the two backends.
* **compact()** runs ``VACUUM faces`` (outside a transaction), which removes dead face rows and
  their HNSW entries.  Measured on PostgreSQL 18.6 with pgvector 0.8.6 (and checked by
  ``tests/storage/test_postgres.py``): afterwards a deleted descriptor's bytes are in neither the
  table's nor the index's files.  PostgreSQL does not promise that, and copies stay in the WAL
  (and in any WAL archive, backup or replica) until those are recycled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import errors as pgerrors
from psycopg_pool import ConnectionPool

from agnosco.errors import (
    ConflictException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from agnosco.storage.base import Collection, FaceRecord, Page, SearchHit, UserRecord

#: Collections with at most this many faces are searched exactly, without the HNSW index.
EXACT_SEARCH_MAX = 10_000
#: The first number of nearest rows an HNSW search asks for (it grows while all are in reach).
FIRST_BATCH = 64
#: hnsw.ef_search is max(MIN_EF_SEARCH, 2 * rows wanted), at most pgvector's ceiling of 1000.
#: Measured with bench/api.py's synthetic descriptors (5 per identity), m=16, ef_construction=64,
#: a new photo of a stored identity as the query: the share of queries that found its 5 stored
#: photos was, at 50k faces, 0.94 / 0.99 / 0.995 / 1.0 with ef_search 40 / 100 / 200 / 400
#: (1.5 / 2.3 / 3.5 / 5.3 ms; exact: 17 ms), and at 200k faces 0.92 / 0.96 / 0.988 / 0.995 with
#: 100 / 200 / 400 / 800 (4 / 8 / 10 / 20 ms; exact: 65 ms).  Misses are whole identities.
MIN_EF_SEARCH = 400
MAX_EF_SEARCH = 1000
#: Key of the advisory lock that serialises schema migrations (per database): "agnosco" in ASCII.
MIGRATION_LOCK = int.from_bytes(b"agnosco", "big")

#: Schema migrations in order; version N is MIGRATIONS[N - 1].  Append, never edit.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE collections (
            seq BIGSERIAL NOT NULL UNIQUE,
            collection_id TEXT COLLATE "C" PRIMARY KEY,
            arn TEXT COLLATE "C" NOT NULL,
            face_model_version TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        # fillfactor leaves room on each page for HOT updates of last_matched_at (touch_faces),
        # which then rewrite neither the HNSW index nor the other indexes.
        """CREATE TABLE faces (
            collection_id TEXT COLLATE "C" NOT NULL
                REFERENCES collections (collection_id) ON DELETE CASCADE,
            face_id TEXT COLLATE "C" NOT NULL,
            image_id TEXT COLLATE "C" NOT NULL,
            external_image_id TEXT,
            left_ DOUBLE PRECISION NOT NULL,
            top DOUBLE PRECISION NOT NULL,
            width DOUBLE PRECISION NOT NULL,
            height DOUBLE PRECISION NOT NULL,
            confidence DOUBLE PRECISION NOT NULL,
            descriptor vector(128) NOT NULL,
            indexed_at DOUBLE PRECISION NOT NULL,
            user_id TEXT COLLATE "C",
            consent_ref TEXT,
            last_matched_at DOUBLE PRECISION,
            PRIMARY KEY (collection_id, face_id)
        ) WITH (fillfactor = 80)""",
        "CREATE INDEX faces_by_user ON faces (collection_id, user_id)",
        "CREATE INDEX faces_by_image ON faces (collection_id, image_id)",
        (
            "CREATE INDEX faces_by_descriptor ON faces USING hnsw (descriptor vector_l2_ops)"
            " WITH (m = 16, ef_construction = 64)"
        ),
        """CREATE TABLE users (
            collection_id TEXT COLLATE "C" NOT NULL
                REFERENCES collections (collection_id) ON DELETE CASCADE,
            user_id TEXT COLLATE "C" NOT NULL,
            status TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (collection_id, user_id)
        )""",
        """CREATE TABLE tags (
            arn TEXT COLLATE "C" NOT NULL,
            key TEXT COLLATE "C" NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (arn, key)
        )""",
        """CREATE TABLE requests (
            scope TEXT COLLATE "C" NOT NULL,
            token TEXT COLLATE "C" NOT NULL,
            fingerprint TEXT NOT NULL,
            response TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (scope, token)
        )""",
    ],
    # 2: each collection's face count, kept by the writers (who hold its row's lock anyway), so
    # that a search can choose between exact and HNSW search, and DescribeCollection can answer,
    # without counting a large collection's rows.
    [
        "ALTER TABLE collections ADD COLUMN face_count BIGINT NOT NULL DEFAULT 0 CHECK (face_count >= 0)",
        "UPDATE collections c SET face_count = (SELECT COUNT(*) FROM faces f WHERE f.collection_id = c.collection_id)",
    ],
]

_FACE_COLUMNS = (
    "face_id, image_id, external_image_id, left_, top, width, height, confidence, "
    "descriptor, indexed_at, user_id, consent_ref, last_matched_at"
)
_F_FACE_COLUMNS = ", ".join("f." + c.strip() for c in _FACE_COLUMNS.split(","))


def _face(row: Sequence[Any]) -> FaceRecord:
    return FaceRecord(
        face_id=row[0], image_id=row[1], external_image_id=row[2],
        left=row[3], top=row[4], width=row[5], height=row[6], confidence=row[7],
        descriptor=row[8].to_numpy(), indexed_at=row[9], user_id=row[10],
        consent_ref=row[11], last_matched_at=row[12],
    )


def _next_key(rows: list, limit: int, after: str | None, key) -> str | None:  # type: ignore[no-untyped-def,type-arg]
    """Where the next page resumes: after this page's last row (or where this page began).

    The same rule as the SQLite store's: with ``limit`` 0 and more rows, the key is ``after``
    itself (or ``""`` from the start), so the next page begins where this empty one did."""
    if len(rows) <= limit:
        return None
    return key(rows[limit - 1]) if limit > 0 else (after or "")


def exact_search_sql(exclude: bool) -> str:
    """Up to %(n)s faces of collection %(c)s within %(within)s of %(q)s, nearest first, measured
    row by row: ``l2_distance()`` is not the HNSW index's operator, so the index cannot serve it
    and the planner reads the collection's rows (through a btree or a sequential scan)."""
    return (
        f"SELECT {_FACE_COLUMNS}, l2_distance(descriptor, %(q)s) AS distance FROM faces"
        f" WHERE collection_id = %(c)s{' AND face_id <> %(x)s' if exclude else ''}"
        " AND l2_distance(descriptor, %(q)s) <= %(within)s ORDER BY distance, face_id LIMIT %(n)s"
    )


def hnsw_search_sql(exclude: bool) -> str:
    """The %(n)s nearest faces of collection %(c)s through the HNSW index (``<->`` in ``ORDER BY``),
    in a materialized CTE, then those within %(within)s (pgvector's advice for a distance cut)."""
    return (
        "WITH nearest AS MATERIALIZED ("
        " SELECT face_id, descriptor <-> %(q)s AS distance FROM faces"
        f" WHERE collection_id = %(c)s{' AND face_id <> %(x)s' if exclude else ''}"
        " ORDER BY descriptor <-> %(q)s LIMIT %(n)s)"
        f" SELECT {_F_FACE_COLUMNS} FROM nearest n"
        " JOIN faces f ON f.collection_id = %(c)s AND f.face_id = n.face_id"
        " WHERE n.distance <= %(within)s ORDER BY n.distance"
    )


def _int_key(after: str | None) -> int:
    return int(after) if after else 0


def _configure(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
    """Each pooled connection: pgvector's adapters (numpy arrays in, ``Vector`` out)."""
    register_vector(conn)
    conn.commit()


def migrate(conn: psycopg.Connection) -> int:  # type: ignore[type-arg]
    """Bring the schema to the latest version, once, whoever else is starting; returns it."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        exists = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
        if not exists:
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except pgerrors.InsufficientPrivilege as exc:
                raise RuntimeError(
                    "the database has no 'vector' extension and this role may not create it: "
                    "run CREATE EXTENSION vector as a superuser (pgvector 0.8 or newer)"
                ) from exc
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]  # type: ignore[index]
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"the database schema is version {current}, newer than this Agnosco knows "
                f"({len(MIGRATIONS)}): upgrade Agnosco"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)  # type: ignore[arg-type]
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        return len(MIGRATIONS)


class PostgresStore:
    """:class:`~agnosco.storage.base.Store` on one PostgreSQL database; safe to share between
    threads and between processes (each method is one transaction)."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        with psycopg.connect(dsn, autocommit=False) as conn:
            migrate(conn)
        self._pool: ConnectionPool = ConnectionPool(  # type: ignore[type-arg]
            dsn, min_size=min_size, max_size=max_size, open=True,
            kwargs={"autocommit": False}, configure=_configure,
            check=ConnectionPool.check_connection, name="agnosco-store",
        )

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Cursor]:  # type: ignore[type-arg]
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor(binary=True) as cur:
            yield cur

    @staticmethod
    def _require(cur: psycopg.Cursor, collection_id: str, lock: str = "") -> int:  # type: ignore[type-arg]
        """The collection must exist; returns its face count.  ``lock`` (``FOR NO KEY UPDATE``...)
        locks its row."""
        cur.execute(f"SELECT face_count FROM collections WHERE collection_id = %s {lock}", (collection_id,))
        row = cur.fetchone()
        if row is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return int(row[0])

    def _write(self, cur: psycopg.Cursor, collection_id: str) -> None:  # type: ignore[type-arg]
        self._require(cur, collection_id, "FOR NO KEY UPDATE")

    # collections -------------------------------------------------------------------------
    def create_collection(self, collection: Collection, tags: dict[str, str]) -> None:
        with self._tx() as cur:
            try:
                cur.execute(
                    "INSERT INTO collections (collection_id, arn, face_model_version, created_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (collection.collection_id, collection.arn, collection.face_model_version, collection.created_at),
                )
            except pgerrors.UniqueViolation:
                raise ResourceAlreadyExistsException(
                    f"The collection id: {collection.collection_id} already exists"
                ) from None
            cur.execute("DELETE FROM tags WHERE arn = %s", (collection.arn,))
            if tags:
                cur.executemany("INSERT INTO tags (arn, key, value) VALUES (%s, %s, %s)",
                                [(collection.arn, k, v) for k, v in sorted(tags.items())])

    def get_collection(self, collection_id: str) -> Collection:
        with self._tx() as cur:
            cur.execute(
                "SELECT c.collection_id, c.arn, c.face_model_version, c.created_at, c.face_count,"
                " (SELECT COUNT(*) FROM users u WHERE u.collection_id = c.collection_id)"
                " FROM collections c WHERE c.collection_id = %s",
                (collection_id,),
            )
            row = cur.fetchone()
        if row is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return Collection(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]))

    def list_collections(self, after: str | None, limit: int) -> Page:
        with self._tx() as cur:
            cur.execute(
                "SELECT seq, collection_id, arn, face_model_version, created_at FROM collections"
                " WHERE seq > %s ORDER BY seq LIMIT %s",
                (_int_key(after), limit + 1),
            )
            rows = cur.fetchall()
        items = [Collection(*row[1:]) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: str(row[0])))

    def delete_collection(self, collection_id: str) -> None:
        with self._tx() as cur:
            cur.execute("SELECT arn FROM collections WHERE collection_id = %s FOR UPDATE", (collection_id,))
            row = cur.fetchone()
            if row is None:
                raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
            arn = row[0]
            cur.execute("DELETE FROM faces WHERE collection_id = %s", (collection_id,))
            cur.execute("DELETE FROM users WHERE collection_id = %s", (collection_id,))
            cur.execute("DELETE FROM tags WHERE arn = %s OR starts_with(arn, %s)", (arn, arn + "/"))
            cur.execute("DELETE FROM requests WHERE starts_with(scope, %s)", (collection_id + "/",))
            cur.execute("DELETE FROM collections WHERE collection_id = %s", (collection_id,))

    # faces -------------------------------------------------------------------------------
    def add_faces(self, collection_id: str, faces: list[FaceRecord]) -> None:
        with self._tx() as cur:
            self._write(cur, collection_id)
            if not faces:
                return
            cur.executemany(
                f"INSERT INTO faces (collection_id, {_FACE_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (collection_id, f.face_id, f.image_id, f.external_image_id, float(f.left), float(f.top),
                     float(f.width), float(f.height), float(f.confidence),
                     np.asarray(f.descriptor, np.float32).reshape(-1),
                     float(f.indexed_at or time.time()), f.user_id, f.consent_ref,
                     None if f.last_matched_at is None else float(f.last_matched_at))
                    for f in faces
                ],
            )
            cur.execute("UPDATE collections SET face_count = face_count + %s WHERE collection_id = %s",
                        (len(faces), collection_id))

    def get_faces(self, collection_id: str, face_ids: list[str]) -> list[FaceRecord]:
        with self._tx() as cur:
            self._require(cur, collection_id)
            cur.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = %s AND face_id = ANY(%s)",
                (collection_id, list(face_ids)),
            )
            rows = cur.fetchall()
        by_id = {row[0]: _face(row) for row in rows}
        return [by_id[i] for i in face_ids if i in by_id]

    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]:
        with self._tx() as cur:
            self._require(cur, collection_id)
            cur.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = %s AND image_id = %s"
                " ORDER BY width * height DESC, face_id",
                (collection_id, image_id),
            )
            rows = cur.fetchall()
        return [_face(row) for row in rows]

    def list_faces(
        self, collection_id: str, after: str | None, limit: int,
        user_id: str | None = None, face_ids: list[str] | None = None,
    ) -> Page:
        where, args = ["collection_id = %s", "face_id > %s"], [collection_id, after or ""]
        if user_id is not None:
            where.append("user_id = %s")
            args.append(user_id)
        if face_ids is not None:
            where.append("face_id = ANY(%s)")
            args.append(list(face_ids))
        with self._tx() as cur:
            self._require(cur, collection_id)
            cur.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE {' AND '.join(where)} ORDER BY face_id LIMIT %s",
                (*args, limit + 1),
            )
            rows = cur.fetchall()
        items = [_face(row) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: row[0]))

    def delete_faces(self, collection_id: str, face_ids: list[str]) -> list[str]:
        with self._tx() as cur:
            self._write(cur, collection_id)
            cur.execute(
                "DELETE FROM faces WHERE collection_id = %s AND face_id = ANY(%s) RETURNING face_id",
                (collection_id, list(face_ids)),
            )
            found = sorted(row[0] for row in cur.fetchall())
            if found:
                cur.execute("UPDATE collections SET face_count = face_count - %s WHERE collection_id = %s",
                            (len(found), collection_id))
        return found

    def touch_faces(self, collection_id: str, face_ids: list[str], when: float) -> None:
        if not face_ids:
            return
        with self._tx() as cur:
            cur.execute(
                "UPDATE faces f SET last_matched_at = %s FROM ("
                " SELECT face_id FROM faces WHERE collection_id = %s AND face_id = ANY(%s)"
                " ORDER BY face_id FOR NO KEY UPDATE SKIP LOCKED) t"
                " WHERE f.collection_id = %s AND f.face_id = t.face_id",
                (float(when), collection_id, list(face_ids), collection_id),
            )

    def expired_faces(
        self, collection_id: str, indexed_before: float | None, unmatched_before: float | None
    ) -> list[FaceRecord]:
        clauses: list[str] = []
        args: list[float] = []
        if indexed_before is not None:
            clauses.append("indexed_at < %s")
            args.append(float(indexed_before))
        if unmatched_before is not None:
            clauses.append("COALESCE(last_matched_at, indexed_at) < %s")
            args.append(float(unmatched_before))
        if not clauses:
            return []
        with self._tx() as cur:
            self._require(cur, collection_id)
            cur.execute(
                f"SELECT {_FACE_COLUMNS} FROM faces WHERE collection_id = %s AND ({' OR '.join(clauses)})"
                " ORDER BY face_id",
                (collection_id, *args),
            )
            rows = cur.fetchall()
        return [_face(row) for row in rows]

    def compact(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("VACUUM faces")

    def search(
        self, collection_id: str, descriptor: np.ndarray, limit: int, max_distance: float,
        exclude_face_id: str | None = None,
    ) -> list[SearchHit]:
        if limit <= 0:
            with self._tx() as cur:
                self._require(cur, collection_id)
            return []
        q = np.asarray(descriptor, dtype=np.float32).reshape(128)
        # The database measures in its own float arithmetic; the cut is re-made here exactly,
        # so the database's may only be looser.
        slack = 1e-4 * (float(q @ q) + 1.0) + 1e-6
        params: dict[str, Any] = {
            "c": collection_id, "q": q, "within": float(max_distance) + slack, "x": exclude_face_id,
        }
        with self._tx() as cur:
            if self._require(cur, collection_id) <= EXACT_SEARCH_MAX:
                # Exact: every row of the collection is measured, whatever the planner estimates.
                cur.execute(exact_search_sql(exclude_face_id is not None), params | {"n": limit + 8})
                rows = cur.fetchall()
            else:
                rows = self._hnsw_search(cur, params, limit)
        if not rows:
            return []
        vectors = np.stack([row[8].to_numpy() for row in rows])
        exact = np.linalg.norm(vectors - q, axis=1)
        hits = sorted(
            ((float(d), _face(row)) for d, row in zip(exact, rows, strict=True) if d <= max_distance),
            key=lambda hit: (hit[0], hit[1].face_id),
        )
        return [SearchHit(face, distance) for distance, face in hits[:limit]]

    @staticmethod
    def _hnsw_search(
        cur: psycopg.Cursor, params: dict[str, Any], limit: int,  # type: ignore[type-arg]
    ) -> list[Any]:
        """The nearest rows through the HNSW index, asking for more while all are in reach."""
        wanted = limit + 8
        n = min(wanted, FIRST_BATCH)
        while True:
            cur.execute(
                "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                " set_config('hnsw.ef_search', %s, true)",
                (str(min(MAX_EF_SEARCH, max(MIN_EF_SEARCH, 2 * n))),),
            )
            cur.execute(hnsw_search_sql(params["x"] is not None), params | {"n": n})
            rows = cur.fetchall()
            # Fewer rows in reach than asked for: the next ones are out of reach too.
            if len(rows) < n or n >= wanted:
                return rows
            n = min(wanted, n * 4)

    # users -------------------------------------------------------------------------------
    def create_user(self, collection_id: str, user: UserRecord) -> None:
        with self._tx() as cur:
            self._write(cur, collection_id)
            try:
                cur.execute(
                    "INSERT INTO users (collection_id, user_id, status, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (collection_id, user.user_id, user.status, float(user.created_at), float(user.updated_at)),
                )
            except pgerrors.UniqueViolation:
                raise ConflictException(f"User {user.user_id} already exists in collection {collection_id}") from None

    def get_user(self, collection_id: str, user_id: str) -> UserRecord:
        with self._tx() as cur:
            self._require(cur, collection_id)
            cur.execute(
                "SELECT user_id, status, created_at, updated_at FROM users WHERE collection_id = %s AND user_id = %s",
                (collection_id, user_id),
            )
            row = cur.fetchone()
        if row is None:
            raise ResourceNotFoundException(f"User {user_id} does not exist in collection {collection_id}")
        return UserRecord(*row)

    def list_users(self, collection_id: str, after: str | None, limit: int) -> Page:
        with self._tx() as cur:
            self._require(cur, collection_id)
            cur.execute(
                "SELECT user_id, status, created_at, updated_at FROM users"
                " WHERE collection_id = %s AND user_id > %s ORDER BY user_id LIMIT %s",
                (collection_id, after or "", limit + 1),
            )
            rows = cur.fetchall()
        items = [UserRecord(*row) for row in rows[:limit]]
        return Page(items, _next_key(rows, limit, after, lambda row: row[0]))

    def delete_user(self, collection_id: str, user_id: str) -> None:
        with self._tx() as cur:
            self._write(cur, collection_id)
            cur.execute("DELETE FROM users WHERE collection_id = %s AND user_id = %s", (collection_id, user_id))
            if not cur.rowcount:
                raise ResourceNotFoundException(f"User {user_id} does not exist in collection {collection_id}")
            cur.execute(
                "UPDATE faces SET user_id = NULL WHERE collection_id = %s AND user_id = %s", (collection_id, user_id)
            )

    def set_face_user(self, collection_id: str, face_ids: list[str], user_id: str | None) -> None:
        with self._tx() as cur:
            self._write(cur, collection_id)
            cur.execute(
                "UPDATE faces SET user_id = %s WHERE collection_id = %s AND face_id = ANY(%s)",
                (user_id, collection_id, list(face_ids)),
            )
            cur.execute(
                "UPDATE users SET updated_at = %s, status = CASE WHEN EXISTS (SELECT 1 FROM faces f"
                " WHERE f.collection_id = users.collection_id AND f.user_id = users.user_id)"
                " THEN 'ACTIVE' ELSE 'CREATED' END WHERE collection_id = %s",
                (time.time(), collection_id),
            )

    def delete_empty_users(self, collection_id: str, created_before: float) -> list[str]:
        with self._tx() as cur:
            self._write(cur, collection_id)
            cur.execute(
                "DELETE FROM users u WHERE collection_id = %s AND created_at < %s AND NOT EXISTS"
                " (SELECT 1 FROM faces f WHERE f.collection_id = u.collection_id AND f.user_id = u.user_id)"
                " RETURNING user_id",
                (collection_id, float(created_before)),
            )
            users = sorted(row[0] for row in cur.fetchall())
        return users

    # tags --------------------------------------------------------------------------------
    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        if not tags:
            return
        with self._tx() as cur:
            cur.executemany(
                "INSERT INTO tags (arn, key, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (arn, key) DO UPDATE SET value = EXCLUDED.value",
                [(arn, k, v) for k, v in sorted(tags.items())],
            )

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM tags WHERE arn = %s AND key = ANY(%s)", (arn, sorted(keys)))

    def list_tags(self, arn: str) -> dict[str, str]:
        with self._tx() as cur:
            cur.execute("SELECT key, value FROM tags WHERE arn = %s ORDER BY key", (arn,))
            return dict(cur.fetchall())  # type: ignore[arg-type]

    # idempotency -------------------------------------------------------------------------
    def recall_request(self, scope: str, token: str) -> tuple[str, str] | None:
        with self._tx() as cur:
            cur.execute("SELECT fingerprint, response FROM requests WHERE scope = %s AND token = %s", (scope, token))
            row = cur.fetchone()
        return (row[0], row[1]) if row else None

    def remember_request(self, scope: str, token: str, fingerprint: str, response_json: str) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO requests (scope, token, fingerprint, response, created_at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (scope, token) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
                " response = EXCLUDED.response, created_at = EXCLUDED.created_at",
                (scope, token, fingerprint, response_json, time.time()),
            )
