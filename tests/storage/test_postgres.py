"""What only the PostgreSQL store has: migrations, the HNSW search path, concurrent writers."""

from __future__ import annotations

import threading
from urllib.parse import quote

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

import agnosco.storage.pgvector_search as pgsearch
from agnosco.storage.base import Collection, FaceRecord, UserRecord
from agnosco.storage.database import SchemaError, postgres_sql
from agnosco.storage.pgvector_search import PgvectorSearch, exact_search_sql, hnsw_search_sql
from agnosco.storage.sql_store import MIGRATIONS, SQLStore
from agnosco.storage.vector_index import ExactIndex
from tests.conftest import run_threads
from tests.storage.embedded import EmbeddedPostgres

rng = np.random.default_rng(3)


def face(face_id: str, vector: np.ndarray) -> FaceRecord:
    return FaceRecord(face_id, "img", None, 0.1, 0.2, 0.3, 0.4, 99.0, vector, indexed_at=1.0)


def collection(cid: str) -> Collection:
    return Collection(
        cid, "arn:aws:rekognition:eu-west-1:000000000000:collection/" + cid, "v1", 1.0, 128
    )


def with_options(dsn: str, options: str) -> str:
    """The DSN with server settings for every connection (``options=-c name=value ...``)."""
    return f"{dsn}{'&' if '?' in dsn else '?'}options={quote(options)}"


def test_migrations_run_once_and_are_recorded(postgres_dsn: str) -> None:
    SQLStore.postgres(postgres_dsn).close()
    SQLStore.postgres(postgres_dsn).close()
    with psycopg.connect(postgres_dsn) as conn:
        versions = conn.execute(
            "SELECT version FROM agnosco_schema WHERE component = 'store'"
        ).fetchall()
        assert versions == [(len(MIGRATIONS),)]
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert {"collections", "faces", "users", "tags", "requests", "agnosco_schema"} <= tables
        assert "schema_version" not in tables
        indexes = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'faces'"
            ).fetchall()
        )
        assert (
            "USING hnsw (((descriptor)::vector(128)) vector_l2_ops)"
            in indexes["faces_by_descriptor_128"]
        )


def test_processes_starting_together_migrate_once(postgres_dsn: str) -> None:
    barrier = threading.Barrier(6)
    stores: list[SQLStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            stores.append(SQLStore.postgres(postgres_dsn, max_size=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    run_threads(start, [() for _ in range(6)])
    for store in stores:
        store.close()
    assert errors == [] and len(stores) == 6
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute(
            "SELECT COUNT(*) FROM agnosco_schema WHERE component = 'store'"
        ).fetchone() == (1,)


def test_a_newer_schema_is_refused(postgres_dsn: str) -> None:
    SQLStore.postgres(postgres_dsn).close()
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("UPDATE agnosco_schema SET version = 99 WHERE component = 'store'")
    with pytest.raises(
        SchemaError, match="store tables .* are version 99, newer than this Agnosco knows"
    ):
        SQLStore.postgres(postgres_dsn)


def test_hnsw_search_finds_a_small_collection_among_many_faces(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HNSW path (forced here; used above EXACT_SEARCH_MAX faces) on a collection that is 2% of
    the table: iterative scanning keeps reading the graph until enough of its rows are found."""
    # enable_sort=off leaves the planner no other way to order rows than the HNSW index.
    dsn = with_options(postgres_dsn, "-c enable_sort=off")
    store = SQLStore.postgres(dsn)
    try:
        store.create_collection(collection("big"), {})
        store.create_collection(collection("small"), {})
        big = (rng.normal(size=(1500, 128)) * 0.1).astype(np.float32)
        small = (rng.normal(size=(30, 128)) * 0.1).astype(np.float32)
        store.add_faces("big", [face(f"b{i:04d}", v) for i, v in enumerate(big)])
        store.add_faces("small", [face(f"s{i:02d}", v) for i, v in enumerate(small)])
        with psycopg.connect(dsn) as conn:
            conn.execute("ANALYZE faces")
            register_vector(conn)
            hnsw = (
                postgres_sql(hnsw_search_sql(False, 128)),
                (small[0], "small", small[0], 10, float("inf")),
            )
            exact = (
                postgres_sql(exact_search_sql(False)),
                (small[0], "small", small[0], float("inf"), 10),
            )
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + hnsw[0], hnsw[1]))
            assert "faces_by_descriptor" in plan, plan
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + exact[0], exact[1]))
            assert "faces_by_descriptor" not in plan, plan
            # Why iterative scanning is on: without it the filter leaves few of the ef_search rows.
            found = {}
            for mode in ("off", "relaxed_order"):
                with conn.transaction():
                    conn.execute("SET LOCAL hnsw.ef_search = 40")
                    conn.execute(f"SET LOCAL hnsw.iterative_scan = {mode}")
                    found[mode] = len(conn.execute(*hnsw).fetchall())
            assert found["off"] < 10 and found["relaxed_order"] == 10, found

        monkeypatch.setattr(pgsearch, "EXACT_SEARCH_MAX", 0)
        hnsw_searches = []
        hnsw_search = PgvectorSearch._hnsw_search
        monkeypatch.setattr(
            PgvectorSearch,
            "_hnsw_search",
            staticmethod(lambda *a: hnsw_searches.append(a[-1]) or hnsw_search(*a)),
        )
        index = ExactIndex([f"s{i:02d}" for i in range(30)], small)
        for k in range(5):
            hits = store.search("small", small[k], 10, float("inf"))
            assert [h.face.face_id for h in hits] == [
                i for i, _ in index.search(small[k], 10, float("inf"))
            ]
        # Asking for more than one batch: the batches grow until the collection is exhausted.
        hits = store.search("small", small[0], 4096, float("inf"), exclude_face_id="s00")
        assert [h.face.face_id for h in hits] == [
            i for i, _ in index.search(small[0], 31, float("inf"))
        ][1:]
        # A distance cut ends the search after the first batch.
        assert [h.face.face_id for h in store.search("small", small[3], 4096, 0.01)] == ["s03"]
        assert [h.face.face_id for h in store.search("big", big[42], 4096, 0.01)] == ["b0042"]
        assert hnsw_searches == [10] * 5 + [4096, 4096, 4096]
    finally:
        store.close()


def test_concurrent_writers_and_searchers_on_two_stores(postgres_dsn: str) -> None:
    """Two stores (as two server processes would have) writing one collection at once: no
    deadlock, nothing lost, and touches never block."""
    first, second = SQLStore.postgres(postgres_dsn), SQLStore.postgres(postgres_dsn)
    try:
        first.create_collection(collection("c1"), {})
        for u in ("u0", "u1"):
            first.create_user("c1", UserRecord(u, "CREATED", 1.0, 1.0))
        base = rng.normal(size=128).astype(np.float32)
        errors: list[BaseException] = []

        def worker(store: SQLStore, n: int) -> None:
            try:
                for i in range(15):
                    mine = [f"w{n}-{i}-{j}" for j in range(3)]
                    store.add_faces(
                        "c1", [face(f, base + 0.001 * (i + j)) for j, f in enumerate(mine)]
                    )
                    hits = store.search("c1", base, 50, 1.0)
                    store.touch_faces("c1", sorted(h.face.face_id for h in hits)[::-1], float(i))
                    store.set_face_user("c1", mine[:2], f"u{n % 2}")
                    store.delete_faces("c1", [mine[2]])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        run_threads(worker, [(s, n) for n, s in enumerate([first, second] * 2)])
        assert errors == []
        assert first.get_collection("c1").face_count == 4 * 15 * 2
        assert second.get_user("c1", "u0").status == "ACTIVE"
        assert len(second.list_faces("c1", None, 1000, user_id="u1").items) == 2 * 15 * 2
    finally:
        first.close()
        second.close()


def test_compact_takes_deleted_descriptors_out_of_the_table_and_index_files(
    postgres_dsn: str, embedded_postgres: EmbeddedPostgres
) -> None:
    """Measured, not promised by PostgreSQL: after VACUUM the bytes of a deleted descriptor are in
    neither the heap nor the HNSW index files (the WAL keeps them until it is recycled)."""
    store = SQLStore.postgres(postgres_dsn)
    try:
        store.create_collection(collection("c1"), {})
        secret = rng.normal(size=128).astype(np.float32)
        others = [face(f"o{i:02d}", rng.normal(size=128).astype(np.float32)) for i in range(40)]
        store.add_faces("c1", others[:20] + [face("secret", secret)] + others[20:])
        needle = secret.astype("<f4").tobytes()[:32]  # pgvector keeps float4 in the machine's order

        def copies() -> dict[str, int]:
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                conn.execute("CHECKPOINT")  # write the pages out to the files
                paths = {
                    rel: conn.execute("SELECT pg_relation_filepath(%s)", (rel,)).fetchone()[0]  # type: ignore[index]
                    for rel in ("faces", "faces_by_descriptor_128")
                }
            return {
                rel: (embedded_postgres.root / "pgdata" / path).read_bytes().count(needle)
                for rel, path in paths.items()
            }

        assert copies() == {"faces": 1, "faces_by_descriptor_128": 1}
        store.delete_faces("c1", ["secret"])
        assert copies() == {"faces": 1, "faces_by_descriptor_128": 1}  # deleted, not yet gone
        store.compact()
        assert copies() == {"faces": 0, "faces_by_descriptor_128": 0}
        assert len(store.search("c1", others[0].descriptor, 100, float("inf"))) == 40
    finally:
        store.close()
