"""AWS JSON 1.1 bodies <-> Python values, driven by the operation's shapes.

On the wire blobs are base64 strings and timestamps epoch seconds; inside Agnosco blobs are
``bytes`` and timestamps epoch floats.  The shape tree decides which member is which, so no
operation is hand-listed.  Malformed JSON or base64 is a ``SerializationException``, as AWS
answers it; values of the wrong type are left for the validator to report in AWS's wording.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any, cast

from botocore.model import ListShape, MapShape, Shape, StructureShape

from agnosco.errors import SerializationException


def decode_request(body: bytes, shape: Shape | None) -> dict[str, Any]:
    """The request parameters of a JSON body (an empty body is ``{}``)."""
    if not body.strip():
        return {}
    try:
        params = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationException(f"Request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise SerializationException("Request body is nested too deeply.") from exc
    if not isinstance(params, dict):
        raise SerializationException("Request body must be a JSON object.")
    try:
        return _decode(params, shape) if shape is not None else params
    except RecursionError as exc:
        raise SerializationException("Request body is nested too deeply.") from exc


def _no_constant(name: str) -> float:
    """``NaN``, ``Infinity``, ``-Infinity``: Python's json reads them, JSON has no such values."""
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _decode(value: Any, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        members = cast(StructureShape, shape).members
        return {
            k: _decode(v, members[k]) if k in members and v is not None else v
            for k, v in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [_decode(v, cast(ListShape, shape).member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _decode(v, cast(MapShape, shape).value) for k, v in value.items()}
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SerializationException(f"Invalid base64 in a binary member: {exc}") from exc
    return value


def encode_response(result: Mapping[str, Any], shape: Shape | None) -> bytes:
    """The JSON body for an operation's result."""
    return json.dumps(
        _encode(result, shape) if shape is not None else dict(result), separators=(",", ":")
    ).encode()


def _encode(value: Any, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        members = cast(StructureShape, shape).members
        return {
            k: _encode(v, members[k]) for k, v in value.items() if k in members and v is not None
        }
    if kind == "list":
        return [_encode(v, cast(ListShape, shape).member) for v in value]
    if kind == "map":
        return {k: _encode(v, cast(MapShape, shape).value) for k, v in value.items()}
    if kind == "blob":
        return base64.b64encode(value).decode()
    if kind == "timestamp":
        return value.timestamp() if isinstance(value, dt.datetime) else float(value)
    if kind in ("float", "double"):
        return float(value)
    return value
