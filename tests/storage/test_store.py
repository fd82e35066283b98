"""The Store contract (agnosco/storage/base.py), for every backend."""

from __future__ import annotations

import numpy as np
import pytest

from agnosco.errors import (
    ConflictException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from agnosco.storage.base import Collection, FaceRecord, RememberedRequest, Store, UserRecord

ARN = "arn:aws:rekognition:eu-west-1:000000000000:collection/"
rng = np.random.default_rng(7)


def make_collection(store: Store, cid: str = "c1", tags: dict[str, str] | None = None) -> None:
    store.create_collection(Collection(cid, ARN + cid, "v1", 1000.0, 128), tags or {})


def face(face_id: str, vector: np.ndarray | None = None, image_id: str = "img") -> FaceRecord:
    v = rng.normal(size=128).astype(np.float32) if vector is None else vector
    return FaceRecord(face_id, image_id, "ext", 0.1, 0.2, 0.3, 0.4, 99.0, v, indexed_at=1.0)


def test_collections_lifecycle(store: Store) -> None:
    make_collection(store, "b", {"team": "x"})
    make_collection(store, "a")
    with pytest.raises(ResourceAlreadyExistsException):
        make_collection(store, "a")
    assert store.get_collection("b").arn == ARN + "b"
    assert store.list_tags(ARN + "b") == {"team": "x"}
    page = store.list_collections(None, 1)  # creation order
    assert [c.collection_id for c in page.items] == ["b"] and page.next_key is not None
    page = store.list_collections(page.next_key, 1)
    assert [c.collection_id for c in page.items] == ["a"] and page.next_key is None
    empty = store.list_collections(None, 0)
    assert empty.items == [] and [
        c.collection_id for c in store.list_collections(empty.next_key, 5).items
    ] == ["b", "a"]
    store.delete_collection("b")
    with pytest.raises(ResourceNotFoundException):
        store.get_collection("b")
    assert store.list_tags(ARN + "b") == {}
    with pytest.raises(ResourceNotFoundException):
        store.delete_collection("b")


def test_faces_add_list_delete_and_counts(store: Store) -> None:
    make_collection(store)
    store.add_faces("c1", [face("f2"), face("f1"), face("f3", image_id="other")])
    assert store.get_collection("c1").face_count == 3
    assert [f.face_id for f in store.list_faces("c1", None, 2).items] == ["f1", "f2"]
    assert [f.face_id for f in store.list_faces("c1", "f2", 2).items] == ["f3"]
    assert [f.face_id for f in store.faces_of_image("c1", "other")] == ["f3"]
    assert store.delete_faces("c1", ["f1", "nope"]) == ["f1"]
    assert [f.face_id for f in store.get_faces("c1", ["f1", "f2"])] == ["f2"]
    assert store.get_collection("c1").face_count == 2
    assert store.delete_faces("c1", ["f2", "f2", "f1"]) == ["f2"]  # counted once, and f1 is gone
    assert store.get_collection("c1").face_count == 1
    with pytest.raises(ResourceNotFoundException):
        store.add_faces("missing", [face("x")])


def test_add_faces_is_atomic(store: Store) -> None:
    make_collection(store)
    store.add_faces("c1", [face("f1")])
    with pytest.raises(Exception):  # noqa: B017 - whatever the backend raises for a duplicate key
        store.add_faces("c1", [face("f2"), face("f1")])  # the duplicate id fails the whole batch
    assert [f.face_id for f in store.list_faces("c1", None, 10).items] == ["f1"]
    assert store.get_collection("c1").face_count == 1


def test_descriptors_round_trip_exactly(store: Store) -> None:
    make_collection(store)
    v = rng.normal(size=128).astype(np.float32)
    store.add_faces("c1", [face("f1", v)])
    np.testing.assert_array_equal(store.get_faces("c1", ["f1"])[0].descriptor, v)


def test_search_is_exact_nearest_first(store: Store) -> None:
    make_collection(store)
    base = rng.normal(size=128).astype(np.float32)
    faces = [face(f"f{i}", base + i * 0.01 * np.ones(128, np.float32)) for i in range(20)]
    store.add_faces("c1", faces)
    hits = store.search("c1", base, 5, max_distance=10.0)
    assert [h.face.face_id for h in hits] == ["f0", "f1", "f2", "f3", "f4"]
    assert hits[0].distance == pytest.approx(0.0, abs=1e-5)
    assert hits[1].distance == pytest.approx(0.01 * np.sqrt(128), rel=1e-4)
    assert store.search("c1", base, 5, 10.0, exclude_face_id="f0")[0].face.face_id == "f1"
    assert len(store.search("c1", base, 100, max_distance=0.05)) == 1 + int(
        0.05 / (0.01 * np.sqrt(128))
    )


def test_search_reflects_deletes_and_adds(store: Store) -> None:
    make_collection(store)
    v = rng.normal(size=128).astype(np.float32)
    store.add_faces("c1", [face("f1", v)])
    assert [h.face.face_id for h in store.search("c1", v, 1, 1.0)] == ["f1"]
    store.delete_faces("c1", ["f1"])
    assert store.search("c1", v, 1, 1.0) == []
    store.add_faces("c1", [face("f2", v)])
    assert [h.face.face_id for h in store.search("c1", v, 1, 1.0)] == ["f2"]


def test_search_sees_writes_of_another_store_instance(open_store) -> None:  # type: ignore[no-untyped-def]
    writer, reader = open_store(), open_store()
    make_collection(writer)
    v = rng.normal(size=128).astype(np.float32)
    writer.add_faces("c1", [face("f1", v)])
    assert [h.face.face_id for h in reader.search("c1", v, 1, 1.0)] == ["f1"]
    writer.add_faces("c1", [face("f2", v + 0.001)])
    writer.delete_faces("c1", ["f1"])
    assert [h.face.face_id for h in reader.search("c1", v, 5, 1.0)] == ["f2"]


def test_state_survives_reopening(open_store) -> None:  # type: ignore[no-untyped-def]
    first = open_store()
    make_collection(first)
    first.add_faces("c1", [face("f1")])
    first.close()
    again = open_store()
    assert again.get_collection("c1").face_count == 1


def test_users_and_associations(store: Store) -> None:
    make_collection(store)
    store.add_faces("c1", [face("f1"), face("f2")])
    store.create_user("c1", UserRecord("u1", "CREATED", 1.0, 1.0))
    with pytest.raises(ConflictException):
        store.create_user("c1", UserRecord("u1", "CREATED", 1.0, 1.0))
    store.set_face_user("c1", ["f1"], "u1")
    assert store.get_user("c1", "u1").status == "ACTIVE"
    assert [f.face_id for f in store.list_faces("c1", None, 10, user_id="u1").items] == ["f1"]
    assert store.get_collection("c1").user_count == 1
    store.set_face_user("c1", ["f1"], None)
    assert store.get_user("c1", "u1").status == "CREATED"
    store.set_face_user("c1", ["f2"], "u1")
    store.delete_user("c1", "u1")
    assert store.get_faces("c1", ["f2"])[0].user_id is None
    with pytest.raises(ResourceNotFoundException):
        store.get_user("c1", "u1")
    with pytest.raises(ResourceNotFoundException):
        store.delete_user("c1", "u1")


def test_tags_and_request_tokens(store: Store) -> None:
    make_collection(store)
    store.tag_resource(ARN + "c1", {"a": "1", "b": "2"})
    store.untag_resource(ARN + "c1", ["a", "zz"])
    assert store.list_tags(ARN + "c1") == {"b": "2"}
    assert store.recall_request("c1/CreateUser", "t") is None
    store.remember_request("c1/CreateUser", "t", "fp", "{}")
    assert store.recall_request("c1/CreateUser", "t") == RememberedRequest("fp", "{}")
    store.delete_collection("c1")
    assert store.recall_request("c1/CreateUser", "t") is None


def test_collections_of_two_face_models_live_side_by_side(store: Store) -> None:
    """Each collection keeps its model's descriptor length: faces of another length are refused,
    and searches stay in their collection's space (on PostgreSQL, through that length's index)."""
    store.create_collection(Collection("m128", ARN + "m128", "1.0", 1000.0, 128), {})
    store.create_collection(Collection("m64", ARN + "m64", "9.0", 1001.0, 64), {})
    short = (rng.normal(size=(30, 64)) * 0.1).astype(np.float32)
    long = (rng.normal(size=(30, 128)) * 0.1).astype(np.float32)
    store.add_faces("m64", [face(f"s{i:02d}", v) for i, v in enumerate(short)])
    store.add_faces("m128", [face(f"l{i:02d}", v) for i, v in enumerate(long)])
    assert [
        (c.face_model_version, c.descriptor_size) for c in store.list_collections(None, 5).items
    ] == [("1.0", 128), ("9.0", 64)]
    assert store.search("m64", short[7], 3, float("inf"))[0].face.face_id == "s07"
    assert store.search("m128", long[9], 3, float("inf"))[0].face.face_id == "l09"
    assert store.get_faces("m64", ["s03"])[0].descriptor.tolist() == short[3].tolist()
    with pytest.raises(ValueError, match="64-value"):
        store.add_faces("m64", [face("wrong", long[0])])
    with pytest.raises(ValueError, match="128-value"):
        store.search("m128", short[0], 3, 1.0)
    assert store.get_collection("m64").face_count == 30  # the refused face left nothing behind
