"""Nearest-neighbour search in PostgreSQL with pgvector: nothing cached in the process, so every
search sees every face committed before it began, whichever process wrote it.

Descriptors are ``vector`` values in the ``faces`` table, of the length their collection's face
model gives them; each length in use has one partial HNSW index over the rows of that length,
``faces_by_descriptor_<n>`` on ``(descriptor::vector(n))`` (``vector_l2_ops``: Euclidean distance,
the metric the Similarity calibration is defined in), made when the first collection of that length
is (:meth:`PgvectorSearch.prepare`).  A collection of at most
:data:`EXACT_SEARCH_MAX` faces is searched exactly (``l2_distance()`` of every row of the
collection: the HNSW index cannot serve that function, only its ``<->`` operator); a larger one
through the HNSW index with ``hnsw.ef_search = min(1000, max(400, 2 * n))`` for ``n`` wanted rows
and ``hnsw.iterative_scan = relaxed_order``: the index is shared by all collections and the
collection filter is applied after the graph search, so without iterative scanning a collection
that is a small part of the table would get fewer rows than it has within reach.  Relaxed order
gives better recall than strict order; the rows are re-sorted here anyway.  The nearest ``n``
rows are fetched in a materialized CTE and filtered by distance outside it (pgvector's advice);
``n`` starts small and grows only while every row fetched is within ``max_distance``, so a
thresholded search over a large collection reads few rows.  Distances are re-measured in float32
with numpy from the stored descriptors, exactly as
:class:`~agnosco.storage.vector_index.ExactIndex` measures them.

``compact`` has nothing to do here: the store's ``VACUUM faces`` removes dead rows and their HNSW
entries.  Measured on PostgreSQL 18.6 with pgvector 0.8.6 (and checked by
``tests/storage/test_postgres.py``): afterwards a deleted descriptor's bytes are in neither the
table's nor the index's files.  PostgreSQL does not promise that, and copies stay in the WAL (and
in any WAL archive, backup or replica) until those are recycled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agnosco.storage.database import Transaction
from agnosco.storage.neighbours import CollectionHead, Neighbour, NeighbourSearch, Query

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


def create_hnsw_index(tx: Transaction, size: int) -> None:
    """The HNSW index over the descriptors of ``size`` values (m=16, ef_construction=64)."""
    n = int(size)
    tx.execute(
        f"CREATE INDEX IF NOT EXISTS faces_by_descriptor_{n} ON faces"
        f" USING hnsw ((descriptor::vector({n})) vector_l2_ops) WITH (m = 16, ef_construction = 64)"
        f" WHERE vector_dims(descriptor) = {n}"
    )


def exact_search_sql(exclude: bool) -> str:
    """Up to ? faces of collection ? within ? of ?, nearest first, measured row by row:
    ``l2_distance()`` is not the HNSW index's operator, so the index cannot serve it and the
    planner reads the collection's rows (through a btree or a sequential scan).  Parameters:
    query, collection, [excluded face,] query, distance, rows."""
    return (
        "SELECT face_id, descriptor, l2_distance(descriptor, ?) AS distance FROM faces"
        f" WHERE collection_id = ?{' AND face_id <> ?' if exclude else ''}"
        " AND l2_distance(descriptor, ?) <= ? ORDER BY distance, face_id LIMIT ?"
    )


def hnsw_search_sql(exclude: bool, size: int) -> str:
    """The ? nearest faces of collection ? through the HNSW index of ``size``-value descriptors
    (its expression and ``<->`` in ``ORDER BY``, its predicate in ``WHERE``), in a materialized
    CTE, then those within ? (pgvector's advice for a distance cut).  Parameters: query,
    collection, [excluded face,] query, rows, distance."""
    n = int(size)
    return (
        "WITH nearest AS MATERIALIZED ("
        f" SELECT face_id, descriptor, descriptor::vector({n}) <-> ?::vector({n}) AS distance FROM faces"
        f" WHERE collection_id = ?{' AND face_id <> ?' if exclude else ''} AND vector_dims(descriptor) = {n}"
        f" ORDER BY descriptor::vector({n}) <-> ?::vector({n}) LIMIT ?)"
        " SELECT face_id, descriptor, distance FROM nearest WHERE distance <= ? ORDER BY distance"
    )


class PgvectorSearch(NeighbourSearch):
    """Search by the database, through pgvector; nothing cached, so nothing to keep current."""

    def prepare(self, tx: Transaction, descriptor_size: int) -> None:
        create_hnsw_index(tx, descriptor_size)

    def nearest(self, tx: Transaction, collection: CollectionHead, query: Query) -> list[Neighbour]:
        # The database measures in its own float arithmetic; the cut is re-made here exactly,
        # so the database's may only be looser.
        vector, limit, max_distance = query.vector, query.limit, query.max_distance
        within = max_distance + 1e-4 * (float(vector @ vector) + 1.0) + 1e-6
        exclude = () if query.exclude_face_id is None else (query.exclude_face_id,)
        if collection.face_count <= EXACT_SEARCH_MAX:
            # Exact: every row of the collection is measured, whatever the planner estimates.
            rows = tx.execute(
                exact_search_sql(bool(exclude)),
                (vector, collection.collection_id, *exclude, vector, within, limit + 8),
            ).fetchall()
        else:
            rows = self._hnsw_search(
                tx,
                collection.descriptor_size,
                (vector, collection.collection_id, *exclude, vector),
                within,
                limit,
            )
        if not rows:
            return []
        vectors = np.stack([row[1].to_numpy() for row in rows])
        exact = np.linalg.norm(vectors - vector, axis=1)
        hits = sorted(
            (float(d), row[0]) for d, row in zip(exact, rows, strict=True) if d <= max_distance
        )
        return [Neighbour(face_id, distance) for distance, face_id in hits[:limit]]

    @staticmethod
    def _hnsw_search(
        tx: Transaction, size: int, head: Sequence[Any], within: float, limit: int
    ) -> list[Any]:
        """The nearest rows through the HNSW index, asking for more while all are in reach."""
        wanted = limit + 8
        n = min(wanted, FIRST_BATCH)
        while True:
            tx.execute(
                "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', ?, true)",
                (str(min(MAX_EF_SEARCH, max(MIN_EF_SEARCH, 2 * n))),),
            )
            rows: list[Any] = tx.execute(
                hnsw_search_sql(len(head) == 4, size), (*head, n, within)
            ).fetchall()
            # Fewer rows in reach than asked for: the next ones are out of reach too.
            if len(rows) < n or n >= wanted:
                return rows
            n = min(wanted, n * 4)
