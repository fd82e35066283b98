"""More of the Store contract, for every backend: the details that make backends interchangeable
(paging keys, byte order of ids, cleanup on delete, the retention queries)."""

from __future__ import annotations

import numpy as np
import pytest

from agnosco.errors import ResourceNotFoundException
from agnosco.storage.base import Collection, FaceRecord, RememberedRequest, Store, UserRecord
from agnosco.storage.vector_index import ExactIndex

ARN = "arn:aws:rekognition:eu-west-1:000000000000:collection/"
rng = np.random.default_rng(11)


def make_collection(store: Store, cid: str = "c1", tags: dict[str, str] | None = None) -> None:
    store.create_collection(Collection(cid, ARN + cid, "v1", 1000.0, 128), tags or {})


def face(
    face_id: str,
    vector: np.ndarray | None = None,
    *,
    image_id: str = "img",
    width: float = 0.3,
    indexed_at: float = 1.0,
    last_matched_at: float | None = None,
    user_id: str | None = None,
) -> FaceRecord:
    v = rng.normal(size=128).astype(np.float32) if vector is None else vector
    return FaceRecord(
        face_id,
        image_id,
        None,
        0.1,
        0.2,
        width,
        0.4,
        99.0,
        v,
        indexed_at=indexed_at,
        user_id=user_id,
        last_matched_at=last_matched_at,
    )


def ids(items: list) -> list[str]:  # type: ignore[type-arg]
    return [
        getattr(i, "face_id", None) or getattr(i, "user_id", None) or i.collection_id for i in items
    ]


def test_ids_are_ordered_and_paged_by_bytes(store: Store) -> None:
    make_collection(store)
    names = ["a", "B", "_x", "%y", "a.b", "a-b", "Z9", "0", "é"]
    store.add_faces("c1", [face(n) for n in names])
    for n in names:
        store.create_user("c1", UserRecord(n, "CREATED", 1.0, 1.0))
    expected = sorted(names, key=lambda n: n.encode())
    assert ids(store.list_faces("c1", None, 100).items) == expected
    assert ids(store.list_users("c1", None, 100).items) == expected
    # Walking two at a time visits every id once, in the same order.
    for lister in (
        lambda after: store.list_faces("c1", after, 2),
        lambda after: store.list_users("c1", after, 2),
    ):
        seen, after = [], None
        while True:
            page = lister(after)
            seen += ids(page.items)
            if page.next_key is None:
                break
            assert len(page.next_key) <= 128
            after = page.next_key
        assert seen == expected


def test_limit_zero_pages_resume_where_they_began(store: Store) -> None:
    assert store.list_collections(None, 0).next_key is None  # nothing at all: no more
    make_collection(store, "c1")
    make_collection(store, "c2")
    empty = store.list_collections(None, 0)
    assert empty.items == [] and empty.next_key == ""
    first = store.list_collections(None, 1)
    assert store.list_collections(first.next_key, 0).next_key == first.next_key
    assert ids(store.list_collections(first.next_key, 5).items) == ["c2"]

    store.add_faces("c1", [face("f1"), face("f2")])
    store.create_user("c1", UserRecord("u1", "CREATED", 1.0, 1.0))
    assert store.list_faces("c1", None, 0).next_key == ""
    assert store.list_faces("c1", "f1", 0).next_key == "f1"
    assert store.list_faces("c1", "f2", 0).next_key is None
    assert ids(store.list_faces("c1", "", 5).items) == ["f1", "f2"]
    assert store.list_users("c1", None, 0).next_key == ""
    assert store.list_users("c2", None, 0).next_key is None
    page = store.list_faces("c1", None, 2)
    assert ids(page.items) == ["f1", "f2"] and page.next_key is None


def test_list_faces_filters_by_user_and_ids(store: Store) -> None:
    make_collection(store)
    store.add_faces("c1", [face("f1", user_id="u1"), face("f2"), face("f3", user_id="u1")])
    assert ids(store.list_faces("c1", None, 10, user_id="u1").items) == ["f1", "f3"]
    assert ids(store.list_faces("c1", None, 10, face_ids=["f3", "f2", "zz"]).items) == ["f2", "f3"]
    assert ids(store.list_faces("c1", None, 10, user_id="u1", face_ids=["f2", "f3"]).items) == [
        "f3"
    ]
    assert store.list_faces("c1", None, 10, face_ids=[]).items == []
    with pytest.raises(ResourceNotFoundException, match="The collection id: nope does not exist"):
        store.list_faces("nope", None, 10)


def test_get_faces_keeps_the_order_asked_and_faces_of_image_is_largest_first(store: Store) -> None:
    make_collection(store)
    store.add_faces(
        "c1",
        [
            face("f1", image_id="i", width=0.1),
            face("f2", image_id="i", width=0.5),
            face("f3", image_id="j"),
        ],
    )
    assert ids(store.get_faces("c1", ["f3", "nope", "f1"])) == ["f3", "f1"]
    assert store.get_faces("c1", []) == []
    assert ids(store.faces_of_image("c1", "i")) == ["f2", "f1"]
    assert store.faces_of_image("c1", "none") == []
    record = store.get_faces("c1", ["f2"])[0]
    assert (
        record.image_id,
        record.external_image_id,
        record.left,
        record.top,
        record.width,
        record.height,
        record.confidence,
        record.indexed_at,
        record.user_id,
        record.consent_ref,
        record.last_matched_at,
    ) == ("i", None, 0.1, 0.2, 0.5, 0.4, 99.0, 1.0, None, None, None)


def test_delete_collection_removes_exactly_what_belongs_to_it(store: Store) -> None:
    for cid in ("c_1", "c%1", "cX1", "c_10"):
        make_collection(store, cid, {"k": cid})
        store.tag_resource(ARN + cid + "/sub", {"s": "1"})
        store.remember_request(cid + "/CreateUser", "t", "fp", "{}")
        store.add_faces(cid, [face("f1")])
        store.create_user(cid, UserRecord("u1", "CREATED", 1.0, 1.0))
    store.delete_collection("c_1")
    assert store.list_tags(ARN + "c_1") == {} and store.list_tags(ARN + "c_1/sub") == {}
    assert store.recall_request("c_1/CreateUser", "t") is None
    for other in ("c%1", "cX1", "c_10"):  # no wildcard, no prefix of another id
        assert store.list_tags(ARN + other) == {"k": other}
        assert store.list_tags(ARN + other + "/sub") == {"s": "1"}
        assert store.recall_request(other + "/CreateUser", "t") == RememberedRequest("fp", "{}")
        assert (
            store.get_collection(other).face_count == 1
            and store.get_collection(other).user_count == 1
        )
    make_collection(store, "c_1")  # the id is free again, and empty
    described = store.get_collection("c_1")
    assert (described.face_count, described.user_count) == (0, 0)
    assert store.list_tags(ARN + "c_1") == {}
    assert ids(store.list_collections(None, 10).items) == ["c%1", "cX1", "c_10", "c_1"]


def test_touch_and_expired_faces(store: Store) -> None:
    make_collection(store)
    store.add_faces(
        "c1",
        [
            face("old", indexed_at=10.0),
            face("new", indexed_at=100.0),
            face("matched", indexed_at=10.0, last_matched_at=90.0),
        ],
    )
    assert store.expired_faces("c1", None, None) == []
    assert ids(store.expired_faces("c1", 50.0, None)) == ["matched", "old"]
    assert ids(store.expired_faces("c1", None, 50.0)) == ["old"]
    assert ids(store.expired_faces("c1", 5.0, 95.0)) == ["matched", "old"]
    store.touch_faces("c1", ["old", "nope"], 200.0)
    store.touch_faces("c1", [], 300.0)
    store.touch_faces("missing", ["old"], 300.0)  # no collection: nothing to touch, no error
    assert store.get_faces("c1", ["old"])[0].last_matched_at == 200.0
    assert ids(store.expired_faces("c1", None, 150.0)) == ["matched", "new"]
    with pytest.raises(ResourceNotFoundException):
        store.expired_faces("missing", 1.0, None)


def test_users_status_and_empty_users(store: Store) -> None:
    make_collection(store)
    store.add_faces("c1", [face("f1"), face("f2")])
    for user, created in (("u3", 30.0), ("u1", 10.0), ("u2", 20.0), ("u4", 40.0)):
        store.create_user("c1", UserRecord(user, "CREATED", created, created))
    store.set_face_user("c1", ["f1", "nope"], "u2")
    assert [(u.user_id, u.status) for u in store.list_users("c1", None, 10).items] == [
        ("u1", "CREATED"),
        ("u2", "ACTIVE"),
        ("u3", "CREATED"),
        ("u4", "CREATED"),
    ]
    assert store.get_user("c1", "u1").updated_at > 10.0  # every user's status was re-derived
    assert store.delete_empty_users("c1", 35.0) == ["u1", "u3"]
    assert ids(store.list_users("c1", None, 10).items) == ["u2", "u4"]
    with pytest.raises(ResourceNotFoundException, match="User u1 does not exist in collection c1"):
        store.get_user("c1", "u1")
    with pytest.raises(ResourceNotFoundException, match="The collection id: nope does not exist"):
        store.create_user("nope", UserRecord("u", "CREATED", 1.0, 1.0))


def test_tags_overwrite_and_requests_overwrite(store: Store) -> None:
    store.tag_resource("arn:x", {"b": "1", "a": "2"})
    store.tag_resource("arn:x", {"b": "3"})
    store.tag_resource("arn:x", {})
    assert store.list_tags("arn:x") == {"a": "2", "b": "3"} and list(store.list_tags("arn:x")) == [
        "a",
        "b",
    ]
    store.untag_resource("arn:x", [])
    store.untag_resource("arn:x", ["a"])
    assert store.list_tags("arn:x") == {"b": "3"}
    store.remember_request("s", "t", "fp1", '{"a": 1}')
    store.remember_request("s", "t", "fp2", '{"a": 2}')
    assert store.recall_request("s", "t") == RememberedRequest("fp2", '{"a": 2}')
    assert store.recall_request("s", "other") is None


def test_search_agrees_with_the_exact_index(store: Store) -> None:
    make_collection(store)
    make_collection(store, "other")
    vectors = (rng.normal(size=(300, 128)) * 0.1).astype(np.float32)
    names = [f"f{i:03d}" for i in range(300)]
    store.add_faces("c1", [face(n, v) for n, v in zip(names, vectors, strict=True)])
    store.add_faces(
        "other", [face(f"o{i}", v) for i, v in enumerate(vectors[:50])]
    )  # never in c1's results
    index = ExactIndex(names, vectors)
    for k in range(10):
        q = vectors[k] + (rng.normal(size=128) * 0.05).astype(np.float32)
        for limit, max_distance in ((1, 10.0), (5, 10.0), (50, 1.6), (4096, 1.5), (3, 0.0)):
            expected = index.search(q, limit, max_distance)
            hits = store.search("c1", q, limit, max_distance)
            assert [h.face.face_id for h in hits] == [i for i, _ in expected]
            assert [h.distance for h in hits] == pytest.approx([d for _, d in expected], abs=1e-5)
    hits = store.search("c1", vectors[7], 3, float("inf"), exclude_face_id="f007")
    assert "f007" not in [h.face.face_id for h in hits] and len(hits) == 3
    assert store.search("c1", vectors[7], 0, 10.0) == []
    with pytest.raises(ResourceNotFoundException):
        store.search("missing", vectors[0], 1, 1.0)


def test_compact_after_deletes_keeps_the_rest(store: Store) -> None:
    make_collection(store)
    v = rng.normal(size=128).astype(np.float32)
    store.add_faces("c1", [face("gone", v), face("kept", v + 0.01)])
    store.delete_faces("c1", ["gone"])
    store.compact()
    assert [h.face.face_id for h in store.search("c1", v, 5, 1.0)] == ["kept"]
    assert store.get_faces("c1", ["gone"]) == []


def test_a_collection_made_again_elsewhere_is_searched_afresh(open_store) -> None:  # type: ignore[no-untyped-def]
    """Another process deletes a collection and makes it again under the same id with as many
    writes, so its generation is back where this process last saw it: the search must still see
    the new faces, not a cached index of the old ones."""
    here, elsewhere = open_store(), open_store()
    old, new = rng.normal(size=(2, 128)).astype(np.float32)
    here.create_collection(Collection("c1", ARN + "c1", "v1", 1000.0, 128), {})
    here.add_faces("c1", [face("old", old)])
    assert [h.face.face_id for h in here.search("c1", old, 5, 0.01)] == ["old"]
    elsewhere.delete_collection("c1")
    elsewhere.create_collection(Collection("c1", ARN + "c1", "v1", 2000.0, 128), {})
    elsewhere.add_faces("c1", [face("new", new)])
    assert here.search("c1", old, 5, 0.01) == []
    assert [h.face.face_id for h in here.search("c1", new, 5, 0.01)] == ["new"]
