"""ExactIndex against a brute-force reference."""

from __future__ import annotations

import numpy as np

from agnosco.storage.vector_index import ExactIndex


def test_matches_brute_force_after_adds_and_removes() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(500, 128)).astype(np.float32)
    ids = [f"id{i}" for i in range(500)]
    index = ExactIndex(ids[:300], vectors[:300])
    index.add(ids[300:], vectors[300:])
    index.remove(ids[::3])
    alive = [i for i in range(500) if i % 3]
    query = rng.normal(size=128).astype(np.float32)
    reference = sorted(alive, key=lambda i: float(np.linalg.norm(vectors[i] - query)))[:10]
    got = index.search(query, 10, max_distance=1e9)
    assert [g[0] for g in got] == [ids[i] for i in reference]
    assert np.allclose(
        [g[1] for g in got], [np.linalg.norm(vectors[i] - query) for i in reference], rtol=1e-4
    )
    assert len(index) == len(alive)


def test_limits_and_empty() -> None:
    assert ExactIndex().search(np.zeros(128, np.float32), 5, 1.0) == []
    index = ExactIndex(["a", "b"], np.stack([np.zeros(128), np.ones(128)]).astype(np.float32))
    assert [i for i, _ in index.search(np.zeros(128, np.float32), 5, 1.0)] == ["a"]
    assert index.search(np.zeros(128, np.float32), 0, 100.0) == []
