"""The Query protocol against botocore's own serializer (requests in) and parser (answers out)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer

from agnosco import spec
from agnosco.errors import (
    ExpiredTokenException,
    InternalServerError,
    InvalidAction,
    UnrecognizedClientException,
)
from agnosco.protocol.query import (
    decode_parameters,
    encode_error,
    encode_result,
    operation_of,
    request_parameters,
)

MODEL = spec.service_model(spec.STS)
NAMESPACE = MODEL.metadata["xmlNamespace"]


def serialized(operation: str, params: dict[str, object]) -> dict[str, str]:
    """The flat parameters botocore sends for ``params``."""
    body = QuerySerializer().serialize_to_request(params, MODEL.operation_model(operation))["body"]
    return {k: str(v) for k, v in body.items()}


def test_botocores_assume_role_request_decodes_to_its_parameters() -> None:
    params = {
        "RoleArn": "arn:aws:iam::000000000000:role/Finders",
        "RoleSessionName": "s1",
        "DurationSeconds": 1800,
        "Tags": [{"Key": "team", "Value": "a"}, {"Key": "site", "Value": "b"}],
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnly"}],
        "TransitiveTagKeys": ["team"],
    }
    flat = serialized("AssumeRole", params)
    assert flat["Tags.member.2.Key"] == "site"  # the flattening under test
    operation = MODEL.operation_model("AssumeRole")
    assert operation_of(flat, ["AssumeRole"], "2011-06-15") == "AssumeRole"
    assert decode_parameters(flat, operation.input_shape) == params


def test_an_empty_request_and_an_empty_list() -> None:
    shape = MODEL.operation_model("AssumeRole").input_shape
    assert decode_parameters({"Action": "GetCallerIdentity"}, shape) == {}
    assert decode_parameters({"TransitiveTagKeys": ""}, shape) == {"TransitiveTagKeys": []}
    # a value of the wrong form stays text, for the validator to name
    assert decode_parameters({"DurationSeconds": "soon"}, shape) == {"DurationSeconds": "soon"}


def test_parameters_come_from_the_query_string_and_the_form_body() -> None:
    query = "Action=GetCallerIdentity&X-Amz-Signature=abc&X-Amz-Date=x"
    body = urlencode({"Version": "2011-06-15"}).encode()
    assert request_parameters(query, body, frozenset({"X-Amz-Signature", "X-Amz-Date"})) == {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
    }


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"Version": "2011-06-15"}, "must contain the parameter Action"),
        ({"Action": "GetFederationToken", "Version": "2011-06-15"}, "Could not find operation"),
        ({"Action": "AssumeRole", "Version": "2010-01-01"}, "for version 2010-01-01"),
        ({"Action": "AssumeRole"}, "NO_VERSION_SPECIFIED"),
    ],
)
def test_an_action_must_be_served_and_of_this_version(params: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidAction, match=words):
        operation_of(params, ["AssumeRole", "GetCallerIdentity"], "2011-06-15")


def test_botocore_parses_the_answer() -> None:
    operation = MODEL.operation_model("AssumeRole")
    expiration = dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC)
    result = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE000000000",
            "SecretAccessKey": "secret/with+chars=",
            "SessionToken": "token<&>",
            "Expiration": expiration,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROAEXAMPLE:s1",
            "Arn": "arn:aws:sts::000000000000:assumed-role/Finders/s1",
        },
    }
    body = encode_result(operation, result, "req-1")
    parsed = QueryParser().parse(
        {"status_code": 200, "headers": {}, "body": body}, operation.output_shape
    )
    assert parsed["Credentials"] == result["Credentials"]
    assert parsed["AssumedRoleUser"] == result["AssumedRoleUser"]
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (
            UnrecognizedClientException("The security token included in the request is invalid."),
            "InvalidClientTokenId",
            403,
        ),
        (
            ExpiredTokenException("The security token included in the request is expired"),
            "ExpiredToken",
            400,
        ),
        (InvalidAction("Could not find operation X for version 2011-06-15"), "InvalidAction", 400),
        (InternalServerError("Internal server error"), "InternalFailure", 500),
    ],
)
def test_errors_are_sts_errors(error: Exception, code: str, status: int) -> None:
    got_status, got_code, body = encode_error(error, "req-2", NAMESPACE)  # type: ignore[arg-type]
    assert (got_status, got_code) == (status, code)
    parsed = QueryParser().parse({"status_code": status, "headers": {}, "body": body}, None)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == error.message  # type: ignore[attr-defined]
    assert parsed["Error"]["Type"] == ("Receiver" if status == 500 else "Sender")
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"
