"""ListStreamProcessors: names and statuses, in name order, paginated (MaxResults default
1000, as the model documents)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.pagination import make_token, read_token

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import StreamProcessorStatusType
    from types_boto3_rekognition.type_defs import (
        ListStreamProcessorsRequestTypeDef,
        StreamProcessorTypeDef,
    )

#: Processors a page holds when MaxResults is not given, and at most.
MAX_RESULTS = 1000


class ListStreamProcessorsResponse(TypedDict, total=False):
    NextToken: str
    StreamProcessors: list[StreamProcessorTypeDef]


def list_stream_processors(
    request: ListStreamProcessorsRequestTypeDef, context: OperationContext
) -> ListStreamProcessorsResponse:
    """:raises InvalidPaginationTokenException: a NextToken not issued for this listing."""
    after = read_token(context.token_key, "ListStreamProcessors", request.get("NextToken"))
    limit = min(int(request.get("MaxResults", MAX_RESULTS)), MAX_RESULTS)
    found, last = context.require_streams().page(after, limit)
    response: ListStreamProcessorsResponse = {
        "StreamProcessors": [
            {"Name": p.name, "Status": cast("StreamProcessorStatusType", p.status)} for p in found
        ]
    }
    token = make_token(context.token_key, "ListStreamProcessors", last)
    if token:
        response["NextToken"] = token
    return response
