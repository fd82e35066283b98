"""CreateCollection: an empty face collection, with optional tags."""

from __future__ import annotations

from typing import Any

from agnosco.operations.context import OperationContext
from agnosco.storage.base import Collection


def create_collection(request: dict[str, Any], context: OperationContext) -> dict[str, Any]:
    """:raises ResourceAlreadyExistsException: the id is taken."""
    collection_id = request["CollectionId"]
    arn = context.collection_arn(collection_id)
    context.require_store().create_collection(
        Collection(
            collection_id,
            arn,
            context.face_model.version,
            context.clock(),
            context.face_model.descriptor.size,
        ),
        request.get("Tags", {}),
    )
    return {"StatusCode": 200, "CollectionArn": arn, "FaceModelVersion": context.face_model.version}
