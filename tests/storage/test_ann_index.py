"""AnnIndex against ExactIndex, its file, and the SQLite store's use of it above a size threshold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from agnosco.storage.ann_index import AnnIndex, IndexFileError, manifest_path
from agnosco.storage.sql_store import SQLStore
from agnosco.storage.vector_index import ExactIndex

# The contract suite's search tests, run here on a store whose every non-empty collection is
# searched through an AnnIndex (the fixtures below replace conftest's for this module).
from tests.storage.test_store import (  # noqa: F401 - collected by pytest with the fixtures below
    face,
    make_collection,
    test_add_faces_is_atomic,
    test_faces_add_list_delete_and_counts,
    test_search_is_exact_nearest_first,
    test_search_reflects_deletes_and_adds,
    test_search_sees_writes_of_another_store_instance,
    test_state_survives_reopening,
)


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator[Callable[[], SQLStore]]:
    opened: list[SQLStore] = []

    def opener() -> SQLStore:
        opened.append(SQLStore.sqlite(tmp_path / "agnosco.db", ann_threshold=0))
        return opened[-1]

    yield opener
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], SQLStore]) -> SQLStore:
    return open_store()


def clustered(n: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors clustered by identity (5 photos each) at dlib-like scales, as bench/api.py
    makes them; and a function's worth of fresh photos of random enrolled identities."""
    rng = np.random.default_rng(seed)
    identities = rng.normal(0, 0.09, size=(n // 5 + 1, 128)).astype(np.float32)
    vectors = identities[np.arange(n) // 5] + rng.normal(0, 0.025, size=(n, 128)).astype(np.float32)
    queries = identities[rng.integers(0, n // 5, 300)] + rng.normal(
        0, 0.025, size=(300, 128)
    ).astype(np.float32)
    return vectors, queries


def ids_of(n: int, start: int = 0) -> list[str]:
    return [f"face-{i:07d}" for i in range(start, start + n)]


# the index ---------------------------------------------------------------------------------
def test_recall_against_exact_search_with_exact_distances() -> None:
    vectors, queries = clustered(20_000)
    ids = ids_of(20_000)
    ann, exact = AnnIndex(ids, vectors), ExactIndex(ids, vectors)
    top1 = top10 = 0
    for q in queries:
        got, want = ann.search(q, 10, 10.0), exact.search(q, 10, 10.0)
        top1 += got[0][0] == want[0][0]
        top10 += len({i for i, _ in got} & {i for i, _ in want})
        want_distance = dict(want)
        for face_id, distance in got:  # exact distances, the same floats ExactIndex gives
            position = int(face_id.split("-")[1])
            assert distance == float(np.linalg.norm((vectors[position] - q)[None], axis=1)[0])
            if face_id in want_distance:
                assert distance == want_distance[face_id]
        assert [d for _, d in got] == sorted(d for _, d in got)
    assert top1 / len(queries) >= 0.99
    assert (
        top10 / (10 * len(queries)) >= 0.6
    )  # beyond the 5 photos of the identity, neighbours are far and many
    # a distance cut returns only what is within it, and then exactly what exact search returns
    for q in queries[:50]:
        assert ann.search(q, 10, 0.6) == exact.search(q, 10, 0.6)


def test_adds_and_removes_keep_it_consistent() -> None:
    vectors, _ = clustered(3_000, seed=9)
    ids = ids_of(3_000)
    ann, exact = AnnIndex(ids[:1_000], vectors[:1_000]), ExactIndex(ids[:1_000], vectors[:1_000])
    ann.add(ids[1_000:], vectors[1_000:])  # grown 3x past its training: still right
    exact.add(ids[1_000:], vectors[1_000:])
    gone = ids[::4]
    ann.remove(gone + ["never-there"])
    exact.remove(gone)
    assert len(ann) == len(exact) == 3_000 - len(gone)
    ann.remove(gone)  # twice: nothing happens
    for i in range(0, 3_000, 7):
        got = ann.search(vectors[i], 3, 10.0)
        assert got[0][0] not in gone
        if ids[i] not in gone:
            assert got[0] == (ids[i], 0.0)
        assert ann.search(vectors[i], 1, 0.3) == exact.search(vectors[i], 1, 0.3)
    # an id added again replaces its vector
    ann.add([ids[1]], vectors[2_001:2_002])
    assert sorted(ann.search(vectors[2_001], 2, 0.0001)) == [(ids[1], 0.0), (ids[2_001], 0.0)]
    assert ids[1] not in [i for i, _ in ann.search(vectors[1], 5, 0.0001)]
    assert len(ann) == 3_000 - len(gone)


def test_grows_from_empty_and_retrains() -> None:
    vectors, _ = clustered(5_000, seed=2)
    ids = ids_of(5_000)
    ann = AnnIndex()
    assert len(ann) == 0 and ann.search(vectors[0], 5, 10.0) == []
    for start in range(0, 5_000, 250):
        ann.add(ids[start : start + 250], vectors[start : start + 250])
    assert ann.cells > 1  # retrained as it grew
    assert all(ann.search(vectors[i], 1, 1.0) == [(ids[i], 0.0)] for i in range(0, 5_000, 97))
    assert ann.search(vectors[0], 0, 10.0) == []


def test_save_load_round_trip_and_refusals(tmp_path: Path) -> None:
    vectors, queries = clustered(4_000, seed=3)
    ids = ids_of(4_000)
    ann = AnnIndex(ids, vectors)
    ann.remove(ids[:100])
    path = tmp_path / "sub" / "c.idx"
    ann.save(path, {"generation": 7, "collection_id": "c"})
    loaded = AnnIndex.load(path, {"generation": 7})
    assert len(loaded) == len(ann) and loaded.manifest["generation"] == 7
    for q in queries[:50]:
        assert loaded.search(q, 10, 10.0) == ann.search(q, 10, 10.0)
    loaded.add(["late"], queries[:1])  # keys continue after the loaded ones
    assert loaded.search(queries[0], 1, 1.0) == [("late", 0.0)]
    with pytest.raises(IndexFileError, match="stale"):
        AnnIndex.load(path, {"generation": 8})
    with pytest.raises(IndexFileError):
        AnnIndex.load(tmp_path / "missing.idx")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x07" * 64  # damage the middle: the CRC tells
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="manifest"):
        AnnIndex.load(path)
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(IndexFileError):
        AnnIndex.load(path)
    manifest_path(path).write_text("{not json")
    with pytest.raises(IndexFileError):
        AnnIndex.load(path)
    empty = tmp_path / "empty.idx"
    AnnIndex().save(empty)
    assert len(AnnIndex.load(empty)) == 0


# the store ---------------------------------------------------------------------------------
def fill(store: SQLStore, vectors: np.ndarray, start: int = 0, cid: str = "c1") -> None:
    ids = ids_of(len(vectors), start)
    for s in range(0, len(vectors), 500):
        store.add_faces(cid, [face(i, v) for i, v in zip(ids[s : s + 500], vectors[s : s + 500])])


def nearest(store: SQLStore, q: np.ndarray, n: int = 1, cid: str = "c1") -> list[str]:
    return [h.face.face_id for h in store.search(cid, q, n, 10.0)]


def test_store_switches_between_exact_and_ann_by_size(tmp_path: Path) -> None:
    vectors, queries = clustered(3_000, seed=4)
    store = SQLStore.sqlite(tmp_path / "agnosco.db", ann_threshold=1_000)
    make_collection(store)
    fill(store, vectors[:1_000])
    store.search("c1", queries[0], 1, 1.0)
    assert store.neighbours.events["built"] == 0  # at the threshold: exact
    fill(store, vectors[1_000:], start=1_000)
    reference = ExactIndex(ids_of(3_000), vectors)
    hits = sum(nearest(store, q) == [reference.search(q, 1, 10.0)[0][0]] for q in queries)
    assert store.neighbours.events["built"] == 1 and hits / len(queries) >= 0.99
    assert list((tmp_path / "agnosco.db.ann").glob("*.idx"))
    store.delete_faces("c1", ids_of(2_600))  # well below the threshold: exact search again
    assert sorted(nearest(store, queries[0], 500)) == ids_of(400, 2_600)
    store.close()


def test_restart_loads_the_saved_index_with_changes_made_since_the_build(tmp_path: Path) -> None:
    vectors, _ = clustered(2_500, seed=6)
    first = SQLStore.sqlite(tmp_path / "agnosco.db", ann_threshold=500)
    make_collection(first)
    fill(first, vectors[:2_000])
    assert nearest(first, vectors[5]) == [ids_of(1, 5)[0]]
    assert first.neighbours.events["built"] == 1 and first.neighbours.events["saved"] == 1
    fill(first, vectors[2_000:], start=2_000)  # few changes: kept in memory, saved on close
    first.delete_faces("c1", ids_of(10))
    assert first.neighbours.events["saved"] == 1
    first.close()
    assert first.neighbours.events["saved"] == 2

    again = SQLStore.sqlite(tmp_path / "agnosco.db", ann_threshold=500)
    assert nearest(again, vectors[2_100]) == ids_of(1, 2_100)
    assert nearest(again, vectors[3], 1) != ids_of(1, 3)  # deleted before the restart
    assert dict(again.neighbours.events) == {"loaded": 1}
    again.close()


def test_a_stale_file_is_repaired_and_a_damaged_one_rebuilt(tmp_path: Path) -> None:
    vectors, _ = clustered(1_500, seed=8)
    db = tmp_path / "agnosco.db"
    first = SQLStore.sqlite(db, ann_threshold=500)
    make_collection(first)
    fill(first, vectors[:1_000])
    nearest(first, vectors[0])
    first.close()  # saved at this generation
    other = SQLStore.sqlite(db, ann_threshold=500)  # another process writes: the file is now stale
    fill(other, vectors[1_000:], start=1_000)
    other.delete_faces("c1", ids_of(5))
    # the same id again with another descriptor: a repair must not keep the old one
    other.delete_faces("c1", ids_of(1, 10))
    other.add_faces("c1", [face(ids_of(1, 10)[0], vectors[1_499] + 1.0)])
    other.close()

    third = SQLStore.sqlite(db, ann_threshold=500)
    assert nearest(third, vectors[1_200]) == ids_of(1, 1_200)
    assert nearest(third, vectors[2]) != ids_of(1, 2)
    assert nearest(third, vectors[1_499] + 1.0) == ids_of(1, 10)
    assert nearest(third, vectors[10], 1) != ids_of(1, 10)
    assert third.neighbours.events["repaired"] == 1 and third.neighbours.events["built"] == 0
    assert third.neighbours.events["saved"] == 1  # the repaired index replaces the stale file
    third.close()

    (index_file,) = (tmp_path / "agnosco.db.ann").glob("*.idx")
    data = bytearray(index_file.read_bytes())
    data[-5_000:-4_000] = bytes(1_000)
    index_file.write_bytes(bytes(data))
    fourth = SQLStore.sqlite(db, ann_threshold=500)
    assert nearest(fourth, vectors[1_200]) == ids_of(1, 1_200)
    assert fourth.neighbours.events["rejected"] == 1 and fourth.neighbours.events["built"] == 1
    fourth.close()


def test_another_process_writing_repairs_the_index_in_memory(tmp_path: Path) -> None:
    vectors, _ = clustered(1_200, seed=10)
    reader = SQLStore.sqlite(tmp_path / "agnosco.db", ann_threshold=500)
    writer = SQLStore.sqlite(tmp_path / "agnosco.db", ann_threshold=500)
    make_collection(writer)
    fill(writer, vectors[:1_000])
    assert nearest(reader, vectors[7]) == ids_of(1, 7)
    writer.add_faces("c1", [face("late", vectors[1_100])])
    reader.add_faces("c1", [face("mine", vectors[1_101])])  # the reader's cache is behind: dropped
    assert nearest(reader, vectors[1_100]) == ["late"] and nearest(reader, vectors[1_101]) == [
        "mine"
    ]
    assert reader.neighbours.events["repaired"] == 1
    writer.close()
    reader.close()


def test_deleting_the_collection_or_compacting_removes_index_files_with_deleted_faces(
    tmp_path: Path,
) -> None:
    vectors, _ = clustered(1_000, seed=12)
    db = tmp_path / "agnosco.db"
    store = SQLStore.sqlite(db, ann_threshold=100)
    make_collection(store, "a")
    make_collection(store, "b")
    fill(store, vectors[:500], cid="a")
    fill(store, vectors[500:], cid="b")
    nearest(store, vectors[0], cid="a")
    nearest(store, vectors[600], cid="b")
    files = sorted((tmp_path / "agnosco.db.ann").glob("*.idx"))
    assert len(files) == 2
    other = SQLStore.sqlite(db, ann_threshold=100)  # a purge in another process
    other.delete_faces("b", ids_of(1, 100))
    other.compact()
    assert [p.name for p in sorted((tmp_path / "agnosco.db.ann").glob("*.idx"))] == [
        p.name for p in files if p == store.neighbours.ann_path("a")
    ]
    other.close()
    store.delete_faces("a", ids_of(3))  # in this process: compact saves the index without them
    store.compact()
    assert AnnIndex.load(store.neighbours.ann_path("a")).search(vectors[1], 1, 0.0001) == []
    store.delete_collection("a")
    assert (
        not store.neighbours.ann_path("a").exists()
        and not manifest_path(store.neighbours.ann_path("a")).exists()
    )
    store.close()
