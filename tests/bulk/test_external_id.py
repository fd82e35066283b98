"""ExternalImageIds from paths: always valid for Rekognition, deterministic, readable."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agnosco import spec
from agnosco.bulk.external_id import MAX_LENGTH, PATTERN, external_image_id


def test_paths_become_readable_ids() -> None:
    assert external_image_id("img1.jpg") == "img1.jpg"
    assert external_image_id("people/ann/2019-07-01.jpg") == "people:ann:2019-07-01.jpg"
    assert external_image_id("sub/my photo (1).JPG") == "sub:my_photo__1_.JPG"
    assert external_image_id("Ünïcode/José.jpg") == "Unicode:Jose.jpg"
    assert external_image_id("日本/写真.png") == "__:__.png"


def test_long_paths_are_cut_to_255_and_stay_distinct() -> None:
    a = external_image_id("a" * 300 + "/one.jpg")
    b = external_image_id("b" + "a" * 299 + "/one.jpg")
    assert len(a) == len(b) == MAX_LENGTH
    assert a != b
    assert a.endswith("aaa:one.jpg")


@given(st.text(min_size=1, max_size=400))
def test_every_key_gives_a_valid_external_image_id(key: str) -> None:
    external_id = external_image_id(key)
    assert PATTERN.fullmatch(external_id)
    assert 1 <= len(external_id) <= MAX_LENGTH
    assert external_image_id(key) == external_id
    spec.validate(
        {"CollectionId": "c", "Image": {"Bytes": b"-"}, "ExternalImageId": external_id},
        spec.service_model().operation_model("IndexFaces").input_shape.name,
    )
