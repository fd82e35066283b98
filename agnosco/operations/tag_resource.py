"""TagResource, UntagResource, ListTagsForResource on collection ARNs."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.errors import ResourceNotFoundException, ServiceQuotaExceededException
from agnosco.operations.context import OperationContext

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import (
        ListTagsForResourceRequestTypeDef,
        TagResourceRequestTypeDef,
        UntagResourceRequestTypeDef,
    )


class TagResourceResponse(TypedDict):
    """The model's output shape has no members."""


class UntagResourceResponse(TypedDict):
    """The model's output shape has no members."""


class ListTagsForResourceResponse(TypedDict, total=False):
    Tags: dict[str, str]


MAX_TAGS = 200


def _collection_of(arn: str, context: OperationContext) -> str:
    """The collection id an ARN of this account and region names, checked to exist."""
    prefix = context.collection_arn("")
    if not arn.startswith(prefix) or "/" in arn[len(prefix) :]:
        raise ResourceNotFoundException(f"Resource {arn} not found")
    collection_id = arn[len(prefix) :]
    try:
        collection = context.require_store().get_collection(collection_id)
    except ResourceNotFoundException:
        raise ResourceNotFoundException(f"Resource {arn} not found") from None
    if collection.arn != arn:  # made under another region by an older version: its own ARN only
        raise ResourceNotFoundException(f"Resource {arn} not found")
    return collection_id


def tag_resource(
    request: TagResourceRequestTypeDef, context: OperationContext
) -> TagResourceResponse:
    arn = request["ResourceArn"]
    _collection_of(arn, context)
    store = context.require_store()
    if len({**store.list_tags(arn), **request["Tags"]}) > MAX_TAGS:
        raise ServiceQuotaExceededException(f"A resource can have at most {MAX_TAGS} tags.")
    store.tag_resource(arn, request["Tags"])
    return {}


def untag_resource(
    request: UntagResourceRequestTypeDef, context: OperationContext
) -> UntagResourceResponse:
    arn = request["ResourceArn"]
    _collection_of(arn, context)
    context.require_store().untag_resource(arn, request["TagKeys"])
    return {}


def list_tags_for_resource(
    request: ListTagsForResourceRequestTypeDef, context: OperationContext
) -> ListTagsForResourceResponse:
    arn = request["ResourceArn"]
    _collection_of(arn, context)
    return {"Tags": context.require_store().list_tags(arn)}
