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


# --- presigned requests (SigV4 in the query string) -------------------------------------------


def presigned(
    body: bytes = b"",
    *,
    expires: int = 300,
    when: dt.datetime = NOW,
    key: str = "AKIDEXAMPLE",
    token: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, object]:
    """A request presigned by botocore's SigV4QueryAuth (the body's hash in a signed header, as
    the query form moves a body it can read into the query string)."""
    import hashlib

    from botocore.auth import SigV4QueryAuth

    request = AWSRequest(
        method="POST",
        url="http://localhost:8080/",
        data=b"",
        headers={
            "X-Amz-Target": "RekognitionService.CreateCollection",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
            **(extra or {}),
        },
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        SigV4QueryAuth(
            Credentials(key, KEYS.get(key, "x"), token), "rekognition", "eu-west-1", expires=expires
        ).add_auth(request)
    headers: dict[str, list[str]] = {"host": ["localhost:8080"]}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    query = request.url.split("?", 1)[1]
    return {"method": "POST", "path": "/", "query": query, "headers": headers, "body": body}


def test_a_presigned_request_verifies() -> None:
    req = presigned(b'{"CollectionId":"c"}')
    assert "authorization" not in req["headers"]  # type: ignore[operator]
    identity = check(req, NOW + dt.timedelta(seconds=299))
    assert identity.presigned and identity.access_key_id == "AKIDEXAMPLE"
    assert {"host", "x-amz-target", "x-amz-content-sha256"} <= identity.signed_headers


def test_a_tampered_presigned_request_is_refused() -> None:
    req = presigned(b'{"CollectionId":"c"}')
    with pytest.raises(InvalidSignatureException, match="does not match what was computed"):
        check({**req, "body": b'{"CollectionId":"d"}'})
    query = str(req["query"]).replace("X-Amz-Expires=300", "X-Amz-Expires=600")
    with pytest.raises(InvalidSignatureException, match="signature we calculated does not match"):
        check({**req, "query": query})
    headers = dict(req["headers"])  # type: ignore[call-overload]
    headers["x-amz-target"] = ["RekognitionService.DeleteCollection"]
    with pytest.raises(InvalidSignatureException, match="signature we calculated does not match"):
        check({**req, "headers": headers})


def test_a_presigned_request_expires_after_x_amz_expires() -> None:
    req = presigned(b"{}", expires=60)
    check(req, NOW + dt.timedelta(seconds=60))
    with pytest.raises(InvalidSignatureException, match="Signature expired: 20261122T120000Z"):
        check(req, NOW + dt.timedelta(seconds=61))
    # one presigned for a week is good for a week, unlike a header signature's 15 minutes
    week = presigned(b"{}", expires=604800)
    check(week, NOW + dt.timedelta(days=6))
    with pytest.raises(InvalidSignatureException, match="Signature expired"):
        check(week, NOW + dt.timedelta(days=7, seconds=1))
    with pytest.raises(InvalidSignatureException, match="not yet current"):
        check(req, NOW - dt.timedelta(minutes=16))


@pytest.mark.parametrize(
    ("expires", "words"),
    [(0, "must be non-negative"), (604801, "less than a week"), (-5, "should be a number")],
)
def test_x_amz_expires_must_be_one_second_to_a_week(expires: int, words: str) -> None:
    req = presigned(b"{}")
    query = str(req["query"]).replace("X-Amz-Expires=300", f"X-Amz-Expires={expires}")
    with pytest.raises(IncompleteSignatureException, match=words):
        check({**req, "query": query})


def test_a_presigned_request_needs_every_auth_parameter() -> None:
    req = presigned(b"{}")
    query = "&".join(p for p in str(req["query"]).split("&") if not p.startswith("X-Amz-Expires="))
    with pytest.raises(IncompleteSignatureException, match="'X-Amz-Expires'"):
        check({**req, "query": query})


def test_header_and_query_signatures_together_are_refused() -> None:
    req = presigned(b"{}")
    headers = dict(signed()["headers"])  # type: ignore[call-overload]
    with pytest.raises(IncompleteSignatureException, match="Only one auth mechanism"):
        check({**req, "headers": headers})


def test_a_presigned_session_token_is_signed_and_checked() -> None:
    seen: list[tuple[str, str | None]] = []

    def temporary(key_id: str, token: str | None) -> str | None:
        seen.append((key_id, token))
        return KEYS["AKIDEXAMPLE"] if token == "the-token" else None

    req = presigned(b"{}", token="the-token")
    assert "X-Amz-Security-Token=the-token" in str(req["query"])
    verify(**req, secret_for=temporary, now=NOW)  # type: ignore[arg-type]
    assert seen == [("AKIDEXAMPLE", "the-token")]
    with pytest.raises(UnrecognizedClientException):
        check(req)  # long-term keys alone: the token is refused
