"""ClientRequestToken: the same request twice has one effect and one answer.

A token is remembered per collection and operation with a fingerprint of the request; the
same token with the same parameters returns the first response, with other parameters
raises ``IdempotentParameterMismatchException``.  Tokens live as long as their collection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from agnosco.errors import IdempotentParameterMismatchException
from agnosco.operations.context import OperationContext

Response = TypeVar("Response", bound=Mapping[str, Any])


def run_once(
    context: OperationContext,
    operation: str,
    request: Mapping[str, Any],
    action: Callable[[], Response],
) -> Response:
    token = request.get("ClientRequestToken")
    if not token:
        return action()
    store = context.require_store()
    scope = f"{request['CollectionId']}/{operation}"
    fingerprint = hashlib.sha256(
        json.dumps(
            {k: v for k, v in request.items() if k != "ClientRequestToken"}, sort_keys=True
        ).encode()
    ).hexdigest()
    known = store.recall_request(scope, token)
    if known is not None:
        if known.fingerprint != fingerprint:
            raise IdempotentParameterMismatchException(
                f"The ClientRequestToken: {token} you have supplied is already in use."
            )
        return cast(Response, json.loads(known.response_json))  # stored by this function
    response = action()
    store.remember_request(scope, token, fingerprint, json.dumps(response))
    return response
