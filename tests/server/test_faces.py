"""Faces end to end through boto3: IndexFaces, ListFaces, DeleteFaces, SearchFaces(ByImage),
and S3Object images read from the server's local S3 folder."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agnosco import spec
from agnosco.validation import violations

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: person01 images that are cheap to analyse; img12 (person02) and img25 (person09) are others.
PERSON01 = ("img2.jpg", "img10.jpg", "img6.jpg")
OTHERS = ("img12.jpg", "img25.jpg")


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _validate(response: dict[str, Any], shape_name: str) -> None:
    """The response conforms to the service model (bar the IndexFacesModelVersion bug below)."""
    errors = [
        e
        for e in violations(_strip(response), spec.shape(shape_name))
        if "indexFacesModelVersion" not in e
    ]
    assert not errors, errors


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _box_ok(box: dict[str, float]) -> bool:
    return (
        set(box) == {"Width", "Height", "Left", "Top"}
        and 0 < box["Width"] <= 1
        and 0 < box["Height"] <= 1
    )


def _face_count(rekognition, collection: str) -> int:  # type: ignore[no-untyped-def]
    return int(rekognition.describe_collection(CollectionId=collection)["FaceCount"])


def _index_one(rekognition, collection: str, image: bytes, **params: Any) -> str:  # type: ignore[no-untyped-def]
    records = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image}, **params)[
        "FaceRecords"
    ]
    assert len(records) == 1
    return str(records[0]["Face"]["FaceId"])


@pytest.fixture(scope="module")
def no_face_image(no_faces_dir: Path) -> bytes:
    return (no_faces_dir / "images" / "brick.png").read_bytes()


# IndexFaces -------------------------------------------------------------------------------


def test_index_faces_records(rekognition, collection, read_image):
    response = rekognition.index_faces(
        CollectionId=collection,
        Image={"Bytes": read_image("img10.jpg")},
        ExternalImageId="ext-img10",
    )
    _validate(response, "IndexFacesResponse")
    assert response["UnindexedFaces"] == []
    assert (
        response["FaceModelVersion"]
        == rekognition.describe_collection(CollectionId=collection)["FaceModelVersion"]
    )
    [record] = response["FaceRecords"]
    face = record["Face"]
    assert UUID.match(face["FaceId"]) and UUID.match(face["ImageId"])
    assert face["ExternalImageId"] == "ext-img10"
    assert _box_ok(face["BoundingBox"])
    assert 50 < face["Confidence"] <= 100
    assert "UserId" not in face
    detail = record["FaceDetail"]
    assert {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"} <= set(detail)
    assert detail["BoundingBox"] == face["BoundingBox"]
    assert "Smile" not in detail  # DEFAULT attributes only
    assert _face_count(rekognition, collection) == 1
    [listed] = rekognition.list_faces(CollectionId=collection)["Faces"]
    assert listed["FaceId"] == face["FaceId"] and listed["ImageId"] == face["ImageId"]
    assert listed["ExternalImageId"] == "ext-img10"


def test_index_faces_model_version_matches_the_model(rekognition, collection, read_image):
    response = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": read_image("img25.jpg")}
    )
    version = response["FaceRecords"][0]["Face"]["IndexFacesModelVersion"]
    assert re.fullmatch(spec.shape("IndexFacesModelVersion").metadata["pattern"], version)


def test_index_faces_max_faces_keeps_the_largest(rekognition, collection, read_image):
    response = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": read_image("couple.jpg")}, MaxFaces=1
    )
    assert len(response["FaceRecords"]) == 1
    assert len(response["UnindexedFaces"]) == 1
    unindexed = response["UnindexedFaces"][0]
    assert unindexed["Reasons"] == ["EXCEEDS_MAX_FACES"]
    kept = response["FaceRecords"][0]["Face"]["BoundingBox"]
    dropped = unindexed["FaceDetail"]["BoundingBox"]
    assert kept["Width"] * kept["Height"] >= dropped["Width"] * dropped["Height"]
    assert _face_count(rekognition, collection) == 1


def test_index_faces_all_attributes(rekognition, collection, read_image):
    response = rekognition.index_faces(
        CollectionId=collection,
        Image={"Bytes": read_image("img12.jpg")},
        DetectionAttributes=["ALL"],
    )
    _validate(response, "IndexFacesResponse")
    detail = response["FaceRecords"][0]["FaceDetail"]
    for member in ("Smile", "EyesOpen", "MouthOpen"):
        assert isinstance(detail[member]["Value"], bool), member
        assert 0 <= detail[member]["Confidence"] <= 100, member


def test_index_faces_without_faces(rekognition, collection, no_face_image):
    response = rekognition.index_faces(CollectionId=collection, Image={"Bytes": no_face_image})
    assert response["FaceRecords"] == []
    assert _face_count(rekognition, collection) == 0


@pytest.mark.parametrize("corrupt", ["garbage-after-jpeg-magic", "truncated-jpeg"])
def test_index_faces_corrupt_image(rekognition, collection, read_image, corrupt):
    _index_one(rekognition, collection, read_image("img25.jpg"))
    image = read_image("img12.jpg")
    data = (
        b"\xff\xd8\xff" + b"garbage" * 200
        if corrupt.startswith("garbage")
        else image[: len(image) // 2]
    )
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.index_faces(CollectionId=collection, Image={"Bytes": data})
    assert _face_count(rekognition, collection) == 1


def test_index_faces_missing_collection(rekognition, read_image):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.index_faces(
            CollectionId=f"missing-{uuid.uuid4().hex}", Image={"Bytes": read_image("img12.jpg")}
        )


def test_index_same_image_twice_adds_nothing(rekognition, collection, read_image):
    image = read_image("img25.jpg")
    first = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": image}, ExternalImageId="same"
    )
    second = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": image}, ExternalImageId="same"
    )
    ids = lambda r: [f["Face"]["FaceId"] for f in r["FaceRecords"]]
    assert ids(first) == ids(second) and len(ids(first)) == 1
    assert _face_count(rekognition, collection) == 1
    # Another ExternalImageId is another image record: a new face.
    third = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": image}, ExternalImageId="other"
    )
    assert ids(third) != ids(first)
    assert _face_count(rekognition, collection) == 2


def test_a_retry_with_another_max_faces_loses_no_face(rekognition, collection, read_image):
    """A retried IndexFaces of the same image and ExternalImageId returns what is stored and
    stores what this call keeps that the first did not; it used to pair stored faces with this
    call's by position, and drop the rest silently."""
    image = {"Bytes": read_image("couple.jpg")}
    first = rekognition.index_faces(
        CollectionId=collection, Image=image, ExternalImageId="c", MaxFaces=1
    )
    assert len(first["FaceRecords"]) == 1
    second = rekognition.index_faces(
        CollectionId=collection, Image=image, ExternalImageId="c", MaxFaces=2
    )
    ids = [f["Face"]["FaceId"] for f in second["FaceRecords"]]
    assert len(ids) == 2 and ids[0] == first["FaceRecords"][0]["Face"]["FaceId"]  # largest first
    assert second["UnindexedFaces"] == []
    assert _face_count(rekognition, collection) == 2
    third = rekognition.index_faces(
        CollectionId=collection, Image=image, ExternalImageId="c", MaxFaces=1
    )
    assert [f["Face"]["FaceId"] for f in third["FaceRecords"]] == ids[:1]
    assert [u["Reasons"] for u in third["UnindexedFaces"]] == [["EXCEEDS_MAX_FACES"]]
    assert _face_count(rekognition, collection) == 2


# ListFaces --------------------------------------------------------------------------------


def _index_four(rekognition, collection: str, read_image) -> set[str]:  # type: ignore[no-untyped-def]
    ids: set[str] = set()
    for name in ("couple.jpg", "img12.jpg", "img25.jpg"):
        ids |= {
            r["Face"]["FaceId"]
            for r in rekognition.index_faces(
                CollectionId=collection, Image={"Bytes": read_image(name)}
            )["FaceRecords"]
        }
    assert len(ids) == 4
    return ids


def test_list_faces_pagination(rekognition, collection, read_image):
    indexed = _index_four(rekognition, collection, read_image)
    walked: list[str] = []
    kwargs: dict[str, Any] = {"CollectionId": collection, "MaxResults": 1}
    pages = 0
    while True:
        page = rekognition.list_faces(**kwargs)
        _validate(page, "ListFacesResponse")
        assert len(page["Faces"]) <= 1
        walked += [f["FaceId"] for f in page["Faces"]]
        pages += 1
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(walked) == sorted(indexed)  # each face exactly once
    assert pages >= 4
    paginated = rekognition.get_paginator("list_faces").paginate(
        CollectionId=collection, PaginationConfig={"PageSize": 3}
    )
    assert sorted(f["FaceId"] for p in paginated for f in p["Faces"]) == sorted(indexed)


def test_list_faces_token_of_another_collection_is_refused(rekognition, collection, read_image):
    _index_four(rekognition, collection, read_image)
    token = rekognition.list_faces(CollectionId=collection, MaxResults=1)["NextToken"]
    other = f"{collection}-other"[:255]
    rekognition.create_collection(CollectionId=other)
    try:
        with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
            rekognition.list_faces(CollectionId=other, NextToken=token)
    finally:
        rekognition.delete_collection(CollectionId=other)


def test_list_faces_filters(rekognition, collection, read_image):
    a = _index_one(rekognition, collection, read_image("img10.jpg"))
    b = _index_one(rekognition, collection, read_image("img2.jpg"))
    c = _index_one(rekognition, collection, read_image("img25.jpg"))
    rekognition.create_user(CollectionId=collection, UserId="u1")
    rekognition.associate_faces(CollectionId=collection, UserId="u1", FaceIds=[a, b])

    of_user = rekognition.list_faces(CollectionId=collection, UserId="u1")["Faces"]
    assert sorted(f["FaceId"] for f in of_user) == sorted([a, b])
    assert all(f["UserId"] == "u1" for f in of_user)
    everyone = {f["FaceId"]: f for f in rekognition.list_faces(CollectionId=collection)["Faces"]}
    assert set(everyone) == {a, b, c} and "UserId" not in everyone[c]

    by_ids = rekognition.list_faces(CollectionId=collection, FaceIds=[c, str(uuid.uuid4())])[
        "Faces"
    ]
    assert [f["FaceId"] for f in by_ids] == [c]
    both = rekognition.list_faces(CollectionId=collection, UserId="u1", FaceIds=[a, c])["Faces"]
    assert [f["FaceId"] for f in both] == [a]


def test_list_faces_missing_collection(rekognition):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.list_faces(CollectionId=f"missing-{uuid.uuid4().hex}")


def test_list_faces_filtered_by_face_ids_paginates(rekognition, collection, read_image):
    indexed = sorted(_index_four(rekognition, collection, read_image))
    wanted = indexed + [str(uuid.uuid4()) for _ in range(4)]
    pages = rekognition.get_paginator("list_faces").paginate(
        CollectionId=collection, FaceIds=wanted, PaginationConfig={"PageSize": 1}
    )
    assert sorted(f["FaceId"] for p in pages for f in p["Faces"]) == indexed


def test_list_faces_max_results_zero_is_not_a_server_error(rekognition, collection, read_image):
    _index_one(rekognition, collection, read_image("img25.jpg"))
    assert rekognition.list_faces(CollectionId=collection, MaxResults=0)["Faces"] == []


# DeleteFaces ------------------------------------------------------------------------------


def test_delete_faces(rekognition, collection, read_image):
    kept = _index_one(rekognition, collection, read_image("img12.jpg"))
    gone = _index_one(rekognition, collection, read_image("img25.jpg"))
    unknown = str(uuid.uuid4())
    response = rekognition.delete_faces(CollectionId=collection, FaceIds=[gone, unknown])
    _validate(response, "DeleteFacesResponse")
    assert response["DeletedFaces"] == [gone]
    assert response["UnsuccessfulFaceDeletions"] == [
        {"FaceId": unknown, "Reasons": ["FACE_NOT_FOUND"]}
    ]
    assert [f["FaceId"] for f in rekognition.list_faces(CollectionId=collection)["Faces"]] == [kept]
    assert _face_count(rekognition, collection) == 1
    again = rekognition.delete_faces(CollectionId=collection, FaceIds=[gone])
    assert again["DeletedFaces"] == []
    assert again["UnsuccessfulFaceDeletions"][0]["Reasons"] == ["FACE_NOT_FOUND"]


def test_delete_face_associated_to_a_user(rekognition, collection, read_image):
    face = _index_one(rekognition, collection, read_image("img12.jpg"))
    rekognition.create_user(CollectionId=collection, UserId="owner")
    rekognition.associate_faces(CollectionId=collection, UserId="owner", FaceIds=[face])
    response = rekognition.delete_faces(CollectionId=collection, FaceIds=[face])
    assert response["DeletedFaces"] == []
    assert response["UnsuccessfulFaceDeletions"] == [
        {"FaceId": face, "UserId": "owner", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}
    ]
    assert _face_count(rekognition, collection) == 1


def test_delete_faces_missing_collection(rekognition):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.delete_faces(
            CollectionId=f"missing-{uuid.uuid4().hex}", FaceIds=[str(uuid.uuid4())]
        )


# SearchFaces / SearchFacesByImage on a shared, read-only gallery --------------------------


@dataclass
class Gallery:
    collection: str
    face_ids: dict[str, str]  # ExternalImageId -> FaceId
    person01: set[str]  # ExternalImageIds of person01's faces

    def external(self, face_id: str) -> str:
        return {v: k for k, v in self.face_ids.items()}[face_id]


@pytest.fixture(scope="module")
def gallery(rekognition, read_image, identities) -> Iterator[Gallery]:  # type: ignore[no-untyped-def]
    cid = f"faces-gallery-{uuid.uuid4().hex[:8]}"
    rekognition.create_collection(CollectionId=cid)
    face_ids = {}
    for name in (*PERSON01, *OTHERS):
        face_ids[name] = _index_one(rekognition, cid, read_image(name), ExternalImageId=name)
    # The very same image under another ExternalImageId: an identical descriptor (Similarity ~100).
    face_ids["img10-copy"] = _index_one(
        rekognition, cid, read_image("img10.jpg"), ExternalImageId="img10-copy"
    )
    assert {identities[n] for n in PERSON01} == {"person01"}
    assert "person01" not in {identities[n] for n in OTHERS}
    yield Gallery(cid, face_ids, {*PERSON01, "img10-copy"})
    rekognition.delete_collection(CollectionId=cid)


def _check_matches(response: dict[str, Any], threshold: float = 80.0) -> list[float]:
    similarities = [m["Similarity"] for m in response["FaceMatches"]]
    assert similarities == sorted(similarities, reverse=True)
    assert all(threshold <= s <= 100 for s in similarities)
    return similarities


def test_search_faces_finds_the_same_person(rekognition, gallery):
    probe = gallery.face_ids["img10.jpg"]
    response = rekognition.search_faces(CollectionId=gallery.collection, FaceId=probe)
    _validate(response, "SearchFacesResponse")
    assert response["SearchedFaceId"] == probe
    assert response["FaceModelVersion"]
    _check_matches(response)
    found = {gallery.external(m["Face"]["FaceId"]) for m in response["FaceMatches"]}
    assert found == gallery.person01 - {"img10.jpg"}  # itself excluded, no one else
    assert response["FaceMatches"][0]["Face"]["FaceId"] == gallery.face_ids["img10-copy"]


def test_search_faces_threshold_narrows(rekognition, gallery):
    probe = gallery.face_ids["img10.jpg"]
    loose = rekognition.search_faces(
        CollectionId=gallery.collection, FaceId=probe, FaceMatchThreshold=0
    )
    _check_matches(loose, threshold=0)
    assert len(loose["FaceMatches"]) == len(gallery.face_ids) - 1
    strict = rekognition.search_faces(
        CollectionId=gallery.collection, FaceId=probe, FaceMatchThreshold=99.9
    )
    _check_matches(strict, threshold=99.9)
    assert [m["Face"]["FaceId"] for m in strict["FaceMatches"]] == [gallery.face_ids["img10-copy"]]


def test_search_faces_max_faces_caps(rekognition, gallery):
    probe = gallery.face_ids["img2.jpg"]
    full = rekognition.search_faces(CollectionId=gallery.collection, FaceId=probe)["FaceMatches"]
    assert len(full) >= 3
    for cap in (1, 2):
        capped = rekognition.search_faces(
            CollectionId=gallery.collection, FaceId=probe, MaxFaces=cap
        )
        assert [m["Face"]["FaceId"] for m in capped["FaceMatches"]] == [
            m["Face"]["FaceId"] for m in full[:cap]
        ]


def test_search_faces_unknown_face(rekognition, gallery, collection):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_faces(CollectionId=gallery.collection, FaceId=str(uuid.uuid4()))
    # A face of another collection is unknown here too.
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_faces(CollectionId=collection, FaceId=gallery.face_ids["img10.jpg"])


def test_search_faces_by_image_finds_the_person(rekognition, gallery, read_image, identities):
    assert identities["img4.jpg"] == "person01"
    response = rekognition.search_faces_by_image(
        CollectionId=gallery.collection, Image={"Bytes": read_image("img4.jpg")}
    )
    _validate(response, "SearchFacesByImageResponse")
    assert _box_ok(response["SearchedFaceBoundingBox"])
    assert 50 < response["SearchedFaceConfidence"] <= 100
    assert response["FaceModelVersion"]
    _check_matches(response)
    assert {
        gallery.external(m["Face"]["FaceId"]) for m in response["FaceMatches"]
    } == gallery.person01


def test_search_faces_by_image_uses_the_largest_face(rekognition, gallery, read_image):
    # couple.jpg's largest face is person01's.
    response = rekognition.search_faces_by_image(
        CollectionId=gallery.collection, Image={"Bytes": read_image("couple.jpg")}, MaxFaces=2
    )
    assert len(response["FaceMatches"]) == 2
    assert {
        gallery.external(m["Face"]["FaceId"]) for m in response["FaceMatches"]
    } <= gallery.person01


def test_search_faces_by_image_without_a_face(rekognition, gallery, no_face_image):
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_faces_by_image(
            CollectionId=gallery.collection, Image={"Bytes": no_face_image}
        )


def test_search_faces_by_image_missing_collection(rekognition, read_image):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_faces_by_image(
            CollectionId=f"missing-{uuid.uuid4().hex}", Image={"Bytes": read_image("img12.jpg")}
        )


def test_deleted_face_is_no_longer_found(rekognition, collection, read_image):
    probe = _index_one(rekognition, collection, read_image("img10.jpg"))
    other = _index_one(rekognition, collection, read_image("img2.jpg"))
    found = lambda r: {m["Face"]["FaceId"] for m in r["FaceMatches"]}
    assert found(rekognition.search_faces(CollectionId=collection, FaceId=probe)) == {other}
    by_image = {"CollectionId": collection, "Image": {"Bytes": read_image("img6.jpg")}}
    assert found(rekognition.search_faces_by_image(**by_image)) == {probe, other}

    assert rekognition.delete_faces(CollectionId=collection, FaceIds=[other])["DeletedFaces"] == [
        other
    ]
    assert found(rekognition.search_faces(CollectionId=collection, FaceId=probe)) == set()
    assert found(rekognition.search_faces_by_image(**by_image)) == {probe}
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.search_faces(CollectionId=collection, FaceId=other)


# S3Object images from the server's local S3 folder ----------------------------------------


@pytest.fixture
def s3(app_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """``put(bucket, key, data)`` writes an object under ``<data_dir>/s3``; buckets are removed after."""
    root = app_server.data_dir / "s3"
    buckets: list[Path] = []

    def put(bucket: str, key: str, data: bytes) -> None:
        path = root / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        buckets.append(root / bucket)

    yield put
    for bucket in buckets:
        shutil.rmtree(bucket, ignore_errors=True)


def test_index_faces_from_s3_object(rekognition, collection, read_image, s3):
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    s3(bucket, "photos/2024/portrait.jpg", read_image("img12.jpg"))
    response = rekognition.index_faces(
        CollectionId=collection,
        ExternalImageId="from-s3",
        Image={"S3Object": {"Bucket": bucket, "Name": "photos/2024/portrait.jpg"}},
    )
    [record] = response["FaceRecords"]
    assert record["Face"]["ExternalImageId"] == "from-s3"
    matches = rekognition.search_faces_by_image(
        CollectionId=collection,
        Image={"S3Object": {"Bucket": bucket, "Name": "photos/2024/portrait.jpg"}},
    )["FaceMatches"]
    assert [m["Face"]["FaceId"] for m in matches] == [record["Face"]["FaceId"]]


def test_missing_s3_object(rekognition, collection, read_image, s3):
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    s3(bucket, "present.jpg", read_image("img12.jpg"))
    for where in (
        {"Bucket": bucket, "Name": "absent.jpg"},
        {"Bucket": f"no-{bucket}", "Name": "present.jpg"},
    ):
        with pytest.raises(rekognition.exceptions.InvalidS3ObjectException):
            rekognition.index_faces(CollectionId=collection, Image={"S3Object": where})
    assert _face_count(rekognition, collection) == 0


@pytest.mark.parametrize(
    "escape",
    ["../{other}/face.jpg", "sub/../../{other}/face.jpg", "../../master.key", "{absolute}"],
)
def test_s3_key_cannot_escape_its_bucket(
    rekognition, collection, read_image, s3, app_server, escape
):
    bucket, other = f"bucket-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    s3(bucket, "sub/keep.jpg", read_image("img25.jpg"))
    s3(other, "face.jpg", read_image("img12.jpg"))
    # The object is readable through its own bucket...
    rekognition.index_faces(
        CollectionId=collection, Image={"S3Object": {"Bucket": other, "Name": "face.jpg"}}
    )
    # ...but not by walking out of another bucket's folder.
    name = escape.format(other=other, absolute=str(app_server.data_dir / "s3" / other / "face.jpg"))
    with pytest.raises(rekognition.exceptions.InvalidS3ObjectException):
        rekognition.index_faces(
            CollectionId=collection, Image={"S3Object": {"Bucket": bucket, "Name": name}}
        )
    assert _face_count(rekognition, collection) == 1
