"""agnosco.validation against real shapes of botocore's Rekognition model."""

from __future__ import annotations

import pytest

from agnosco import spec
from agnosco.errors import InvalidParameterException
from agnosco.validation import violations


def errors_for(params: object, shape_name: str) -> list[str]:
    return violations(params, spec.shape(shape_name))


def test_valid_request_has_no_violations() -> None:
    assert (
        errors_for(
            {"CollectionId": "my.collection-1", "Tags": {"team": "a"}}, "CreateCollectionRequest"
        )
        == []
    )


def test_required_member_missing() -> None:
    (error,) = errors_for({}, "CreateCollectionRequest")
    assert (
        error
        == "Value null at 'collectionId' failed to satisfy constraint: Member must not be null"
    )


def test_pattern_must_match_whole_value() -> None:
    (error,) = errors_for({"CollectionId": "bad/id"}, "CreateCollectionRequest")
    assert "regular expression pattern" in error and "'collectionId'" in error


def test_length_bounds() -> None:
    assert any(
        "less than or equal to 255" in e
        for e in errors_for({"CollectionId": "a" * 256}, "CreateCollectionRequest")
    )
    assert any(
        "greater than or equal to 1" in e
        for e in errors_for({"CollectionId": ""}, "CreateCollectionRequest")
    )


def test_numeric_range_and_enum() -> None:
    params = {
        "SourceImage": {"Bytes": b"x"},
        "TargetImage": {"Bytes": b"x"},
        "SimilarityThreshold": 100.5,
        "QualityFilter": "BEST",
    }
    errors = errors_for(params, "CompareFacesRequest")
    assert len(errors) == 2
    assert any("'similarityThreshold'" in e and "less than or equal to 100" in e for e in errors)
    assert any("'qualityFilter'" in e and "enum value set" in e for e in errors)


def test_types_lists_and_unknown_members() -> None:
    params = {"Image": {"Bytes": "not-bytes"}, "Attributes": ["ALL", 3], "Extra": 1}
    errors = errors_for(params, "DetectFacesRequest")
    assert any("'image.bytes'" in e and "binary data" in e for e in errors)
    assert any("'attributes.2.member'" in e and "a string" in e for e in errors)
    assert any("Unknown parameter 'extra'" in e for e in errors)


def test_booleans_are_not_numbers() -> None:
    errors = errors_for(
        {"Image": {"Bytes": b"x"}, "MaxFaces": True, "CollectionId": "c"}, "IndexFacesRequest"
    )
    assert any("'maxFaces'" in e and "an integer" in e for e in errors)


def test_spec_validate_raises_with_count() -> None:
    with pytest.raises(InvalidParameterException) as caught:
        spec.validate({"CollectionId": "bad/id", "Tags": {"": "v"}}, "CreateCollectionRequest")
    assert caught.value.message.startswith("2 validation errors detected: ")
    assert caught.value.code == "InvalidParameterException"


def test_oversized_image_blob_is_image_too_large() -> None:
    from agnosco.errors import ImageTooLargeException

    with pytest.raises(ImageTooLargeException, match="5242880"):
        spec.validate({"Image": {"Bytes": b"x" * (5 * 1024 * 1024 + 1)}}, "DetectFacesRequest")
    with pytest.raises(InvalidParameterException):  # mixed with another violation: all are listed
        spec.validate(
            {"Image": {"Bytes": b"x" * (5 * 1024 * 1024 + 1)}, "Attributes": ["NOPE"]},
            "DetectFacesRequest",
        )
