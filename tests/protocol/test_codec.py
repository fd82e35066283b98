"""The JSON codec round-trips what botocore serializes and parses what we encode."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from agnosco import spec
from agnosco.errors import SerializationException
from agnosco.protocol.codec import decode_request, encode_response


def botocore_body(operation: str, params: dict) -> bytes:  # type: ignore[type-arg]
    model = spec.service_model().operation_model(operation)
    return create_serializer("json").serialize_to_request(params, model)["body"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "operation, params",
    [
        ("DetectFaces", {"Image": {"Bytes": b"\xff\xd8\xff\x00binary"}, "Attributes": ["ALL"]}),
        (
            "IndexFaces",
            {
                "CollectionId": "c",
                "Image": {"S3Object": {"Bucket": "photos", "Name": "k.jpg"}},
                "ExternalImageId": "x:1",
                "MaxFaces": 3,
                "QualityFilter": "AUTO",
            },
        ),
        (
            "CompareFaces",
            {
                "SourceImage": {"Bytes": b"a"},
                "TargetImage": {"Bytes": b"b"},
                "SimilarityThreshold": 99.5,
            },
        ),
        (
            "TagResource",
            {"ResourceArn": "arn:aws:rekognition:eu-west-1:0:collection/c", "Tags": {"k": "v"}},
        ),
    ],
)
def test_botocore_request_round_trips(operation: str, params: dict) -> None:  # type: ignore[type-arg]
    model = spec.service_model().operation_model(operation)
    assert decode_request(botocore_body(operation, params), model.input_shape) == params


def test_botocore_parses_our_response() -> None:
    model = spec.service_model().operation_model("DescribeCollection")
    body = encode_response(
        {
            "FaceCount": 2,
            "FaceModelVersion": "v",
            "CollectionARN": "arn",
            "CreationTimestamp": 1795300000.5,
            "UserCount": 0,
        },
        model.output_shape,
    )
    parsed = create_parser("json").parse(
        {"status_code": 200, "headers": {}, "body": body}, model.output_shape
    )
    assert parsed["FaceCount"] == 2
    assert parsed["CreationTimestamp"] == dt.datetime.fromtimestamp(1795300000.5, dt.UTC)


def test_blobs_are_base64_on_the_wire() -> None:
    shape = spec.service_model().operation_model("DetectFaces").input_shape
    assert decode_request(
        b'{"Image":{"Bytes":"' + base64.b64encode(b"\x00\x01") + b'"}}', shape
    ) == {"Image": {"Bytes": b"\x00\x01"}}


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1,2]", b'{"Image":{"Bytes":"***"}}', b"\xff\xfe"]
)
def test_malformed_bodies_are_serialization_errors(body: bytes) -> None:
    shape = spec.service_model().operation_model("DetectFaces").input_shape
    with pytest.raises(SerializationException):
        decode_request(body, shape)


def test_wrong_types_are_left_to_the_validator() -> None:
    shape = spec.service_model().operation_model("DetectFaces").input_shape
    assert decode_request(b'{"Image":{"Bytes":12}}', shape) == {"Image": {"Bytes": 12}}
