"""The SigV4 verifier against requests botocore itself signs."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from agnosco.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from agnosco.protocol.sigv4 import verify

KEYS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
NOW = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)


def signed(
    body: bytes = b'{"CollectionId":"c"}',
    *,
    key: str = "AKIDEXAMPLE",
    secret: str | None = None,
    when: dt.datetime = NOW,
    service: str = "rekognition",
    region: str = "eu-west-1",
    extra: dict[str, str] | None = None,
) -> dict[str, object]:
    request = AWSRequest(
        method="POST",
        url="http://localhost:8080/",
        data=body,
        headers={
            "X-Amz-Target": "RekognitionService.CreateCollection",
            "Content-Type": "application/x-amz-json-1.1",
            **(extra or {}),
        },
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        SigV4Auth(Credentials(key, secret or KEYS.get(key, "x")), service, region).add_auth(request)
    headers: dict[str, list[str]] = {"host": ["localhost:8080"]}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return {"method": "POST", "path": "/", "query": "", "headers": headers, "body": body}


def long_term(key_id: str, session_token: str | None) -> str | None:
    """Long-term keys alone: a session token with one is one nobody issued."""
    return KEYS.get(key_id) if session_token is None else None


def check(req: dict[str, object], now: dt.datetime = NOW):  # type: ignore[no-untyped-def]
    return verify(**req, secret_for=long_term, now=now)  # type: ignore[arg-type]


def test_botocore_signed_request_verifies() -> None:
    identity = check(signed())
    assert identity.access_key_id == "AKIDEXAMPLE" and identity.region == "eu-west-1"


def test_signed_custom_header_is_covered() -> None:
    req = signed(extra={"X-Agnosco-Purpose": "missing_persons"})
    assert "x-agnosco-purpose" in req["headers"]["authorization"][0]  # type: ignore[index]
    check(req)
    req["headers"]["x-agnosco-purpose"] = ["criminal_investigation"]  # type: ignore[index]
    with pytest.raises(InvalidSignatureException):
        check(req)


def test_tampered_body_is_refused() -> None:
    req = signed()
    req["body"] = b'{"CollectionId":"d"}'
    with pytest.raises(InvalidSignatureException):
        check(req)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(InvalidSignatureException, match="signature we calculated does not match"):
        check(signed(secret="not-the-secret"))


def test_unknown_key_is_unrecognized() -> None:
    with pytest.raises(
        UnrecognizedClientException, match="security token included in the request is invalid"
    ):
        check(signed(key="AKIDUNKNOWN"))


def test_missing_authorization() -> None:
    req = signed()
    del req["headers"]["authorization"]  # type: ignore[attr-defined]
    with pytest.raises(MissingAuthenticationTokenException):
        check(req)


@pytest.mark.parametrize(
    "value",
    [
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/rekognition/aws4_request",
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/rekognition/aws4_request, SignedHeaders=host, Signature="
        + "0" * 64,
    ],
)
def test_malformed_authorization(value: str) -> None:
    req = signed()
    req["headers"]["authorization"] = [value]  # type: ignore[index]
    with pytest.raises(IncompleteSignatureException):
        check(req)


@pytest.mark.parametrize("skew", [dt.timedelta(minutes=16), dt.timedelta(minutes=-16)])
def test_clock_skew_over_15_minutes(skew: dt.timedelta) -> None:
    with pytest.raises(InvalidSignatureException, match="Signature (expired|not yet current)"):
        check(signed(when=NOW - skew))


def test_clock_skew_within_15_minutes_is_fine() -> None:
    check(signed(when=NOW - dt.timedelta(minutes=14)))


def test_wrong_service_scope() -> None:
    with pytest.raises(InvalidSignatureException, match="correct service"):
        check(signed(service="s3"))


# what the signature must cover ------------------------------------------------------------------


def _resign_without(req: dict[str, object], header: str) -> dict[str, object]:
    """The request signed by botocore with ``header`` left out of SignedHeaders."""
    request = AWSRequest(
        method="POST",
        url="http://localhost:8080/",
        data=req["body"],
        headers={
            "X-Amz-Target": "RekognitionService.CreateCollection",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )

    class Without(SigV4Auth):
        def headers_to_sign(self, request):  # type: ignore[no-untyped-def]
            headers = super().headers_to_sign(request)
            del headers[header]
            return headers

    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        Without(
            Credentials("AKIDEXAMPLE", KEYS["AKIDEXAMPLE"]), "rekognition", "eu-west-1"
        ).add_auth(request)
    headers: dict[str, list[str]] = {"host": ["localhost:8080"]}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return {**req, "headers": headers}


@pytest.mark.parametrize("header", ["x-amz-target", "x-amz-date", "host"])
def test_target_date_and_host_must_be_signed(header: str) -> None:
    """Unsigned, X-Amz-Target could be changed: a captured DescribeCollection re-sent as
    DeleteCollection."""
    req = _resign_without(signed(), header)
    assert header not in req["headers"]["authorization"][0].split("SignedHeaders=")[1].split(",")[
        0
    ].split(";")  # type: ignore[index]
    with pytest.raises(
        IncompleteSignatureException, match=f"SignedHeaders must include '{header}'"
    ):
        check(req)


def test_unsigned_payload_is_refused() -> None:
    """With UNSIGNED-PAYLOAD signed, the body would be outside the signature."""
    req = signed(extra={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    with pytest.raises(InvalidSignatureException, match="UNSIGNED-PAYLOAD"):
        check(req)
    req["body"] = b'{"CollectionId":"swapped"}'
    with pytest.raises(InvalidSignatureException):
        check(req)


def test_a_signed_payload_hash_must_be_the_bodys() -> None:
    import hashlib

    body = b'{"CollectionId":"c"}'
    check(signed(body, extra={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}))
    with pytest.raises(InvalidSignatureException, match="x-amz-content-sha256"):
        check(signed(body, extra={"X-Amz-Content-SHA256": "0" * 64}))


def test_a_session_token_with_a_long_term_key_is_refused() -> None:
    """A long-term key signs alone: a token with it is one nobody issued (AWS refuses it too)."""
    with pytest.raises(UnrecognizedClientException, match="security token"):
        check(signed(extra={"X-Amz-Security-Token": "garbage"}))
