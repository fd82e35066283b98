"""NextToken: an opaque, signed resume point for list operations.

A token is ``signature (16 bytes) | listing digest (8 bytes) | resume key``, base64url:
the digest ties it to one listing (operation, collection and filters), the resume key is the
store's opaque ``Page.next_key`` (at most 128 characters), and the HMAC-SHA256 signature under
the context's ``token_key`` makes it unforgeable.  Tokens therefore stay under the model's
255-character limit.  An altered or forged token, or one issued for another listing, is an
``InvalidPaginationTokenException``; tokens stay valid across restarts (the server's key is
stable) and while others write, because listings resume *after* a key, not at an offset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from agnosco.errors import InvalidPaginationTokenException

_SIGNATURE, _DIGEST = 16, 8


def _digest(listing: str) -> bytes:
    return hashlib.sha256(listing.encode()).digest()[:_DIGEST]


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_SIGNATURE]


def make_token(key: bytes, listing: str, last: str | None) -> str | None:
    """The NextToken resuming ``listing`` after ``last`` (None: the listing is complete)."""
    if last is None:
        return None
    payload = _digest(listing) + last.encode()
    return base64.urlsafe_b64encode(_sign(key, payload) + payload).decode().rstrip("=")


def read_token(key: bytes, listing: str, token: str | None) -> str | None:
    """The key to resume after, or None for the first page.

    :raises InvalidPaginationTokenException: a token not issued by this server for this listing.
    """
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidPaginationTokenException("Invalid Pagination Token") from exc
    signature, payload = raw[:_SIGNATURE], raw[_SIGNATURE:]
    if len(payload) < _DIGEST or not hmac.compare_digest(signature, _sign(key, payload)):
        raise InvalidPaginationTokenException("Invalid Pagination Token")
    if payload[:_DIGEST] != _digest(listing):
        raise InvalidPaginationTokenException(
            "Invalid Pagination Token: issued for another listing"
        )
    try:
        return payload[_DIGEST:].decode()
    except UnicodeDecodeError as exc:
        raise InvalidPaginationTokenException("Invalid Pagination Token") from exc
