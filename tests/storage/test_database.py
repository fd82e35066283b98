"""The SQL layer Agnosco's own tables use (``agnosco/storage/database.py``), on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.storage import StoreURLError
from agnosco.storage.database import (
    Database,
    SchemaError,
    SQLiteDatabase,
    Transaction,
    ddl,
    open_database,
    postgres_sql,
)
from tests.conftest import run_threads

TABLE = "CREATE TABLE things (id INTEGER PRIMARY KEY, at REAL NOT NULL, data BLOB, name TEXT)"


@pytest.fixture
def database(tmp_path: Path, store_url: str | None) -> Iterator[Database]:
    with open_database(store_url, tmp_path / "state.db") as db:
        yield db


def another(database: Database, tmp_path: Path) -> Database:
    """A second Database on the same place, as another process would open it."""
    return open_database(getattr(database, "dsn", None), tmp_path / "state.db")


def test_sql_translation() -> None:
    assert postgres_sql("SELECT a FROM t WHERE b = ? AND c LIKE '10%'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE '10%%'"
    )
    assert ddl("postgresql", TABLE) == (
        'CREATE TABLE things (id BIGINT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, data BYTEA, name TEXT COLLATE "C")'
    )
    assert ddl("sqlite", TABLE) == TABLE
    assert ddl("postgresql", "CREATE TABLE t (interval_ TEXT, realm TEXT)") == (  # whole words only
        'CREATE TABLE t (interval_ TEXT COLLATE "C", realm TEXT COLLATE "C")'
    )


def test_the_backend_follows_the_store_url(tmp_path: Path, postgres_dsn: str) -> None:
    for url in (
        None,
        "sqlite",
        "sqlite:///elsewhere.db",
    ):  # SQLite faces anywhere: the rest in the data dir
        with open_database(url, tmp_path / "state.db") as db:
            assert isinstance(db, SQLiteDatabase) and db.path == tmp_path / "state.db"
    with open_database(postgres_dsn, tmp_path / "unused.db") as db:
        assert db.dialect == "postgresql"
        assert "postgresql://" not in db.name and db.name.startswith("PostgreSQL database test_")
    assert not (tmp_path / "unused.db").exists()
    with pytest.raises(StoreURLError, match="unsupported store 'mysql'"):
        open_database("mysql://root:hunter2@db/x", tmp_path / "state.db")


def test_migrations_run_once_per_component_and_a_newer_schema_is_refused(
    database: Database, tmp_path: Path
) -> None:
    runs: list[str] = []

    def step(tx: Transaction) -> None:
        runs.append(tx.dialect)

    assert database.version("things") == 0
    assert database.migrate("things", [[TABLE, step]]) == 1
    assert database.migrate("things", [[TABLE, step]]) == 1  # already applied: nothing runs
    assert len(runs) == 1
    assert (
        database.migrate(
            "things", [[TABLE, step], ["CREATE INDEX things_by_name ON things (name)"]]
        )
        == 2
    )
    assert len(runs) == 1 and database.version("things") == 2 and database.version("other") == 0
    with pytest.raises(
        SchemaError,
        match=r"the things tables in .* are version 2, newer than this Agnosco knows \(1\)",
    ):
        database.migrate("things", [[TABLE, step]])


def test_a_failed_migration_changes_nothing(database: Database) -> None:
    def fail(tx: Transaction) -> None:
        raise RuntimeError("half way")

    with pytest.raises(RuntimeError, match="half way"):
        database.migrate("things", [[TABLE, fail]])
    assert database.version("things") == 0
    with database.read() as tx:
        assert not tx.table_exists("things")
    database.migrate("things", [[TABLE]])
    with database.read() as tx:
        assert tx.table_exists("things")


def test_processes_starting_together_migrate_once(database: Database, tmp_path: Path) -> None:
    """Each opener has its own connection (pool), as separate processes would."""
    openers = [another(database, tmp_path) for _ in range(4)]
    go = threading.Barrier(len(openers))
    errors: list[BaseException] = []

    def slow_step(tx: Transaction) -> None:
        time.sleep(0.2)  # long enough for every opener to be waiting
        tx.execute("INSERT INTO things (id, at) VALUES (1, 0)")

    def migrate(db: Database) -> None:
        try:
            go.wait(timeout=30)
            db.migrate("things", [[TABLE, slow_step]])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    run_threads(migrate, [(db,) for db in openers])
    for db in openers:
        db.close()
    assert errors == []
    with database.read() as tx:
        assert tx.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 1


def test_values_round_trip_exactly_and_text_sorts_by_bytes(database: Database) -> None:
    database.migrate("things", [[TABLE]])
    at = 1_760_000_000.123456789  # a float4 would keep ~7 digits of this timestamp
    names = ["b", "B", "a", "é", "z", "A", "_"]
    with database.write() as tx:
        for i, name in enumerate(names):
            tx.execute(
                "INSERT INTO things (id, at, data, name) VALUES (?, ?, ?, ?)",
                (2**40 + i, at + i, bytes(range(256)), name),
            )
    with database.read() as tx:
        rows = tx.execute("SELECT id, at, data FROM things ORDER BY id").fetchall()
        ordered = [r[0] for r in tx.execute("SELECT name FROM things ORDER BY name")]
        like = tx.execute(
            "SELECT COUNT(*) FROM things WHERE name LIKE '%' AND at > ?", (at,)
        ).fetchone()[0]
    assert [(r[0], r[1], bytes(r[2])) for r in rows] == [
        (2**40 + i, at + i, bytes(range(256))) for i in range(len(names))
    ]
    assert ordered == sorted(names, key=lambda n: n.encode())  # as SQLite compares: byte order
    assert like == len(names) - 1


def test_a_write_that_raises_is_rolled_back(database: Database) -> None:
    database.migrate("things", [[TABLE]])
    with pytest.raises(ZeroDivisionError), database.write() as tx:
        tx.execute("INSERT INTO things (id, at) VALUES (1, 0)")
        _ = 1 / 0
    with database.read() as tx:
        assert tx.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 0


def test_upserts_and_row_locks_serialise_read_modify_write(
    database: Database, tmp_path: Path
) -> None:
    """Counters incremented from several openers at once lose no increment."""
    database.migrate("things", [[TABLE]])
    with database.write() as tx:
        for _ in range(2):  # INSERT ... ON CONFLICT DO UPDATE: both dialects
            tx.execute(
                "INSERT INTO things (id, at) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET at = excluded.at"
            )
    openers = [another(database, tmp_path) for _ in range(3)]

    def work(db: Database) -> None:
        for _ in range(30):
            with db.write() as tx:
                value = tx.execute(f"SELECT at FROM things WHERE id = 1{tx.for_update}").fetchone()[
                    0
                ]
                tx.execute("UPDATE things SET at = ? WHERE id = 1", (value + 1,))

    run_threads(work, [(db,) for db in openers])
    for db in openers:
        db.close()
    with database.read() as tx:
        assert tx.execute("SELECT at FROM things WHERE id = 1").fetchone()[0] == 90


def test_a_snapshot_is_one_consistent_view_and_streams(database: Database) -> None:
    database.migrate("things", [[TABLE]])
    with database.write() as tx:
        for i in range(2500):
            tx.execute("INSERT INTO things (id, at) VALUES (?, ?)", (i, float(i)))
    with database.snapshot() as snap:
        first = snap.execute("SELECT COUNT(*) FROM things").fetchone()[0]
        with database.write() as tx:  # a writer is not blocked by the snapshot...
            tx.execute("INSERT INTO things (id, at) VALUES (9999, 0)")
        streamed = [row[0] for row in snap.stream("SELECT id FROM things ORDER BY id")]
        # ...and the snapshot does not see it
        assert first == 2500 and streamed == list(range(2500))
    with database.read() as tx:
        assert tx.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 2501


def test_reads_never_wait_for_a_writer(database: Database) -> None:
    """A write transaction held open (a long IndexFaces, a migration) blocks other writers only:
    reads go on, and see what was committed before it."""
    with database.write() as tx:
        tx.execute(tx.ddl(TABLE))
        tx.execute("INSERT INTO things (id, at) VALUES (1, 1.0)")
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with database.write() as tx:
            tx.execute("INSERT INTO things (id, at) VALUES (2, 2.0)")
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        with (
            database.read() as tx
        ):  # a read that waited would see the writer's row (it gives up after 10 s)
            assert tx.execute("SELECT id FROM things ORDER BY id").fetchall() == [(1,)]
    finally:
        release.set()
        thread.join()
    with database.read() as tx:
        assert tx.execute("SELECT id FROM things ORDER BY id").fetchall() == [(1,), (2,)]


def test_deleted_rows_leave_the_sqlite_file_after_compact(tmp_path: Path) -> None:
    needle = b"a descriptor that was purged!"
    with SQLiteDatabase(tmp_path / "state.db") as db:
        with db.write() as tx:
            tx.execute(TABLE)
            tx.execute("INSERT INTO things (id, at, data) VALUES (1, 1.0, ?)", (needle,))
        db.compact(["things"])
        assert needle in (tmp_path / "state.db").read_bytes()
        with db.write() as tx:
            tx.execute("DELETE FROM things WHERE id = 1")
        db.compact(["things"])
        files = [p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("state.db")]
        assert files and not any(needle in data for data in files)
