"""Every operation that analyses images decodes each image of its request once, whatever models
it runs on it (the face pipeline, the text reader): the one DecodedImage is handed to each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agnosco.errors import ServiceError
from agnosco.operations import REGISTRY, OperationContext, images, invoke
from tests.text_images import draw_text, png

IMAGE = {"Bytes": png(draw_text(["no face here", "only text"]).image)}
#: One request per operation that analyses images, and how many images it sends.
REQUESTS: dict[str, tuple[dict[str, Any], int]] = {
    "CompareFaces": ({"SourceImage": IMAGE, "TargetImage": IMAGE}, 2),
    "DetectFaces": ({"Image": IMAGE, "Attributes": ["ALL"]}, 1),
    "DetectLabels": ({"Image": IMAGE, "Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES"]}, 1),
    "DetectModerationLabels": ({"Image": IMAGE}, 1),
    "DetectText": ({"Image": IMAGE}, 1),
    "IndexFaces": ({"CollectionId": "decode-once", "Image": IMAGE}, 1),
    "RecognizeCelebrities": ({"Image": IMAGE}, 1),
    "SearchFacesByImage": ({"CollectionId": "decode-once", "Image": IMAGE}, 1),
    "SearchUsersByImage": ({"CollectionId": "decode-once", "Image": IMAGE}, 1),
}


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperationContext]:
    from agnosco.storage import open_store
    from agnosco.storage.celebrities import CelebrityStore

    folder = Path(tmp_path_factory.mktemp("decode-once"))
    store = open_store(None, folder)
    celebrities = CelebrityStore(folder / "celebrities.db")
    context = OperationContext(store=store, celebrities=celebrities)
    invoke("CreateCollection", {"CollectionId": "decode-once"}, context)
    yield context
    store.close()
    celebrities.close()


def test_every_image_operation_is_covered() -> None:
    assert set(REQUESTS) == {n for n, op in REGISTRY.items() if op.traits.analyses_images}


@pytest.mark.parametrize("operation", sorted(REQUESTS))
def test_each_image_is_decoded_once(
    operation: str, context: OperationContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    real = images.decode_image

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        decoded.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(images, "decode_image", counting)
    request, count = REQUESTS[operation]
    try:
        invoke(operation, request, context)
    except ServiceError as error:  # no face to search with or compare: decoded all the same
        assert error.code == "InvalidParameterException"
    assert len(decoded) == count
