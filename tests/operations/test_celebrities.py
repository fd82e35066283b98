"""Matching faces to the enrolled celebrities: the closest enrolled descriptor names a face at
Similarity 99 or above, and a gallery read once matches as the store does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from agnosco.operations.celebrities import enrolled_descriptors, match_faces
from agnosco.operations.context import OperationContext
from agnosco.storage.celebrities import CelebrityStore


@pytest.fixture
def context(tmp_path: Path) -> Iterator[OperationContext]:
    store = CelebrityStore(tmp_path / "celebrities.db")
    yield OperationContext(celebrities=store)
    store.close()


def _face(vector: np.ndarray) -> Any:
    return SimpleNamespace(descriptor=vector.astype(np.float32))


def test_the_closest_enrolled_face_at_99_names_a_face(context: OperationContext) -> None:
    rng = np.random.default_rng(7)
    a, b = (rng.standard_normal(128) * 0.1 for _ in range(2))
    store = context.celebrities
    assert store is not None
    ada = store.add("Ada", [a, a + 0.5], context.face_model.version).celebrity_id
    bo = store.add("Bo", [b], context.face_model.version).celebrity_id
    near_99 = context.calibration.distance_at(99.0)
    probes = [
        _face(a + 1e-3),  # Ada, nearly her own image
        _face(b),  # Bo exactly
        _face(b + near_99 * 1.5 / np.sqrt(128)),  # 1.5 times 99's distance from Bo
    ]
    matches = match_faces(probes, context)
    assert [m.celebrity_id if m else None for m in matches] == [ada, bo, None]
    assert matches[1] is not None and matches[1].similarity > 99.99  # float32 rounding
    assert matches[0] is not None and 99.0 <= matches[0].similarity < 100.0
    gallery = enrolled_descriptors(context)
    assert match_faces(probes, context, enrolled=gallery) == matches
    store.remove(bo)  # the gallery read before stays as it was read; the store moves on
    assert match_faces(probes, context, enrolled=gallery)[1] == matches[1]
    assert match_faces(probes, context)[1] is None
    assert match_faces([], context) == []
