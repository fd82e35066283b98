"""One small SQL layer for every table of a deployment, on SQLite or on PostgreSQL.

The face store (:mod:`.sql_store`) and the governance tables (access keys, principals and
policies, reviews, the audit log) are each written once, against a :class:`Database`; what
differs between the two databases is here and nowhere else:

* **SQL** is written in SQLite's spelling with ``?`` placeholders; on PostgreSQL each ``?``
  becomes ``%s`` (and a literal ``%`` ``%%``), so ``?`` must not appear inside a string literal.
  Only statements both accept: ``INSERT ... ON CONFLICT (...) DO UPDATE SET c = excluded.c`` or
  ``DO NOTHING`` (SQLite 3.24 or newer) rather than ``INSERT OR REPLACE`` / ``OR IGNORE``; a read
  that a write depends on locks its rows with :meth:`Transaction.locking` (``FOR UPDATE``, ``FOR
  NO KEY UPDATE``... on PostgreSQL, nothing on SQLite, whose write transactions exclude each
  other anyway), and writers that must not run side by side take :meth:`Transaction.serialize`.
  SQLite 3.35 or newer is needed (``RETURNING``).
* **DDL** (in migrations) is written with SQLite's type names, in capitals, and :func:`ddl`
  rewrites them for PostgreSQL: ``REAL`` -> ``DOUBLE PRECISION`` (PostgreSQL's ``REAL`` is a
  float4: timestamps would silently lose precision), ``BLOB`` -> ``BYTEA``, ``INTEGER`` ->
  ``BIGINT`` (SQLite integers are 64-bit) and ``TEXT`` -> ``TEXT COLLATE "C"`` (byte order, as
  SQLite compares, so listings agree between the backends).
* **Connections.** One :class:`Database` per database, shared by every component of the
  process: on SQLite one writer connection (a lock serialises this process's threads, SQLite's
  write lock other processes) and a pool of reader connections; on PostgreSQL one pool
  (``psycopg_pool``) whose connections know pgvector's ``vector`` type.
* **Transactions.** :meth:`Database.write` is one write transaction (SQLite ``BEGIN
  IMMEDIATE``; PostgreSQL READ COMMITTED).  :meth:`Database.read` is a read transaction that
  never waits for writers: on SQLite a consistent view over all its statements (WAL), on
  PostgreSQL READ COMMITTED.  :meth:`Database.snapshot` is one consistent read-only view over
  several statements on both (a PostgreSQL ``REPEATABLE READ, READ ONLY`` transaction);
  :meth:`Transaction.stream` reads a large result in batches (a server-side cursor on
  PostgreSQL).  Every transaction commits when its block ends and rolls back when it raises;
  they do not nest.
* **Schema.** Each component (``store``, ``keys``, ``principals``, ``reviews``, ``audit``, and
  the jobs to come) has its own migrations and its own version, a row of ``agnosco_schema``;
  :meth:`Database.migrate` applies the missing ones in one write transaction, on PostgreSQL
  under an advisory lock (:data:`MIGRATION_LOCK`), so processes starting together migrate once.
  A component newer than the code is refused with :class:`SchemaError`.
* **Maintenance.** :meth:`Database.compact` makes deleted rows unrecoverable from the files
  (SQLite: ``secure_delete`` is on and the WAL is checkpointed; PostgreSQL: ``VACUUM``).

:func:`open_database` picks the backend from a store URL (:func:`agnosco.storage.store_backend`):
the store's PostgreSQL database when it names one, otherwise a SQLite file in the data directory.
"""

from __future__ import annotations

import queue
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import count
from pathlib import Path
from typing import Any, Self

SQLITE, POSTGRESQL = "sqlite", "postgresql"

#: A migration step: a DDL statement, or a function of the migrating transaction.
Step = str | Callable[["Transaction"], None]
#: Migrations in order: version N is ``migrations[N - 1]``.  Append, never edit.
Migrations = Sequence[Sequence[Step]]

_POSTGRES_TYPES = (
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)
_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS agnosco_schema ("
    " component TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at REAL NOT NULL)"
)
_STREAM_BATCH = 1000
_cursor_names = count(1)
#: Key of the advisory lock that serialises schema migrations (per database): "agnosco" in ASCII.
MIGRATION_LOCK = int.from_bytes(b"agnosco", "big")
#: Idle SQLite reader connections kept for reuse (more are opened while more threads read).
_SQLITE_IDLE_READERS = 4


class SchemaError(RuntimeError):
    """The database cannot hold this Agnosco's tables: a component's schema is newer than the
    code, or PostgreSQL lacks the ``vector`` extension and may not be given it."""


def ddl(dialect: str, statement: str) -> str:
    """A DDL statement written with SQLite's type names, for ``dialect``."""
    if dialect == POSTGRESQL:
        for pattern, replacement in _POSTGRES_TYPES:
            statement = pattern.sub(replacement, statement)
    return statement


def postgres_sql(statement: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return statement.replace("%", "%%").replace("?", "%s")


class Transaction:
    """One open transaction; statements in SQLite's spelling with ``?`` placeholders."""

    dialect: str
    #: Appended to a SELECT whose rows the transaction goes on to write.
    for_update: str

    def locking(self, mode: str) -> str:
        """What to append to a SELECT to lock its rows in ``mode`` (``"UPDATE"``, ``"NO KEY
        UPDATE"``, ``"NO KEY UPDATE SKIP LOCKED"``...): nothing on SQLite."""
        raise NotImplementedError

    def serialize(self, name: str) -> None:
        """Make the writers that name ``name`` run one at a time until this transaction ends
        (SQLite's write transactions always do)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns its cursor (``fetchone``, ``fetchall``, ``rowcount``, iteration)."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        raise NotImplementedError

    def columns(self, table: str) -> set[str]:
        """The column names of ``table`` (empty when it does not exist)."""
        raise NotImplementedError

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of one query, read in batches rather than all at once."""
        raise NotImplementedError

    def table_exists(self, name: str) -> bool:
        raise NotImplementedError

    def ddl(self, statement: str) -> str:
        return ddl(self.dialect, statement)


class _SQLiteTransaction(Transaction):
    dialect = SQLITE
    for_update = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def locking(self, mode: str) -> str:
        return ""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, [tuple(row) for row in rows])

    def columns(self, table: str) -> set[str]:
        return {
            row[1] for row in self._conn.execute("SELECT * FROM pragma_table_info(?)", (table,))
        }

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        yield from self._conn.execute(sql, tuple(params))  # sqlite3 steps through rows lazily

    def table_exists(self, name: str) -> bool:
        return (
            self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
            is not None
        )


class _PostgresTransaction(Transaction):
    dialect = POSTGRESQL
    for_update = " FOR UPDATE"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def locking(self, mode: str) -> str:
        return f" FOR {mode}"

    def serialize(self, name: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (zlib.crc32(name.encode()),))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(postgres_sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(postgres_sql(sql), [tuple(row) for row in rows])

    def columns(self, table: str) -> set[str]:
        return {
            row[0]
            for row in self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ?",
                (table,),
            )
        }

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        with self._conn.cursor(name=f"agnosco_stream_{next(_cursor_names)}") as cursor:
            cursor.itersize = _STREAM_BATCH
            cursor.execute(postgres_sql(sql), tuple(params))
            yield from cursor

    def table_exists(self, name: str) -> bool:
        return bool(self.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()[0])


class Database:
    """Where some of Agnosco's own tables live; safe to share between threads (and components)."""

    dialect: str
    #: Where, for messages: a file path, or a PostgreSQL database and host (never a password).
    name: str

    def write(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def compact(self, tables: Sequence[str]) -> None:
        """Make rows deleted from ``tables`` unrecoverable from the database's files."""
        raise NotImplementedError

    def migrate(self, component: str, migrations: Migrations) -> int:
        """Bring ``component``'s tables to its latest version, once, whoever else is starting;
        returns that version.

        :raises SchemaError: the database holds a newer version than ``migrations`` know.
        """
        with self.write() as tx:
            if tx.dialect == POSTGRESQL:
                tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            tx.execute(tx.ddl(_SCHEMA_TABLE))
            row = tx.execute(
                "SELECT version FROM agnosco_schema WHERE component = ?", (component,)
            ).fetchone()
            current = int(row[0]) if row else 0
            if current > len(migrations):
                raise SchemaError(
                    f"the {component} tables in {self.name} are version {current}, newer than this "
                    f"Agnosco knows ({len(migrations)}): upgrade Agnosco"
                )
            for version in range(current + 1, len(migrations) + 1):
                for step in migrations[version - 1]:
                    if callable(step):
                        step(tx)
                    else:
                        tx.execute(tx.ddl(step))
            if current < len(migrations):
                tx.execute(
                    "INSERT INTO agnosco_schema (component, version, applied_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (component) DO UPDATE SET version = excluded.version,"
                    " applied_at = excluded.applied_at",
                    (component, len(migrations), time.time()),
                )
        return len(migrations)

    def version(self, component: str) -> int:
        """``component``'s schema version here; 0 when it was never created (nothing is created)."""
        with self.read() as tx:
            if not tx.table_exists("agnosco_schema"):
                return 0
            row = tx.execute(
                "SELECT version FROM agnosco_schema WHERE component = ?", (component,)
            ).fetchone()
        return int(row[0]) if row else 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Tables:
    """A component keeping its tables in a :class:`Database` (access keys, principals, reviews,
    the audit log): given the database (closed by :meth:`close` only when ``owned``) or the path
    of a SQLite file (opened here, and closed by :meth:`close`)."""

    _db: Database
    _owned: bool

    def _attach(
        self,
        database: Path | Database,
        owned: bool,
        setup: Callable[[Database], object],
        **sqlite_options: Any,
    ) -> None:
        """Take the database and run ``setup`` on it (its migrations); closes what it opened
        when that fails."""
        if isinstance(database, Database):
            self._db, self._owned = database, owned
        else:
            self._db, self._owned = SQLiteDatabase(Path(database), **sqlite_options), True
        try:
            setup(self._db)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._owned:
            self._db.close()


class SQLiteDatabase(Database):
    """One SQLite file (WAL, foreign keys on, ``secure_delete`` on): one writer connection shared
    by the process's threads, and reader connections that never wait for it.

    ``synchronous`` sets ``PRAGMA synchronous``: ``"FULL"`` (the default: an acknowledged write
    survives power loss) or ``"NORMAL"`` (a committed transaction survives a killed process, not
    necessarily an operating-system crash).
    """

    dialect = SQLITE

    def __init__(self, path: Path, *, synchronous: str | None = None) -> None:
        synchronous = (synchronous or "FULL").upper()
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = Path(path)
        self.name = str(self.path)
        self._synchronous = synchronous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = self._connect()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        # Deleted rows are overwritten with zeros, so deleted data does not linger in free pages.
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise sqlite3.ProgrammingError(f"the database {self.name} is closed")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTransaction(conn)
            except BaseException:
                if (
                    conn.in_transaction
                ):  # (SQLite may have rolled back already, e.g. on a full disk)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        if self._closed:
            raise sqlite3.ProgrammingError(f"the database {self.name} is closed")
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            conn.execute("BEGIN")
            try:
                yield _SQLiteTransaction(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # it wrote nothing: ending it is all
        except BaseException:
            conn.close()
            raise
        if self._closed or self._readers.qsize() >= _SQLITE_IDLE_READERS:
            conn.close()
        else:
            self._readers.put(conn)

    snapshot = read  # a SQLite read transaction is one consistent view (WAL)

    def compact(self, tables: Sequence[str]) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._closed = True
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                break


class PostgresDatabase(Database):
    """One PostgreSQL database, through a connection pool; safe to share between threads and,
    being a server, between processes and machines."""

    dialect = POSTGRESQL

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.dsn = dsn
        self.name = _describe(dsn)
        # Connect once first: an unreachable server fails here, with libpq's reason, rather
        # than as a pool timeout at the first query; and the face store's column type must
        # exist before the pool's connections learn it.
        with psycopg.connect(dsn, autocommit=False) as conn:
            _ensure_vector_extension(conn, self.name)
        self._pool = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            open=True,
            kwargs={"autocommit": False},
            configure=_configure,
            check=ConnectionPool.check_connection,
            name="agnosco",
        )

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._pool.connection() as conn, conn.transaction():
            yield _PostgresTransaction(conn)

    read = write  # READ COMMITTED: a read never waits for a writer

    @contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _PostgresTransaction(conn)

    def compact(self, tables: Sequence[str]) -> None:
        import psycopg

        with psycopg.connect(
            self.dsn, autocommit=True
        ) as conn:  # VACUUM runs outside a transaction
            for table in tables:
                conn.execute(f"VACUUM {table}")  # (a table name of ours, never input)

    def close(self) -> None:
        self._pool.close()


def _ensure_vector_extension(conn: Any, name: str) -> None:
    """pgvector's ``vector`` type in the database, created once whoever else is starting."""
    from psycopg import errors as pgerrors

    with conn.transaction():
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
            return
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except pgerrors.InsufficientPrivilege as exc:
            raise SchemaError(
                f"the {name} has no 'vector' extension and this role may not create it: "
                "run CREATE EXTENSION vector as a superuser (pgvector 0.8 or newer)"
            ) from exc


def _configure(conn: Any) -> None:
    """Each pooled connection: pgvector's adapters (numpy arrays in, ``Vector`` out)."""
    from pgvector.psycopg import register_vector

    register_vector(conn)
    conn.commit()


def _describe(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - only for messages; never echo the DSN (it may hold a password)
        return "the PostgreSQL database"
    where = f" on {info['host']}" if info.get("host") else ""
    return f"PostgreSQL database {info.get('dbname') or info.get('user') or '?'}{where}"


def open_database(
    url: str | None, sqlite_path: Path, *, synchronous: str | None = None
) -> Database:
    """Where Agnosco's own tables live for a store URL (``--store``): the store's PostgreSQL
    database when the URL names one; otherwise the SQLite file ``sqlite_path`` in the data
    directory (also when the face store is a ``sqlite:///PATH`` elsewhere).

    :raises StoreURLError: a URL naming no backend, or PostgreSQL without the ``postgres`` extra.
    """
    from agnosco.storage import StoreURLError, store_backend

    if store_backend(url) == POSTGRESQL:
        assert url is not None
        try:
            import pgvector  # noqa: F401
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError as exc:
            raise StoreURLError(
                f"PostgreSQL needs the 'postgres' extra ({exc.name} is not installed): "
                "pip install 'agnosco[postgres]'"
            ) from exc
        return PostgresDatabase(url)
    return SQLiteDatabase(sqlite_path, synchronous=synchronous)
