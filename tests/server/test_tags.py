"""Tags on collection ARNs end to end: TagResource, UntagResource, ListTagsForResource."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def arn(rekognition, collection) -> str:  # type: ignore[no-untyped-def]
    """The collection's ARN as the service reports it."""
    return str(rekognition.describe_collection(CollectionId=collection)["CollectionARN"])


@pytest.fixture
def fresh_id(rekognition) -> Iterator[str]:  # type: ignore[no-untyped-def]
    cid = f"tags-{uuid.uuid4().hex[:10]}"
    yield cid
    try:
        rekognition.delete_collection(CollectionId=cid)
    except ClientError:
        pass


def _tags(rekognition, arn: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"])


def test_tag_list_untag(rekognition, arn):
    assert _tags(rekognition, arn) == {}
    response = rekognition.tag_resource(
        ResourceArn=arn, Tags={"team": "vision", "cost-center": "42"}
    )
    assert {k: v for k, v in response.items() if k != "ResponseMetadata"} == {}
    assert _tags(rekognition, arn) == {"team": "vision", "cost-center": "42"}

    rekognition.tag_resource(
        ResourceArn=arn, Tags={"team": "faces", "env": ""}
    )  # overwrite, add, empty value
    assert _tags(rekognition, arn) == {"team": "faces", "cost-center": "42", "env": ""}

    rekognition.untag_resource(ResourceArn=arn, TagKeys=["cost-center", "not-there"])
    assert _tags(rekognition, arn) == {"team": "faces", "env": ""}
    rekognition.untag_resource(ResourceArn=arn, TagKeys=["team", "env"])
    assert _tags(rekognition, arn) == {}


def test_tags_are_per_collection(rekognition, arn, fresh_id):
    other_arn = rekognition.create_collection(CollectionId=fresh_id)["CollectionArn"]
    rekognition.tag_resource(ResourceArn=arn, Tags={"k": "mine"})
    rekognition.tag_resource(ResourceArn=other_arn, Tags={"k": "theirs"})
    assert _tags(rekognition, arn) == {"k": "mine"}
    assert _tags(rekognition, other_arn) == {"k": "theirs"}


def test_create_collection_with_tags(rekognition, fresh_id):
    created = rekognition.create_collection(
        CollectionId=fresh_id, Tags={"owner": "qa", "purpose": "tests"}
    )
    arn = created["CollectionArn"]
    assert _tags(rekognition, arn) == {"owner": "qa", "purpose": "tests"}


def test_tags_do_not_outlive_their_collection(rekognition, fresh_id):
    arn = rekognition.create_collection(CollectionId=fresh_id, Tags={"old": "yes"})["CollectionArn"]
    rekognition.tag_resource(ResourceArn=arn, Tags={"later": "too"})
    rekognition.delete_collection(CollectionId=fresh_id)
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.list_tags_for_resource(ResourceArn=arn)
    assert rekognition.create_collection(CollectionId=fresh_id)["CollectionArn"] == arn
    assert _tags(rekognition, arn) == {}


@pytest.mark.parametrize(
    "kind", ["missing-collection", "other-region", "other-account", "not-a-collection"]
)
def test_unknown_arn(rekognition, arn, collection, kind):
    unknown = {
        "missing-collection": arn.rsplit("/", 1)[0] + f"/missing-{uuid.uuid4().hex}",
        "other-region": arn.replace(":eu-west-1:", ":us-east-1:"),
        "other-account": arn.replace(":000000000000:", ":123456789012:"),
        "not-a-collection": arn + "/user/someone",
    }[kind]
    assert unknown != arn
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.tag_resource(ResourceArn=unknown, Tags={"k": "v"})
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.list_tags_for_resource(ResourceArn=unknown)
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.untag_resource(ResourceArn=unknown, TagKeys=["k"])
    assert _tags(rekognition, arn) == {}


def test_invalid_tags_are_refused(rekognition, arn):
    for tags in ({"aws:reserved": "v"}, {"k": "x" * 257}, {"bad\u0000key": "v"}):
        with pytest.raises(rekognition.exceptions.InvalidParameterException):
            rekognition.tag_resource(ResourceArn=arn, Tags=tags)
    assert _tags(rekognition, arn) == {}


def test_at_most_200_tags(rekognition, arn):
    rekognition.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v" for i in range(150)})
    with pytest.raises(rekognition.exceptions.ServiceQuotaExceededException):
        rekognition.tag_resource(ResourceArn=arn, Tags={f"n{i}": "v" for i in range(51)})
    assert len(_tags(rekognition, arn)) == 150
    rekognition.tag_resource(ResourceArn=arn, Tags={f"n{i}": "v" for i in range(50)})
    assert len(_tags(rekognition, arn)) == 200
