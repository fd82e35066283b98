"""Collections end to end through boto3: create, describe, list (paginated), delete."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agnosco import spec
from tests.server.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

ACCOUNT = "000000000000"


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def new_id(rekognition) -> Iterator[Callable[[str], str]]:  # type: ignore[no-untyped-def]
    """Fresh collection ids (not created yet); whatever was created under them is deleted."""
    made: list[str] = []

    def make(stem: str = "c") -> str:
        cid = f"{stem}-{uuid.uuid4().hex[:10]}"
        made.append(cid)
        return cid

    yield make
    for cid in made:
        try:
            rekognition.delete_collection(CollectionId=cid)
        except ClientError:
            pass


def _all_collection_ids(rekognition, page_size: int = 1) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = []
    kwargs: dict[str, Any] = {"MaxResults": page_size}
    while True:
        page = rekognition.list_collections(**kwargs)
        assert len(page["CollectionIds"]) <= page_size
        assert len(page["FaceModelVersions"]) == len(page["CollectionIds"])
        ids += page["CollectionIds"]
        if "NextToken" not in page:
            return ids
        kwargs["NextToken"] = page["NextToken"]


# CreateCollection -------------------------------------------------------------------------


def test_create_collection_response(rekognition, new_id):
    cid = new_id()
    response = rekognition.create_collection(CollectionId=cid)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    spec.validate(_strip(response), "CreateCollectionResponse")
    assert response["StatusCode"] == 200
    assert response["CollectionArn"] == f"arn:aws:rekognition:{REGION}:{ACCOUNT}:collection/{cid}"
    assert response["FaceModelVersion"]
    assert cid in _all_collection_ids(rekognition, page_size=4096)


def test_a_request_signed_for_another_region_is_refused(app_server, rekognition, new_id):
    """One deployment is one region: a Deny naming a region cannot be dodged by signing for
    another, and every ARN names the deployment's region."""
    client = app_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY, region="us-west-2")
    cid = new_id()
    with pytest.raises(ClientError) as excinfo:
        client.create_collection(CollectionId=cid)
    assert _error(excinfo) == ("InvalidSignatureException", 400)
    assert "region" in excinfo.value.response["Error"]["Message"]
    region = REGION
    arn = rekognition.create_collection(CollectionId=cid)["CollectionArn"]
    try:
        assert arn == f"arn:aws:rekognition:{region}:{ACCOUNT}:collection/{cid}"
        assert rekognition.describe_collection(CollectionId=cid)["CollectionARN"] == arn
        rekognition.tag_resource(ResourceArn=arn, Tags={"team": "a"})
        assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "a"}
        other = arn.replace(f":{region}:", ":us-west-2:")
        with pytest.raises(ClientError) as excinfo:
            rekognition.tag_resource(ResourceArn=other, Tags={"team": "b"})
        assert _error(excinfo)[0] == "ResourceNotFoundException"
    finally:
        rekognition.delete_collection(CollectionId=cid)
    rekognition.create_collection(CollectionId=cid)  # the same id again: no tag outlived the first
    try:
        assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {}
    finally:
        rekognition.delete_collection(CollectionId=cid)


def test_duplicate_collection_is_refused(rekognition, collection):
    with pytest.raises(rekognition.exceptions.ResourceAlreadyExistsException) as excinfo:
        rekognition.create_collection(CollectionId=collection)
    assert _error(excinfo) == ("ResourceAlreadyExistsException", 400)
    assert collection in excinfo.value.response["Error"]["Message"]


def test_collection_ids_are_case_sensitive(rekognition, new_id):
    lower = new_id("case")
    upper = lower.upper()
    rekognition.create_collection(CollectionId=lower)
    try:
        rekognition.create_collection(CollectionId=upper)  # a different collection
        ids = _all_collection_ids(rekognition, page_size=4096)
        assert lower in ids and upper in ids
    finally:
        try:
            rekognition.delete_collection(CollectionId=upper)
        except ClientError:
            pass


@pytest.mark.parametrize("bad", ["has/slash", "has space", "ümlaut", "x" * 256])
def test_invalid_collection_id_is_refused(rekognition, bad):
    with pytest.raises(rekognition.exceptions.InvalidParameterException) as excinfo:
        rekognition.create_collection(CollectionId=bad)
    assert _error(excinfo) == ("InvalidParameterException", 400)
    assert bad not in _all_collection_ids(rekognition, page_size=4096)


# DescribeCollection -----------------------------------------------------------------------


def test_describe_new_collection(rekognition, new_id):
    cid = new_id()
    created = rekognition.create_collection(CollectionId=cid)
    described = rekognition.describe_collection(CollectionId=cid)
    spec.validate(_strip(described), "DescribeCollectionResponse")
    assert described["FaceCount"] == 0
    assert described["UserCount"] == 0
    assert described["CollectionARN"] == created["CollectionArn"]
    assert described["FaceModelVersion"] == created["FaceModelVersion"]
    created_at = described["CreationTimestamp"]
    assert isinstance(created_at, dt.datetime)
    assert abs((dt.datetime.now(dt.UTC) - created_at).total_seconds()) < 120


def test_describe_counts_follow_faces_and_users(rekognition, collection, read_image):
    indexed = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": read_image("couple.jpg")}
    )
    assert len(indexed["FaceRecords"]) == 2
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == 2

    rekognition.create_user(CollectionId=collection, UserId="alice")
    rekognition.create_user(CollectionId=collection, UserId="bob")
    described = rekognition.describe_collection(CollectionId=collection)
    assert (described["FaceCount"], described["UserCount"]) == (2, 2)

    rekognition.delete_faces(
        CollectionId=collection, FaceIds=[indexed["FaceRecords"][0]["Face"]["FaceId"]]
    )
    rekognition.delete_user(CollectionId=collection, UserId="bob")
    described = rekognition.describe_collection(CollectionId=collection)
    assert (described["FaceCount"], described["UserCount"]) == (1, 1)


def test_describe_missing_collection(rekognition):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException) as excinfo:
        rekognition.describe_collection(CollectionId=f"missing-{uuid.uuid4().hex}")
    assert _error(excinfo) == ("ResourceNotFoundException", 400)


# ListCollections --------------------------------------------------------------------------


def test_list_collections_walks_every_collection_once(rekognition, new_id):
    mine = [new_id("page") for _ in range(3)]
    for cid in mine:
        rekognition.create_collection(CollectionId=cid)
    walked = _all_collection_ids(rekognition, page_size=1)
    assert len(walked) == len(set(walked)), "a collection was listed twice"
    assert set(mine) <= set(walked)
    assert set(walked) == set(_all_collection_ids(rekognition, page_size=4096))


def test_list_collections_with_boto3_paginator(rekognition, new_id):
    mine = [new_id("pager") for _ in range(2)]
    for cid in mine:
        rekognition.create_collection(CollectionId=cid)
    pages = list(
        rekognition.get_paginator("list_collections").paginate(PaginationConfig={"PageSize": 1})
    )
    ids = [cid for page in pages for cid in page["CollectionIds"]]
    assert all(len(page["CollectionIds"]) <= 1 for page in pages)
    assert len(ids) == len(set(ids)) and set(mine) <= set(ids)


def _a_page(rekognition, new_id) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    for _ in range(2):
        cid = new_id("tok")
        rekognition.create_collection(CollectionId=cid)
    page = rekognition.list_collections(MaxResults=1)
    assert page.get("NextToken"), "two collections exist, so a page of one must have a NextToken"
    return page  # type: ignore[no-any-return]


def test_tampered_token_is_refused(rekognition, new_id):
    token = _a_page(rekognition, new_id)["NextToken"]
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException) as excinfo:
        rekognition.list_collections(MaxResults=1, NextToken=flipped)
    assert _error(excinfo) == ("InvalidPaginationTokenException", 400)


def test_forged_resume_point_is_refused(rekognition, new_id):
    """Rewriting the end of a token (where the resume point lives), keeping the rest, is refused."""
    page = _a_page(rekognition, new_id)
    raw = bytearray(
        base64.urlsafe_b64decode(page["NextToken"] + "=" * (-len(page["NextToken"]) % 4))
    )
    raw[-1] = raw[-1] ^ 0x01
    forged_token = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.list_collections(MaxResults=1, NextToken=forged_token)


def test_garbage_token_is_refused(rekognition):
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.list_collections(NextToken="not-a-token")


def test_list_faces_token_is_refused_by_list_collections(rekognition, collection, read_image):
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": read_image("couple.jpg")})
    token = rekognition.list_faces(CollectionId=collection, MaxResults=1).get("NextToken")
    assert token, "two faces are indexed, so a page of one must have a NextToken"
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.list_collections(NextToken=token)


def test_list_collections_max_results_zero_is_not_a_server_error(rekognition, collection):
    response = rekognition.list_collections(MaxResults=0)
    assert response["CollectionIds"] == []


def test_list_collections_pages_past_a_long_collection_id(rekognition, new_id):
    long_id = "L" * 255
    after = new_id("z")  # sorts after the long id, so a page ending on it needs a NextToken
    rekognition.create_collection(CollectionId=long_id)
    rekognition.create_collection(CollectionId=after)
    try:
        walked = _all_collection_ids(rekognition, page_size=1)
        assert long_id in walked and after in walked
    finally:
        rekognition.delete_collection(CollectionId=long_id)


# DeleteCollection -------------------------------------------------------------------------


def test_delete_collection(rekognition, new_id):
    cid = new_id()
    rekognition.create_collection(CollectionId=cid)
    response = rekognition.delete_collection(CollectionId=cid)
    spec.validate(_strip(response), "DeleteCollectionResponse")
    assert response["StatusCode"] == 200
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.describe_collection(CollectionId=cid)
    assert cid not in _all_collection_ids(rekognition, page_size=4096)
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException) as excinfo:
        rekognition.delete_collection(CollectionId=cid)
    assert _error(excinfo) == ("ResourceNotFoundException", 400)


def test_deleting_a_collection_removes_its_faces_and_users(rekognition, new_id, read_image):
    cid = new_id()
    rekognition.create_collection(CollectionId=cid)
    rekognition.index_faces(CollectionId=cid, Image={"Bytes": read_image("img12.jpg")})
    rekognition.create_user(CollectionId=cid, UserId="someone")
    rekognition.delete_collection(CollectionId=cid)

    rekognition.create_collection(CollectionId=cid)  # same id, a new, empty collection
    described = rekognition.describe_collection(CollectionId=cid)
    assert (described["FaceCount"], described["UserCount"]) == (0, 0)
    assert rekognition.list_faces(CollectionId=cid)["Faces"] == []
    assert rekognition.list_users(CollectionId=cid)["Users"] == []
