"""DeleteUser: disassociate the user's faces (they stay indexed) and delete the user."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.idempotency import run_once

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import DeleteUserRequestTypeDef


class DeleteUserResponse(TypedDict):
    """The model's output shape has no members."""


def delete_user(request: DeleteUserRequestTypeDef, context: OperationContext) -> DeleteUserResponse:
    """:raises ResourceNotFoundException, IdempotentParameterMismatchException:"""

    def delete() -> DeleteUserResponse:
        context.require_store().delete_user(request["CollectionId"], request["UserId"])
        return {}

    return run_once(context, "DeleteUser", request, delete)
