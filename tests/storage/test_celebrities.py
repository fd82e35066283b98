"""The celebrity store on both backends: a celebrity with its descriptors written at once, read
back as stored, found by id, removed with every descriptor, and only one face model's
descriptors searched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agnosco.errors import InvalidParameterException, ResourceNotFoundException
from agnosco.storage.celebrities import CelebrityStore
from agnosco.storage.database import open_database


@pytest.fixture
def celebrities(tmp_path: Path, store_url: str | None) -> Iterator[CelebrityStore]:
    store = CelebrityStore(open_database(store_url, tmp_path / "agnosco.db"), owned=True)
    yield store
    store.close()


def _vectors(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(128).astype(np.float32) for _ in range(n)]


def test_add_get_find_and_remove(celebrities: CelebrityStore) -> None:
    vectors = _vectors(2, 1)
    one = celebrities.add(
        "Ada", vectors, "1.0", urls=["https://example.org/ada"], known_gender="Female"
    )
    two = celebrities.add("Bo", _vectors(1, 2), "1.0")
    assert one.celebrity_id != two.celebrity_id and one.celebrity_id.isalnum()
    assert celebrities.get(one.celebrity_id) == one
    assert (one.urls, one.known_gender, one.faces) == (("https://example.org/ada",), "Female", 2)
    assert (two.urls, two.known_gender) == ((), None)
    assert [c.name for c in celebrities.all()] == ["Ada", "Bo"]
    assert set(celebrities.find([one.celebrity_id, "missing"])) == {one.celebrity_id}
    stored = celebrities.descriptors("1.0", 128)
    assert sorted(stored.owners) == sorted([one.celebrity_id, one.celebrity_id, two.celebrity_id])
    row = stored.owners.index(one.celebrity_id)
    np.testing.assert_array_equal(stored.vectors[row], vectors[0])
    assert celebrities.descriptors("2.0", 128).owners == ()  # another model's space
    assert celebrities.descriptors("1.0", 512).owners == ()
    assert celebrities.remove(one.celebrity_id) == one
    assert celebrities.descriptors("1.0", 128).owners == (two.celebrity_id,)
    with pytest.raises(ResourceNotFoundException):
        celebrities.get(one.celebrity_id)
    with pytest.raises(ResourceNotFoundException):
        celebrities.remove(one.celebrity_id)


@pytest.mark.parametrize(
    ("name", "vectors", "gender"),
    [("", 1, None), ("X", 0, None), ("X", 1, "male")],
    ids=["no-name", "no-face", "not-a-known-gender"],
)
def test_a_refused_celebrity_leaves_nothing(
    celebrities: CelebrityStore, name: str, vectors: int, gender: str | None
) -> None:
    with pytest.raises(InvalidParameterException):
        celebrities.add(name, _vectors(vectors, 3), "1.0", known_gender=gender)
    assert celebrities.all() == [] and celebrities.descriptors("1.0", 128).owners == ()


def test_a_failed_write_stores_no_part_of_a_celebrity(celebrities: CelebrityStore) -> None:
    """The celebrity and its descriptors are one transaction: a descriptor that cannot be
    written (here: not an array) leaves no celebrity behind."""
    with pytest.raises(TypeError):  # raised after the celebrity's row was inserted
        celebrities.add("Half", [_vectors(1, 4)[0], object()], "1.0")  # type: ignore[list-item]
    assert celebrities.all() == []
