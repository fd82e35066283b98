"""Users end to end through boto3: CreateUser (idempotency), ListUsers, AssociateFaces,
DisassociateFaces, DeleteUser, SearchUsers and SearchUsersByImage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agnosco import spec
from agnosco.validation import violations


def _validate(response: dict[str, Any], shape_name: str) -> None:
    errors = violations(
        {k: v for k, v in response.items() if k != "ResponseMetadata"}, spec.shape(shape_name)
    )
    assert not errors, errors


def _index_one(rekognition, collection: str, image: bytes) -> str:  # type: ignore[no-untyped-def]
    records = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image})[
        "FaceRecords"
    ]
    assert len(records) == 1
    return str(records[0]["Face"]["FaceId"])


def _users(rekognition, collection: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        u["UserId"]: u["UserStatus"]
        for u in rekognition.list_users(CollectionId=collection)["Users"]
    }


def _faces(rekognition, collection: str) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    """FaceId -> UserId (None when not associated)."""
    return {
        f["FaceId"]: f.get("UserId")
        for f in rekognition.list_faces(CollectionId=collection)["Faces"]
    }


@pytest.fixture(scope="module")
def no_face_image(no_faces_dir: Path) -> bytes:
    return (no_faces_dir / "images" / "brick.png").read_bytes()


# CreateUser -------------------------------------------------------------------------------


def test_create_user(rekognition, collection):
    response = rekognition.create_user(CollectionId=collection, UserId="user:1.a_b-c")
    assert {k: v for k, v in response.items() if k != "ResponseMetadata"} == {}
    assert _users(rekognition, collection) == {"user:1.a_b-c": "CREATED"}
    assert rekognition.describe_collection(CollectionId=collection)["UserCount"] == 1


def test_create_duplicate_user_conflicts(rekognition, collection):
    rekognition.create_user(CollectionId=collection, UserId="dup")
    with pytest.raises(rekognition.exceptions.ConflictException) as excinfo:
        rekognition.create_user(CollectionId=collection, UserId="dup")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _users(rekognition, collection) == {"dup": "CREATED"}


def test_create_user_errors(rekognition, collection):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.create_user(CollectionId=f"missing-{uuid.uuid4().hex}", UserId="u")
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.create_user(CollectionId=collection, UserId="no spaces allowed")


def test_create_user_same_token_same_params_is_idempotent(rekognition, collection):
    token = uuid.uuid4().hex
    for _ in range(2):
        rekognition.create_user(CollectionId=collection, UserId="once", ClientRequestToken=token)
    assert _users(rekognition, collection) == {"once": "CREATED"}
    # Without the token the same request is a new one, and conflicts.
    with pytest.raises(rekognition.exceptions.ConflictException):
        rekognition.create_user(CollectionId=collection, UserId="once")


def test_create_user_same_token_other_params_mismatch(rekognition, collection):
    token = uuid.uuid4().hex
    rekognition.create_user(CollectionId=collection, UserId="first", ClientRequestToken=token)
    with pytest.raises(rekognition.exceptions.IdempotentParameterMismatchException) as excinfo:
        rekognition.create_user(CollectionId=collection, UserId="second", ClientRequestToken=token)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _users(rekognition, collection) == {"first": "CREATED"}


def test_deleting_another_collection_keeps_my_tokens(rekognition, collection):
    # Two collections whose ids differ only where the other has an '_'.
    mine = f"tok{uuid.uuid4().hex[:6]}Z1"
    other = mine[:-2] + "_1"
    rekognition.create_collection(CollectionId=mine)
    try:
        token = uuid.uuid4().hex
        rekognition.create_user(CollectionId=mine, UserId="first", ClientRequestToken=token)
        rekognition.create_collection(CollectionId=other)
        rekognition.delete_collection(CollectionId=other)
        with pytest.raises(rekognition.exceptions.IdempotentParameterMismatchException):
            rekognition.create_user(CollectionId=mine, UserId="second", ClientRequestToken=token)
    finally:
        rekognition.delete_collection(CollectionId=mine)


def test_associate_faces_same_token_returns_the_first_response(rekognition, collection, read_image):
    face = _index_one(rekognition, collection, read_image("img12.jpg"))
    rekognition.create_user(CollectionId=collection, UserId="u")
    token = uuid.uuid4().hex
    first = rekognition.associate_faces(
        CollectionId=collection, UserId="u", FaceIds=[face], ClientRequestToken=token
    )
    again = rekognition.associate_faces(
        CollectionId=collection, UserId="u", FaceIds=[face], ClientRequestToken=token
    )
    # Replayed, not re-run: a re-run would find the face already associated and report nothing.
    assert again["AssociatedFaces"] == first["AssociatedFaces"] == [{"FaceId": face}]
    other = _index_one(rekognition, collection, read_image("img25.jpg"))
    with pytest.raises(rekognition.exceptions.IdempotentParameterMismatchException):
        rekognition.associate_faces(
            CollectionId=collection, UserId="u", FaceIds=[other], ClientRequestToken=token
        )
    assert _faces(rekognition, collection) == {face: "u", other: None}


# ListUsers --------------------------------------------------------------------------------


def test_list_users_status_follows_associations(rekognition, collection, read_image):
    face = _index_one(rekognition, collection, read_image("img12.jpg"))
    rekognition.create_user(CollectionId=collection, UserId="u")
    rekognition.create_user(CollectionId=collection, UserId="idle")
    response = rekognition.list_users(CollectionId=collection)
    _validate(response, "ListUsersResponse")
    assert _users(rekognition, collection) == {"u": "CREATED", "idle": "CREATED"}
    rekognition.associate_faces(CollectionId=collection, UserId="u", FaceIds=[face])
    assert _users(rekognition, collection) == {"u": "ACTIVE", "idle": "CREATED"}
    rekognition.disassociate_faces(CollectionId=collection, UserId="u", FaceIds=[face])
    assert _users(rekognition, collection) == {"u": "CREATED", "idle": "CREATED"}


def test_list_users_pagination(rekognition, collection):
    created = [f"user-{i}" for i in range(5)]
    for user in created:
        rekognition.create_user(CollectionId=collection, UserId=user)
    walked: list[str] = []
    kwargs: dict[str, Any] = {"CollectionId": collection, "MaxResults": 2}
    while True:
        page = rekognition.list_users(**kwargs)
        assert len(page["Users"]) <= 2
        walked += [u["UserId"] for u in page["Users"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(walked) == created
    pages = rekognition.get_paginator("list_users").paginate(
        CollectionId=collection, PaginationConfig={"PageSize": 1}
    )
    assert sorted(u["UserId"] for p in pages for u in p["Users"]) == created


def test_list_users_bad_token_and_missing_collection(rekognition, collection):
    for user in ("a", "b"):
        rekognition.create_user(CollectionId=collection, UserId=user)
    token = rekognition.list_users(CollectionId=collection, MaxResults=1)["NextToken"]
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        tampered = token[:-3] + ("xyz" if token[-3:] != "xyz" else "abc")
        rekognition.list_users(CollectionId=collection, NextToken=tampered)
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.list_faces(CollectionId=collection, NextToken=token)  # a ListUsers token
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.list_users(CollectionId=f"missing-{uuid.uuid4().hex}")


# AssociateFaces / DisassociateFaces -------------------------------------------------------


@dataclass
class People:
    a10: str  # person01, img10
    a2: str  # person01, img2
    b12: str  # person02, img12


@pytest.fixture
def people(rekognition, collection, read_image, identities) -> People:  # type: ignore[no-untyped-def]
    assert identities["img10.jpg"] == identities["img2.jpg"] != identities["img12.jpg"]
    return People(
        *(
            _index_one(rekognition, collection, read_image(n))
            for n in ("img10.jpg", "img2.jpg", "img12.jpg")
        )
    )


def test_associate_faces(rekognition, collection, people):
    rekognition.create_user(CollectionId=collection, UserId="alice")
    first = rekognition.associate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.a10]
    )
    _validate(first, "AssociateFacesResponse")
    assert first["AssociatedFaces"] == [{"FaceId": people.a10}]
    assert first["UnsuccessfulFaceAssociations"] == []
    assert first["UserStatus"] == "ACTIVE"

    unknown = str(uuid.uuid4())
    second = rekognition.associate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.a2, unknown, people.a10]
    )
    assert second["AssociatedFaces"] == [{"FaceId": people.a2}]  # a10 is already alice's: ignored
    assert second["UnsuccessfulFaceAssociations"] == [
        {"FaceId": unknown, "Reasons": ["FACE_NOT_FOUND"]}
    ]
    assert second["UserStatus"] == "ACTIVE"
    assert _faces(rekognition, collection) == {
        people.a10: "alice",
        people.a2: "alice",
        people.b12: None,
    }


def test_associate_another_persons_face_is_low_confidence(rekognition, collection, people):
    rekognition.create_user(CollectionId=collection, UserId="alice")
    rekognition.associate_faces(CollectionId=collection, UserId="alice", FaceIds=[people.a10])
    response = rekognition.associate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.b12]
    )
    assert response["AssociatedFaces"] == []
    [failure] = response["UnsuccessfulFaceAssociations"]
    assert failure["FaceId"] == people.b12 and failure["Reasons"] == ["LOW_MATCH_CONFIDENCE"]
    assert failure["UserId"] == "alice"
    assert 0 <= failure["Confidence"] < 75
    # A threshold of 0 accepts it.
    lenient = rekognition.associate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.b12], UserMatchThreshold=0
    )
    assert lenient["AssociatedFaces"] == [{"FaceId": people.b12}]


def test_associate_face_of_a_different_user(rekognition, collection, people):
    for user in ("alice", "mallory"):
        rekognition.create_user(CollectionId=collection, UserId=user)
    rekognition.associate_faces(CollectionId=collection, UserId="alice", FaceIds=[people.a10])
    response = rekognition.associate_faces(
        CollectionId=collection, UserId="mallory", FaceIds=[people.a10]
    )
    assert response["AssociatedFaces"] == []
    assert response["UnsuccessfulFaceAssociations"] == [
        {"FaceId": people.a10, "UserId": "alice", "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]}
    ]
    assert response["UserStatus"] == "CREATED"
    assert _faces(rekognition, collection)[people.a10] == "alice"


def test_associate_faces_missing_user_or_collection(rekognition, collection, people):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.associate_faces(CollectionId=collection, UserId="nobody", FaceIds=[people.a10])
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.associate_faces(
            CollectionId=f"missing-{uuid.uuid4().hex}", UserId="nobody", FaceIds=[people.a10]
        )
    assert _faces(rekognition, collection)[people.a10] is None


def test_disassociate_faces(rekognition, collection, people):
    for user in ("alice", "bob"):
        rekognition.create_user(CollectionId=collection, UserId=user)
    rekognition.associate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.a10, people.a2]
    )
    rekognition.associate_faces(CollectionId=collection, UserId="bob", FaceIds=[people.b12])
    unknown = str(uuid.uuid4())

    response = rekognition.disassociate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.a2, people.b12, unknown]
    )
    _validate(response, "DisassociateFacesResponse")
    assert response["DisassociatedFaces"] == [{"FaceId": people.a2}]
    assert sorted(
        response["UnsuccessfulFaceDisassociations"], key=lambda f: f["FaceId"] == unknown
    ) == [
        {"FaceId": people.b12, "UserId": "bob", "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]},
        {"FaceId": unknown, "Reasons": ["FACE_NOT_FOUND"]},
    ]
    assert response["UserStatus"] == "ACTIVE"  # a10 is still alice's
    assert _faces(rekognition, collection) == {
        people.a10: "alice",
        people.a2: None,
        people.b12: "bob",
    }

    last = rekognition.disassociate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.a10]
    )
    assert last["DisassociatedFaces"] == [{"FaceId": people.a10}]
    assert last["UserStatus"] == "CREATED"
    assert _users(rekognition, collection) == {"alice": "CREATED", "bob": "ACTIVE"}
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.disassociate_faces(
            CollectionId=collection, UserId="nobody", FaceIds=[people.a10]
        )


# DeleteUser -------------------------------------------------------------------------------


def test_delete_user_keeps_its_faces(rekognition, collection, people):
    rekognition.create_user(CollectionId=collection, UserId="alice")
    rekognition.associate_faces(
        CollectionId=collection, UserId="alice", FaceIds=[people.a10, people.a2]
    )
    response = rekognition.delete_user(CollectionId=collection, UserId="alice")
    assert {k: v for k, v in response.items() if k != "ResponseMetadata"} == {}
    assert _users(rekognition, collection) == {}
    assert _faces(rekognition, collection) == {people.a10: None, people.a2: None, people.b12: None}
    described = rekognition.describe_collection(CollectionId=collection)
    assert (described["FaceCount"], described["UserCount"]) == (3, 0)
    assert rekognition.list_faces(CollectionId=collection, UserId="alice")["Faces"] == []
    # The faces are free again: deletable, and associable to someone else.
    rekognition.create_user(CollectionId=collection, UserId="carol")
    moved = rekognition.associate_faces(
        CollectionId=collection, UserId="carol", FaceIds=[people.a10]
    )
    assert moved["AssociatedFaces"] == [{"FaceId": people.a10}]
    assert rekognition.delete_faces(CollectionId=collection, FaceIds=[people.a2])[
        "DeletedFaces"
    ] == [people.a2]


def test_delete_missing_user(rekognition, collection):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.delete_user(CollectionId=collection, UserId="nobody")
    rekognition.create_user(CollectionId=collection, UserId="once")
    rekognition.delete_user(CollectionId=collection, UserId="once")
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.delete_user(CollectionId=collection, UserId="once")
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.delete_user(CollectionId=f"missing-{uuid.uuid4().hex}", UserId="once")


# SearchUsers / SearchUsersByImage on a shared, read-only directory ------------------------


@dataclass
class Directory:
    collection: str
    faces: dict[str, str]  # image name -> FaceId


@pytest.fixture(scope="module")
def directory(rekognition, read_image, identities) -> Iterator[Directory]:  # type: ignore[no-untyped-def]
    """alice <- img10 and carol <- img2 (both person01), bob <- img12 (person02); img4 (person01)
    and img25 (person09) indexed but not associated."""
    assert {identities[n] for n in ("img10.jpg", "img2.jpg", "img4.jpg")} == {"person01"}
    assert identities["img12.jpg"] != "person01" and identities["img25.jpg"] != "person01"
    cid = f"users-directory-{uuid.uuid4().hex[:8]}"
    rekognition.create_collection(CollectionId=cid)
    names = ("img10.jpg", "img2.jpg", "img12.jpg", "img4.jpg", "img25.jpg")
    faces = {n: _index_one(rekognition, cid, read_image(n)) for n in names}
    for user, image in (("alice", "img10.jpg"), ("carol", "img2.jpg"), ("bob", "img12.jpg")):
        rekognition.create_user(CollectionId=cid, UserId=user)
        rekognition.associate_faces(CollectionId=cid, UserId=user, FaceIds=[faces[image]])
    yield Directory(cid, faces)
    rekognition.delete_collection(CollectionId=cid)


def _matched(response: dict[str, Any]) -> list[str]:
    similarities = [m["Similarity"] for m in response["UserMatches"]]
    assert similarities == sorted(similarities, reverse=True)
    assert all(80 <= s <= 100 for s in similarities)
    assert all(m["User"]["UserStatus"] == "ACTIVE" for m in response["UserMatches"])
    return [m["User"]["UserId"] for m in response["UserMatches"]]


def test_search_users_by_face_id(rekognition, directory):
    probe = directory.faces["img4.jpg"]
    response = rekognition.search_users(CollectionId=directory.collection, FaceId=probe)
    _validate(response, "SearchUsersResponse")
    assert response["SearchedFace"] == {"FaceId": probe}
    assert "SearchedUser" not in response
    assert sorted(_matched(response)) == ["alice", "carol"]
    capped = rekognition.search_users(CollectionId=directory.collection, FaceId=probe, MaxUsers=1)
    assert _matched(capped) == _matched(response)[:1]
    # A face of no one known: no match.
    nobody = rekognition.search_users(
        CollectionId=directory.collection, FaceId=directory.faces["img25.jpg"]
    )
    assert nobody["UserMatches"] == []


def test_search_users_by_user_id(rekognition, directory):
    response = rekognition.search_users(CollectionId=directory.collection, UserId="alice")
    _validate(response, "SearchUsersResponse")
    assert response["SearchedUser"] == {"UserId": "alice"}
    assert "SearchedFace" not in response
    assert _matched(response) == ["carol"]  # never alice herself, never bob


def test_search_users_needs_exactly_one_of_face_and_user(rekognition, directory):
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_users(CollectionId=directory.collection)
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_users(
            CollectionId=directory.collection, UserId="alice", FaceId=directory.faces["img4.jpg"]
        )


def test_search_users_unknown_things(rekognition, directory):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_users(CollectionId=directory.collection, UserId="nobody")
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_users(CollectionId=directory.collection, FaceId=str(uuid.uuid4()))
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_users(CollectionId=f"missing-{uuid.uuid4().hex}", UserId="alice")


def test_search_users_by_image(rekognition, directory, read_image):
    response = rekognition.search_users_by_image(
        CollectionId=directory.collection, Image={"Bytes": read_image("img6.jpg")}
    )
    _validate(response, "SearchUsersByImageResponse")
    assert sorted(_matched(response)) == ["alice", "carol"]
    detail = response["SearchedFace"]["FaceDetail"]
    assert set(detail["BoundingBox"]) == {"Width", "Height", "Left", "Top"}
    assert response["UnsearchedFaces"] == []
    assert response["FaceModelVersion"]


def test_search_users_by_image_without_a_face(rekognition, directory, no_face_image):
    response = rekognition.search_users_by_image(
        CollectionId=directory.collection, Image={"Bytes": no_face_image}
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["UserMatches"] == []
    assert "SearchedFace" not in response


def test_search_users_by_image_with_several_faces(rekognition, directory, read_image):
    # couple.jpg: person01 is the larger face; the other face is not searched.
    response = rekognition.search_users_by_image(
        CollectionId=directory.collection, Image={"Bytes": read_image("couple.jpg")}
    )
    _validate(response, "SearchUsersByImageResponse")
    assert sorted(_matched(response)) == ["alice", "carol"]
    searched = response["SearchedFace"]["FaceDetail"]["BoundingBox"]
    assert len(response["UnsearchedFaces"]) >= 1
    for unsearched in response["UnsearchedFaces"]:
        assert "FACE_NOT_LARGEST" in unsearched["Reasons"]
        box = unsearched["FaceDetails"]["BoundingBox"]
        assert box["Width"] * box["Height"] <= searched["Width"] * searched["Height"]


def test_search_users_by_image_missing_collection(rekognition, read_image):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_users_by_image(
            CollectionId=f"missing-{uuid.uuid4().hex}", Image={"Bytes": read_image("img12.jpg")}
        )
