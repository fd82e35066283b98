"""CreateUser: an identity in a collection to which faces can be associated."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.idempotency import run_once
from agnosco.storage.base import UserRecord

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import CreateUserRequestTypeDef


class CreateUserResponse(TypedDict):
    """The model's output shape has no members."""


def create_user(request: CreateUserRequestTypeDef, context: OperationContext) -> CreateUserResponse:
    """:raises ResourceNotFoundException, ConflictException, IdempotentParameterMismatchException:"""

    def create() -> CreateUserResponse:
        now = context.clock()
        context.require_store().create_user(
            request["CollectionId"], UserRecord(request["UserId"], "CREATED", now, now)
        )
        return {}

    return run_once(context, "CreateUser", request, create)
