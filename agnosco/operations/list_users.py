"""ListUsers: the users of a collection in user-id order, paginated."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.pagination import make_token, read_token
from agnosco.operations.users import MAX_USERS

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import UserStatusType
    from types_boto3_rekognition.type_defs import ListUsersRequestTypeDef, UserTypeDef


class ListUsersResponse(TypedDict, total=False):
    Users: list[UserTypeDef]
    NextToken: str


def list_users(request: ListUsersRequestTypeDef, context: OperationContext) -> ListUsersResponse:
    """:raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    collection_id = request["CollectionId"]
    listing = f"ListUsers/{collection_id}"
    after = read_token(context.token_key, listing, request.get("NextToken"))
    page = context.require_store().list_users(
        collection_id, after, request.get("MaxResults", MAX_USERS)
    )
    response: ListUsersResponse = {
        "Users": [
            {"UserId": u.user_id, "UserStatus": cast("UserStatusType", u.status)}
            for u in page.items
        ],
    }
    token = make_token(context.token_key, listing, page.next_key)
    if token:
        response["NextToken"] = token
    return response
