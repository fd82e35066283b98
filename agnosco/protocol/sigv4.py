"""Verify AWS Signature Version 4 (header form) by re-signing with botocore's own signer.

The canonicalisation (URI, query, header folding, payload hash) is botocore's
:class:`~botocore.auth.SigV4Auth`, the code every AWS SDK for Python signs with; Agnosco
only parses the ``Authorization`` header, limits the signed headers to the ones the client
listed, pins the timestamp to the client's ``X-Amz-Date`` and compares in constant time.

Refusals, with the codes AWS uses:

=======================================  ============================================
no Authorization header                  MissingAuthenticationTokenException (403)
malformed Authorization / missing date   IncompleteSignatureException
host, x-amz-date or x-amz-target         IncompleteSignatureException
unsigned
unknown or revoked access key, or any    UnrecognizedClientException
session token (none is ever issued)
wrong service, signature or body hash,   InvalidSignatureException
``UNSIGNED-PAYLOAD``
``X-Amz-Date`` more than 15 min away     InvalidSignatureException ("Signature expired")
=======================================  ============================================

What the signature must cover, and why: ``X-Amz-Target`` names the operation (unsigned, a
captured DescribeCollection could be re-sent as DeleteCollection), ``X-Amz-Date`` the moment
(replay window), ``Host`` the endpoint, and the body its parameters (``UNSIGNED-PAYLOAD``
would leave it outside).  The AWS SDKs and the CLI sign all of these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from agnosco.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

SERVICE = "rekognition"
#: Headers a request's signature must cover (see the module docstring).
REQUIRED_SIGNED_HEADERS = ("host", "x-amz-date", "x-amz-target")
MAX_SKEW = dt.timedelta(minutes=15)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class Identity:
    """Who signed the request, and for which region."""

    access_key_id: str
    region: str
    signed_headers: frozenset[str] = frozenset()


class _PinnedSigV4(SigV4Auth):
    """botocore's signer, restricted to the headers the client signed."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                headers.add_header(name, value)
        return headers


def verify(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, list[str]],
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: dt.datetime,
) -> Identity:
    """Check the request's signature; ``headers`` maps lower-case names to their values.

    ``secret_for(access_key_id)`` returns the key's secret, or None when the key is unknown or
    revoked.  :raises ServiceError: one of the refusals in the module docstring.
    """
    authorization = _one(headers, "authorization")
    if authorization is None:
        raise MissingAuthenticationTokenException("Missing Authentication Token")
    match = _AUTH.match(authorization)
    if match is None:
        raise IncompleteSignatureException(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            "parameters of an AWS4-HMAC-SHA256 signature."
        )
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise IncompleteSignatureException(
            f"Credential should be scoped to a valid region and service: {match['credential']}"
        )
    key_id, scope_date, region, service, _ = parts
    signed = match["signed"].split(";")
    for required in REQUIRED_SIGNED_HEADERS:
        # a request without X-Amz-Target names no operation: UnknownOperationException follows
        if required not in signed and (required != "x-amz-target" or required in headers):
            raise IncompleteSignatureException(f"SignedHeaders must include '{required}'.")
    amz_date = _one(headers, "x-amz-date")
    if amz_date is None:
        raise IncompleteSignatureException(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    try:
        when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise IncompleteSignatureException(
            f"X-Amz-Date is not in the form YYYYMMDDTHHMMSSZ: {amz_date}"
        ) from None
    if service != SERVICE:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{SERVICE}'."
        )
    if scope_date != amz_date[:8]:
        raise InvalidSignatureException("Credential date does not match the X-Amz-Date header.")
    if abs(now - when) > MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} - 15 min.)"
            if when < now
            else f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} + 15 min.)"
        )
    secret = secret_for(key_id)
    if secret is None or _one(headers, "x-amz-security-token") is not None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    content_sha = _one(headers, "x-amz-content-sha256")
    if content_sha is not None and content_sha.startswith(("UNSIGNED-PAYLOAD", "STREAMING-")):
        raise InvalidSignatureException(
            f"x-amz-content-sha256 {content_sha[:40]} is not accepted: the body must be signed "
            "(UNSIGNED-PAYLOAD and streaming payloads leave it outside the signature)."
        )
    if content_sha is not None and content_sha != hashlib.sha256(body).hexdigest():
        raise InvalidSignatureException(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )

    request = AWSRequest(
        method=method,
        url=f"http://{_one(headers, 'host') or ''}{path}" + (f"?{query}" if query else ""),
        data=body,
    )
    for name in signed:
        for value in headers.get(name, []):
            request.headers.add_header(name, value)
    request.context["timestamp"] = amz_date
    signer = _PinnedSigV4(Credentials(key_id, secret), region, signed)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
    return Identity(access_key_id=key_id, region=region, signed_headers=frozenset(signed))


def _one(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None
