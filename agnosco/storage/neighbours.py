"""Nearest-neighbour search over a collection's descriptors: the one part of the face store
that differs by backend, as a strategy :class:`~agnosco.storage.sql_store.SQLStore` is given.

* :class:`~agnosco.storage.index_cache.IndexCache` (SQLite): indexes in this process, exact
  (numpy) or approximate (FAISS) by size, kept as a cache of the ``faces`` table and told of
  every write this process commits; another process's writes show in the collection's
  ``generation``.
* :class:`~agnosco.storage.pgvector_search.PgvectorSearch` (PostgreSQL): the database searches
  (exactly, or through pgvector's HNSW index); nothing is cached.

Either way distances are Euclidean, re-measured in float32 with numpy, so both backends rank
and cut alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agnosco.storage.base import FaceRecord
from agnosco.storage.database import Transaction


@dataclass(frozen=True)
class CollectionHead:
    """A collection's row as a search reads it, in the search's transaction."""

    collection_id: str
    #: Bumped in the same transaction as every face added or deleted.
    generation: int
    face_count: int
    created_at: float
    descriptor_size: int


@dataclass(frozen=True)
class Query:
    """Up to ``limit`` faces within ``max_distance`` of ``vector``, never ``exclude_face_id``."""

    vector: np.ndarray  # float32, the collection's descriptor_size values
    limit: int
    max_distance: float
    exclude_face_id: str | None = None


@dataclass(frozen=True)
class Neighbour:
    face_id: str
    distance: float  # Euclidean, measured in float32 with numpy


class NeighbourSearch:
    """A search strategy; one that caches nothing needs only :meth:`nearest`."""

    def prepare(self, tx: Transaction, descriptor_size: int) -> None:
        """A collection of descriptors of ``descriptor_size`` values is being created in ``tx``."""

    def nearest(self, tx: Transaction, collection: CollectionHead, query: Query) -> list[Neighbour]:
        """The query's neighbours in the collection as of ``tx``, nearest first (ties by face id
        where the strategy can)."""
        raise NotImplementedError

    def changed(
        self,
        collection_id: str,
        generation: int,
        *,
        added: Sequence[FaceRecord] = (),
        removed: Sequence[str] = (),
    ) -> None:
        """This process committed a write that made the collection's ``generation``."""

    def forget(self, collection_id: str) -> None:
        """The collection was deleted."""

    def compact(self) -> None:
        """Make deleted descriptors unrecoverable from what the strategy keeps (after a purge)."""

    def close(self) -> None:
        """Save or release what the strategy holds."""
