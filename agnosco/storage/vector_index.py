"""Exact nearest-neighbour search over one collection's descriptors, in memory.

At 128 dimensions (dlib's descriptor) a brute-force scan is one matrix-vector product: ~0.5 ms for 10k faces
and ~5 ms for 100k on 2 cores (``bench/api.py`` prints the figures), so exact search is
the default; an approximate index is for the scale issue.  Distances are Euclidean, the
metric the descriptor and the Similarity calibration are defined in.
"""

from __future__ import annotations

import numpy as np


def as_rows(vectors: np.ndarray | None, count: int, dim: int | None) -> np.ndarray:
    """``count`` descriptors as a float32 matrix of ``dim`` columns (by default the vectors' own
    length); the descriptor length is the collection's model's, never assumed here."""
    if vectors is None or count == 0:
        return np.empty((0, dim or 0), np.float32)
    rows = np.asarray(vectors, dtype=np.float32)
    rows = rows.reshape(1, -1) if rows.ndim == 1 else rows
    if rows.ndim != 2 or len(rows) != count:
        raise ValueError("ids and vectors differ in length")
    if dim is not None and rows.shape[1] != dim:
        raise ValueError(f"descriptors of {rows.shape[1]} values where {dim} were expected")
    return rows


class ExactIndex:
    """Face ids and their descriptors (all of one length); add, remove and k-nearest search."""

    def __init__(
        self,
        ids: list[str] | None = None,
        vectors: np.ndarray | None = None,
        *,
        dim: int | None = None,
    ) -> None:
        self._ids: list[str] = list(ids or [])
        self._vectors = as_rows(vectors, len(self._ids), dim)
        self._norms = (self._vectors**2).sum(axis=1)
        self._position = {face_id: i for i, face_id in enumerate(self._ids)}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        vectors = as_rows(vectors, len(ids), self._vectors.shape[1] if len(self._ids) else None)
        if not len(self._ids):
            self._vectors = np.empty((0, vectors.shape[1]), np.float32)
        for face_id in ids:
            self._position[face_id] = len(self._ids)
            self._ids.append(face_id)
        self._vectors = np.concatenate([self._vectors, vectors])
        self._norms = np.concatenate([self._norms, (vectors**2).sum(axis=1)])

    def remove(self, ids: list[str]) -> None:
        drop = {self._position[i] for i in ids if i in self._position}
        if not drop:
            return
        keep = np.array([i not in drop for i in range(len(self._ids))], dtype=bool)
        self._ids = [face_id for face_id, k in zip(self._ids, keep) if k]
        self._vectors, self._norms = self._vectors[keep], self._norms[keep]
        self._position = {face_id: i for i, face_id in enumerate(self._ids)}

    def search(self, query: np.ndarray, limit: int, max_distance: float) -> list[tuple[str, float]]:
        """Up to ``limit`` (id, distance) pairs within ``max_distance``, nearest first."""
        if not self._ids or limit <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(self._vectors.shape[1])
        # |v|^2 - 2 v.q + |q|^2 is one matrix-vector product, but loses precision in float32;
        # it only shortlists (with slack), and the shortlist is re-measured exactly.
        squared = self._norms - 2.0 * (self._vectors @ q) + float(q @ q)
        slack = 1e-4 * (float(q @ q) + 1.0)
        within = np.flatnonzero(squared <= max_distance * max_distance + slack)
        if len(within) > limit + 8:
            within = within[np.argpartition(squared[within], limit + 7)[: limit + 8]]
        exact = np.linalg.norm(self._vectors[within] - q, axis=1)
        keep = exact <= max_distance
        within, exact = within[keep], exact[keep]
        order = np.argsort(exact, kind="stable")[:limit]
        return [(self._ids[within[i]], float(exact[i])) for i in order]
