"""Collections record the face model that made them; faces analysed by another model are never
added to or compared with theirs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agnosco.errors import InvalidParameterException
from agnosco.operations import OperationContext, invoke
from agnosco.operations.context import FACE_MODEL
from agnosco.storage.base import Collection, FaceRecord
from agnosco.storage.sql_store import SQLStore

FACE_ID = "0d7c7f2e-0000-4000-8000-000000000001"


@pytest.fixture
def context(tmp_path: Path) -> Iterator[OperationContext]:
    store = SQLStore.sqlite(tmp_path / "agnosco.db")
    yield OperationContext(store=store)
    store.close()


def blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 120), (90, 120, 150)).save(out, "PNG")
    return out.getvalue()


def test_a_new_collection_records_the_deployments_model(context: OperationContext) -> None:
    created = invoke("CreateCollection", {"CollectionId": "ours"}, context)
    assert created["FaceModelVersion"] == FACE_MODEL.version
    stored = context.require_store().get_collection("ours")
    assert (stored.face_model_version, stored.descriptor_size) == (
        FACE_MODEL.version,
        FACE_MODEL.descriptor.size,
    )


@pytest.mark.parametrize("operation", ["IndexFaces", "SearchFacesByImage", "SearchUsersByImage"])
def test_another_models_collection_is_not_added_to_or_searched_with_this_one(
    context: OperationContext, operation: str
) -> None:
    store = context.require_store()
    store.create_collection(
        Collection("theirs", context.collection_arn("theirs"), "9.0", 1.0, 64), {}
    )
    store.add_faces(
        "theirs", [FaceRecord(FACE_ID, "img", None, 0, 0, 1, 1, 99.0, np.ones(64, np.float32))]
    )
    with pytest.raises(InvalidParameterException, match="face model version 9.0"):
        invoke(operation, {"CollectionId": "theirs", "Image": {"Bytes": blank_png()}}, context)
    assert store.get_collection("theirs").face_count == 1


def test_its_faces_report_the_model_that_indexed_them(context: OperationContext) -> None:
    store = context.require_store()
    store.create_collection(
        Collection("theirs", context.collection_arn("theirs"), "9.0", 1.0, 64), {}
    )
    store.add_faces(
        "theirs", [FaceRecord(FACE_ID, "img", None, 0, 0, 1, 1, 99.0, np.ones(64, np.float32))]
    )
    listed = invoke("ListFaces", {"CollectionId": "theirs"}, context)
    assert (
        listed["FaceModelVersion"] == "9.0"
        and listed["Faces"][0]["IndexFacesModelVersion"] == "9.0"
    )
    found = invoke(
        "SearchFaces", {"CollectionId": "theirs", "FaceId": FACE_ID}, context
    )  # its own space
    assert found["FaceMatches"] == [] and found["FaceModelVersion"] == "9.0"
