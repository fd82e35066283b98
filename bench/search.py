"""Search at scale: exact numpy search, the embedded ANN index and pgvector HNSW, in one run.

For each variant of synthetic 128-d descriptors at dlib-like scales (``--size``, default 1M):

* ``uniform``: every coordinate uniform with the spread of real descriptors (no structure: the
  hardest case for any approximate index, and unlike faces);
* ``clustered``: 5 photos per identity (identity ~ N(0, 0.09), photo = identity + N(0, 0.025)),
  as real faces cluster by identity; queries are new photos of enrolled identities.

and each system:

* ``exact``: :class:`~agnosco.storage.vector_index.ExactIndex` in memory (the ground truth);
* ``embedded ANN``: :meth:`~agnosco.storage.sql_store.SQLStore.sqlite` on a real database file, so
  the figures include the store's work (the index build from the ``faces`` table, its save, and
  each hit's row); then the store is closed and reopened, and the saved index loaded;
* ``pgvector``: :meth:`~agnosco.storage.sql_store.SQLStore.postgres` (HNSW, m=16,
  ef_construction=64) on an embedded PostgreSQL with ``shared_buffers`` large enough for the
  index (``--pg-shared-buffers``), as ``docs/scaling.md`` asks of a deployment;

it prints SearchFaces-equivalent latency (10 faces within the distance of Similarity 80) p50 and
p99, recall@1 and recall@10 against exact search (without the distance cut), memory (RSS growth
of this process, and the index's size on disk) and the time to build the index.

    python bench/search.py [--size 1000000] [--queries 1000] [--variants uniform clustered]
                           [--pgvector-variants uniform clustered]   # ~15 min on 2 cores
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from agnosco.storage.base import Collection, FaceRecord, Store
from agnosco.storage.index_cache import ANN_THRESHOLD
from agnosco.storage.sql_store import SQLStore
from agnosco.storage.vector_index import ExactIndex
from agnosco.vision.similarity import SimilarityCalibration

ROOT = Path(__file__).resolve().parents[1]
ARN = "arn:aws:rekognition:us-east-1:000000000000:collection/"
BATCH = 10_000


def rss() -> int:
    """Resident memory, after returning freed heap to the system (so growth is what is held)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def data(variant: str, size: int, queries: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if variant == "clustered":
        identities = rng.normal(0, 0.09, size=(size // 5 + 1, 128)).astype(np.float32)
        vectors = identities[np.arange(size) // 5] + rng.normal(0, 0.025, size=(size, 128)).astype(
            np.float32
        )
        probes = identities[rng.integers(0, size // 5, queries)]
        return vectors, probes + rng.normal(0, 0.025, size=(queries, 128)).astype(np.float32)
    spread = 0.09 * np.sqrt(3)  # the same per-coordinate standard deviation as the identities
    vectors = rng.uniform(-spread, spread, size=(size, 128)).astype(np.float32)
    return vectors, rng.uniform(-spread, spread, size=(queries, 128)).astype(np.float32)


def face_id(i: int) -> str:
    return f"face-{i:08d}"


def records(vectors: np.ndarray) -> Iterator[list[FaceRecord]]:
    for start in range(0, len(vectors), BATCH):
        yield [
            FaceRecord(face_id(i), f"img-{i:08d}", None, 0.1, 0.1, 0.3, 0.3, 99.0, vectors[i], 1.0)
            for i in range(start, min(start + BATCH, len(vectors)))
        ]


def load(store: Store, collection: str, vectors: np.ndarray) -> float:
    store.create_collection(
        Collection(collection, ARN + collection, "bench", time.time(), vectors.shape[1]), {}
    )
    start = time.perf_counter()
    for batch in records(vectors):
        store.add_faces(collection, batch)
    return time.perf_counter() - start


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = sorted(1000 * s for s in seconds)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]


def measure(
    search: Search, queries: np.ndarray, truth: list[list[str]], within: float
) -> dict[str, float]:
    """Latency of SearchFaces-equivalent calls (10 within ``within``) and recall without the cut."""
    for q in queries[:10]:
        search(q, 10, within)
    times, top1, top10 = [], 0, 0
    for q, want in zip(queries, truth):
        start = time.perf_counter()
        search(q, 10, within)
        times.append(time.perf_counter() - start)
        got = search(q, 10, float("inf"))
        top1 += bool(got) and got[0] == want[0]
        top10 += len(set(got) & set(want))
    p50, p99 = percentiles(times)
    return {"p50": p50, "p99": p99, "r1": top1 / len(queries), "r10": top10 / (10 * len(queries))}


Search = Callable[[np.ndarray, int, float], list[str]]


def store_search(store: Store, collection: str) -> Search:
    return lambda q, k, d: [h.face.face_id for h in store.search(collection, q, k, d)]


def index_search(index: ExactIndex) -> Search:
    return lambda q, k, d: [i for i, _ in index.search(q, k, d)]


def row(name: str, m: dict[str, float], memory: str, build: str) -> None:
    print(
        f"  {name:30s} {m['p50']:8.2f} {m['p99']:8.2f} {m['r1']:9.4f} {m['r10']:9.4f}  {memory:>26s}  {build}",
        flush=True,
    )


@contextmanager
def embedded_postgres(shared_buffers: str) -> Iterator[str]:
    """A DSN of a fresh database with pgvector on an embedded PostgreSQL server whose
    ``shared_buffers`` is set as a deployment would set it (room for the HNSW index)."""
    sys.path.insert(0, str(ROOT))
    from tests.storage.embedded import EmbeddedPostgres

    server = EmbeddedPostgres()
    try:
        server.restart_with(shared_buffers=shared_buffers)
        with server.database("bench") as dsn:
            yield dsn
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--variants", nargs="+", default=["uniform", "clustered"], choices=["uniform", "clustered"]
    )
    parser.add_argument(
        "--pgvector-variants",
        nargs="*",
        default=["uniform", "clustered"],
        choices=["uniform", "clustered"],
        help="variants to load into PostgreSQL too (building its HNSW index takes ~3-4 min "
        "per million on 2 cores)",
    )
    parser.add_argument("--ann-threshold", type=int, default=ANN_THRESHOLD)
    parser.add_argument(
        "--pg-shared-buffers",
        default="3GB",
        help="PostgreSQL shared_buffers (the index must fit: ~0.8 GB per million faces; "
        "the server's own default of 128MB makes searches at 1M ~2x slower)",
    )
    args = parser.parse_args()
    within = SimilarityCalibration.load().distance_at(80)  # SearchFaces' default FaceMatchThreshold
    began = time.perf_counter()
    try:
        import pgvector  # noqa: F401  (the 'postgres' extra)

        postgres = True
    except ImportError:
        postgres = False

    print(
        f"{args.size:,} faces, {args.queries} queries, k=10 within distance {within:.3f} (Similarity 80); "
        f"ANN above {args.ann_threshold:,} faces; {os.cpu_count()} CPUs",
        flush=True,
    )
    for variant in args.variants:
        vectors, queries = data(variant, args.size, args.queries)
        print(f"\n{variant}: {args.size:,} descriptors", flush=True)
        print(
            f"  {'':30s} {'p50 ms':>8s} {'p99 ms':>8s} {'recall@1':>9s} {'recall@10':>9s}  "
            f"{'memory (RSS growth / disk)':>26s}  index build",
            flush=True,
        )

        # exact: the ground truth
        before, start = rss(), time.perf_counter()
        exact = ExactIndex([face_id(i) for i in range(args.size)], vectors.copy())  # its own arrays
        built = time.perf_counter() - start
        grown = rss() - before
        truth = [[i for i, _ in exact.search(q, 10, float("inf"))] for q in queries]
        m = measure(index_search(exact), queries, truth, within)
        row("exact (ExactIndex, numpy)", m, mib(grown), f"{built:.1f} s (arrays)")
        del exact
        gc.collect()

        # the embedded ANN, through the SQLite store
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "agnosco.db"
            store = SQLStore.sqlite(db, ann_threshold=args.ann_threshold)
            loaded = load(store, variant, vectors)
            before, start = rss(), time.perf_counter()
            store.search(
                variant, queries[0], 1, within
            )  # builds the index from SQLite and saves it
            built = time.perf_counter() - start
            grown = rss() - before
            on_disk = sum(p.stat().st_size for p in db.with_name(db.name + ".ann").glob("*"))
            m = measure(store_search(store, variant), queries, truth, within)
            events = dict(store.neighbours.events)
            store.close()
            kind = "embedded ANN (SQLite)" if events else "SQLite (exact: below threshold)"
            row(
                kind,
                m,
                f"{mib(grown)} / {mib(on_disk)}",
                f"{built:.1f} s from SQLite {events}; rows inserted in {loaded:.0f} s",
            )
            store = SQLStore.sqlite(db, ann_threshold=args.ann_threshold)
            start = time.perf_counter()
            store.search(variant, queries[0], 1, within)
            reopened = time.perf_counter() - start
            restarted = measure(
                store_search(store, variant), queries[: max(1, len(queries) // 5)], truth, within
            )
            row(
                "  after a restart",
                restarted,
                "",
                f"{reopened:.1f} s to open {dict(store.neighbours.events)}",
            )
            store.close()

        # pgvector
        if variant not in args.pgvector_variants:
            print("  pgvector: not run for this variant (--pgvector-variants)", flush=True)
        elif not postgres:
            print("  pgvector: skipped (the 'postgres' extra is not installed)", flush=True)
        else:
            import psycopg

            with embedded_postgres(args.pg_shared_buffers) as dsn:
                store = SQLStore.postgres(dsn)
                index_name = f"faces_by_descriptor_{vectors.shape[1]}"
                # pgvector's advice for a bulk load: rows first, then the HNSW index in one build
                # (maintained row by row it inserts ~900 rows/s here: ~20 min per million).
                with psycopg.connect(dsn, autocommit=True) as conn:
                    (ddl,) = conn.execute(
                        "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (index_name,)
                    ).fetchone()
                    conn.execute(f"DROP INDEX {index_name}")
                loaded = load(store, variant, vectors)
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("SET maintenance_work_mem = '4GB'")
                    conn.execute(
                        f"SET max_parallel_maintenance_workers = {max(0, (os.cpu_count() or 1) - 1)}"
                    )
                    start = time.perf_counter()
                    conn.execute(ddl)
                    built = time.perf_counter() - start
                    conn.execute("ANALYZE faces")
                    (index_bytes,) = conn.execute(
                        "SELECT pg_relation_size(%s)", (index_name,)
                    ).fetchone()
                    (table_bytes,) = conn.execute(
                        "SELECT pg_total_relation_size('faces')"
                    ).fetchone()
                m = measure(store_search(store, variant), queries, truth, within)
                store.close()
                row(
                    "pgvector HNSW (PostgreSQL)",
                    m,
                    f"index {mib(index_bytes)} / all {mib(table_bytes)}",
                    f"{built:.0f} s (CREATE INDEX after the rows); rows inserted in {loaded:.0f} s",
                )
        del vectors, truth
        gc.collect()
    print(f"\ntotal {time.perf_counter() - began:.0f} s", flush=True)


if __name__ == "__main__":
    main()
