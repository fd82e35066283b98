"""Verify AWS Signature Version 4, in the Authorization header or in the query string
(presigned requests), by re-signing with botocore's own signer.

The canonicalisation (URI, query, header folding, payload hash) is botocore's
:class:`~botocore.auth.SigV4Auth`, the code every AWS SDK for Python signs with (its
:class:`~botocore.auth.SigV4QueryAuth` presigns with the same canonical request, the auth
parameters in the query string); Agnosco only parses the ``Authorization`` header or the
``X-Amz-*`` query parameters, limits the signed headers to the ones the client listed, pins the
timestamp to the client's ``X-Amz-Date`` and compares in constant time.

The secret comes from ``secret_for(access_key_id, session_token)``: a long-term key's with no
session token, a temporary key's (``ASIA...``, :mod:`agnosco.auth.sessions`) with its own token;
anything else is unknown.

Refusals, with the codes AWS uses (the STS endpoint answers them under its Query protocol's
names, :mod:`agnosco.protocol.query`):

=======================================  ============================================
no Authorization header nor X-Amz-*      MissingAuthenticationTokenException (403)
query parameters
malformed Authorization / missing date,  IncompleteSignatureException
both an Authorization header and query
parameters, X-Amz-Expires missing or
outside 1..604800
host, x-amz-date or x-amz-target         IncompleteSignatureException
unsigned
unknown or revoked access key; a         UnrecognizedClientException
session token with a long-term key; a
temporary key without its own token
a temporary key whose session expired    ExpiredTokenException (raised by the server once
                                         the signature is verified: agnosco.auth.sessions)
wrong service, signature or body hash,   InvalidSignatureException
``UNSIGNED-PAYLOAD``
``X-Amz-Date`` more than 15 min away     InvalidSignatureException ("Signature expired")
(header form); past ``X-Amz-Date`` +
``X-Amz-Expires`` (query form)
=======================================  ============================================

What the signature must cover, and why: ``X-Amz-Target`` names the operation (unsigned, a
captured DescribeCollection could be re-sent as DeleteCollection), ``X-Amz-Date`` the moment
(replay window), ``Host`` the endpoint, and the body its parameters (``UNSIGNED-PAYLOAD``
would leave it outside).  The AWS SDKs and the CLI sign all of these.  A presigned request
carries its date, and its session token when it has one, in the signed query string.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

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
#: A presigned request's X-Amz-Expires: at least a second, at most seven days (AWS's limits).
MAX_EXPIRES = 604800
INVALID_TOKEN = "The security token included in the request is invalid."
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
#: The query parameters of a presigned request (X-Amz-Security-Token only with a session).
QUERY_AUTH = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
#: ``secret_for(access_key_id, session_token)``: the secret to check the signature with, or
#: None when the key is unknown, revoked, or not used with its own session token (or none).
#: An expired session's secret is given, so that its refusal follows a verified signature.
SecretSource = Callable[[str, str | None], str | None]


@dataclass(frozen=True)
class Identity:
    """Who signed the request, for which region and service, and how."""

    access_key_id: str
    region: str
    signed_headers: frozenset[str] = frozenset()
    service: str = SERVICE
    #: The session token the request carried (a temporary key's), None for a long-term key.
    session_token: str | None = None
    #: Signed in the query string (a presigned request) rather than the Authorization header.
    presigned: bool = False


class _PinnedSigV4(SigV4Auth):
    """botocore's signer, restricted to the headers the client signed."""

    def __init__(
        self, credentials: Credentials, service: str, region: str, signed: list[str]
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                headers.add_header(name, value)
        return headers


@dataclass(frozen=True)
class _Signed:
    """What a request says about its signature, from its header or its query string."""

    credential: str
    signed: list[str]
    signature: str
    amz_date: str | None
    token: str | None
    #: The query string the signature covers (a presigned request's without X-Amz-Signature).
    query: str
    expires: int | None = None


def query_parameters(query: str) -> dict[str, str]:
    """The query string's parameters, decoded (the first of a repeated name)."""
    out: dict[str, str] = {}
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        out.setdefault(unquote(name.replace("+", " ")), unquote(value.replace("+", " ")))
    return out


def auth_service(headers: Mapping[str, list[str]], query: str) -> str | None:
    """The service a request's credential scope names (``.../REGION/SERVICE/aws4_request``),
    None when it names none: how requests are routed before they are verified."""
    authorization = _one(headers, "authorization") or ""
    match = _AUTH.match(authorization)
    credential = match["credential"] if match else query_parameters(query).get("X-Amz-Credential")
    parts = (credential or "").split("/")
    return parts[3] if len(parts) == 5 else None


def verify(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, list[str]],
    body: bytes,
    secret_for: SecretSource,
    now: dt.datetime,
    services: tuple[str, ...] = (SERVICE,),
) -> Identity:
    """Check the request's signature; ``headers`` maps lower-case names to their values.

    ``secret_for`` is a :data:`SecretSource`; ``services`` the credential scopes accepted.
    :raises ServiceError: one of the refusals in the module docstring.
    """
    given = _signed(headers, query)
    parts = given.credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise IncompleteSignatureException(
            f"Credential should be scoped to a valid region and service: {given.credential[:200]}"
        )
    key_id, scope_date, region, service, _ = parts
    presigned = given.expires is not None
    for required in REQUIRED_SIGNED_HEADERS:
        # a request without X-Amz-Target names no operation: UnknownOperationException follows;
        # a presigned request carries its date in the (signed) query string
        if required == "x-amz-date" and presigned:
            continue
        if required not in given.signed and (required != "x-amz-target" or required in headers):
            raise IncompleteSignatureException(f"SignedHeaders must include '{required}'.")
    amz_date = given.amz_date
    if amz_date is None:
        raise IncompleteSignatureException(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    try:
        when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise IncompleteSignatureException(
            f"X-Amz-Date is not in the form YYYYMMDDTHHMMSSZ: {amz_date[:40]}"
        ) from None
    if service not in services:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{services[0]}'."
        )
    if scope_date != amz_date[:8]:
        raise InvalidSignatureException("Credential date does not match the X-Amz-Date header.")
    _check_time(when, now, given.expires)
    secret = secret_for(key_id, given.token)
    if secret is None:
        raise UnrecognizedClientException(INVALID_TOKEN)
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
        url=f"http://{_one(headers, 'host') or ''}{path}"
        + (f"?{given.query}" if given.query else ""),
        data=body,
    )
    for name in given.signed:
        for value in headers.get(name, []):
            request.headers.add_header(name, value)
    request.context["timestamp"] = amz_date
    signer = _PinnedSigV4(Credentials(key_id, secret), service, region, given.signed)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, given.signature):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
    return Identity(
        access_key_id=key_id,
        region=region,
        signed_headers=frozenset(given.signed),
        service=service,
        session_token=given.token,
        presigned=presigned,
    )


def _signed(headers: Mapping[str, list[str]], query: str) -> _Signed:
    """The signature's parameters: from the Authorization header, or the query string."""
    authorization = _one(headers, "authorization")
    params = query_parameters(query)
    in_query = "X-Amz-Algorithm" in params or "X-Amz-Signature" in params
    if authorization is not None and in_query:
        raise IncompleteSignatureException(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
            "Authorization header should be specified."
        )
    if authorization is not None:
        match = _AUTH.match(authorization)
        if match is None:
            raise IncompleteSignatureException(
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                "parameters of an AWS4-HMAC-SHA256 signature."
            )
        return _Signed(
            credential=match["credential"],
            signed=match["signed"].split(";"),
            signature=match["signature"],
            amz_date=_one(headers, "x-amz-date"),
            token=_one(headers, "x-amz-security-token"),
            query=query,
        )
    if not in_query:
        raise MissingAuthenticationTokenException("Missing Authentication Token")
    missing = [name for name in QUERY_AUTH if name not in params]
    if missing:
        raise IncompleteSignatureException(
            "AWS query-string parameters must include "
            + ", ".join(f"'{m}'" for m in missing)
            + ". Re-examine the query-string parameters."
        )
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise IncompleteSignatureException("X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'.")
    if not _SIGNATURE.match(params["X-Amz-Signature"]):
        raise IncompleteSignatureException("X-Amz-Signature must be 64 hexadecimal digits.")
    expires_text = params["X-Amz-Expires"]
    if not expires_text.isdigit():
        raise IncompleteSignatureException("X-Amz-Expires should be a number.")
    expires = int(expires_text)
    if expires < 1:
        raise IncompleteSignatureException("X-Amz-Expires must be non-negative.")
    if expires > MAX_EXPIRES:
        raise IncompleteSignatureException(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}."
        )
    if _one(headers, "x-amz-security-token") is not None and "X-Amz-Security-Token" in params:
        raise IncompleteSignatureException(
            "X-Amz-Security-Token may be given in the query string or a header, not both."
        )
    covered = "&".join(
        pair for pair in query.split("&") if pair.partition("=")[0] != "X-Amz-Signature"
    )
    return _Signed(
        credential=params["X-Amz-Credential"],
        signed=params["X-Amz-SignedHeaders"].split(";"),
        signature=params["X-Amz-Signature"],
        amz_date=params["X-Amz-Date"],
        token=params.get("X-Amz-Security-Token"),
        query=covered,
        expires=expires,
    )


def _check_time(when: dt.datetime, now: dt.datetime, expires: int | None) -> None:
    """The header form is valid 15 minutes either side of its date; the query form from 15
    minutes before its date until ``expires`` seconds after it."""
    stamp = "%Y%m%dT%H%M%SZ"
    signed, current = when.strftime(stamp), now.strftime(stamp)
    if when - now > MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature not yet current: {signed} is still later than "
            f"{(now + MAX_SKEW).strftime(stamp)} ({current} + 15 min.)"
        )
    if expires is None and now - when > MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {signed} is now earlier than "
            f"{(now - MAX_SKEW).strftime(stamp)} ({current} - 15 min.)"
        )
    if expires is not None and now - when > dt.timedelta(seconds=expires):
        raise InvalidSignatureException(
            f"Signature expired: {signed} is now earlier than "
            f"{(now - dt.timedelta(seconds=expires)).strftime(stamp)} ({current} - {expires} sec.); "
            f"the request was presigned for X-Amz-Expires={expires} seconds."
        )


def _one(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None
