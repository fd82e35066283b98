"""Validate a parameter dict against a botocore shape: every constraint the model states.

botocore's own ``ParamValidator`` checks types, required members and minimums (what a client
must check before sending); a service must also enforce maximums, enums and patterns.  This
walks the shape tree once and reports every violation, in the wording AWS uses
(``Value '101' at 'similarityThreshold' failed to satisfy constraint: ...``).
Patterns must match the *whole* value, as AWS applies them; they are Java-style (``\\p{L}``),
so they run on the ``regex`` module, not ``re``.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from typing import Any, cast

import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape


@lru_cache(maxsize=512)
def _pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def _path_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= 64 else text[:61] + "..."


class Violation(str):
    """One broken constraint, worded as AWS words it; ``too_large`` for an oversized blob."""

    too_large: bool = False


def violations(params: Any, shape: Shape, path: str = "") -> list[str]:
    """Every way ``params`` breaks ``shape``; empty when it conforms."""
    errors: list[str] = []
    _check(params, shape, path, errors)
    return errors


def _fail(
    errors: list[str], value: Any, path: str, constraint: str, *, too_large: bool = False
) -> None:
    violation = Violation(
        f"Value '{_show(value)}' at '{path or 'request'}' failed to satisfy constraint: {constraint}"
    )
    violation.too_large = too_large
    errors.append(violation)


def _check(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    checker = _CHECKERS[kind]
    if not checker(value, shape, path, errors):
        return
    if kind in ("string", "blob", "list", "map"):
        size = len(value)
        if "min" in meta and size < meta["min"]:
            _fail(
                errors,
                value,
                path,
                f"Member must have length greater than or equal to {meta['min']}",
            )
        if "max" in meta and size > meta["max"]:
            _fail(
                errors,
                value,
                path,
                f"Member must have length less than or equal to {meta['max']}",
                too_large=kind == "blob",
            )
    if kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            _fail(
                errors,
                value,
                path,
                f"Member must have value greater than or equal to {meta['min']}",
            )
        if "max" in meta and value > meta["max"]:
            _fail(
                errors, value, path, f"Member must have value less than or equal to {meta['max']}"
            )
    if kind == "string":
        enum = getattr(shape, "enum", None) or meta.get("enum")
        if enum and value not in enum:
            _fail(errors, value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            _fail(
                errors,
                value,
                path,
                f"Member must satisfy regular expression pattern: {meta['pattern']}",
            )


def _type_error(value: Any, path: str, errors: list[str], expected: str) -> bool:
    errors.append(
        f"Invalid type at '{path or 'request'}': expected {expected}, got {type(value).__name__}"
    )
    return False


def _structure(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    if not isinstance(value, dict):
        return _type_error(value, path, errors, "an object")
    members = cast(StructureShape, shape).members
    for name in cast(StructureShape, shape).required_members:
        if value.get(name) is None:
            errors.append(
                f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
            )
    required = set(shape.required_members)
    for name, member_value in value.items():
        if name not in members:
            errors.append(f"Unknown parameter '{_join(path, name)}'")
        elif member_value is not None:
            _check(member_value, members[name], _join(path, name), errors)
        elif name not in required:  # an optional member sent as null: leave it out or give a value
            errors.append(
                f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
            )
    return False  # members were checked; no size constraints on structures


def _list(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    if not isinstance(value, list):
        return _type_error(value, path, errors, "a list")
    for i, item in enumerate(value):
        _check(item, cast(ListShape, shape).member, f"{path}.{i + 1}.member", errors)
    return True


def _map(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    if not isinstance(value, dict):
        return _type_error(value, path, errors, "an object")
    for key, item in value.items():
        _check(key, cast(MapShape, shape).key, f"{path}.key", errors)
        _check(item, cast(MapShape, shape).value, f"{path}.{key}", errors)
    return True


def _string(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    return isinstance(value, str) or _type_error(value, path, errors, "a string")


def _blob(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    return isinstance(value, (bytes, bytearray)) or _type_error(value, path, errors, "binary data")


def _integer(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return ok or _type_error(value, path, errors, "an integer")


def _float(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    # NaN would pass every range check (all its comparisons are false), and a policy's
    # NumericLessThan on it would never fire: a finite number or nothing.
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return ok or _type_error(value, path, errors, "a finite number")


def _boolean(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    return isinstance(value, bool) or _type_error(value, path, errors, "a boolean")


def _timestamp(value: Any, shape: Shape, path: str, errors: list[str]) -> bool:
    ok = isinstance(value, (dt.datetime, int, float)) and not isinstance(value, bool)
    return ok or _type_error(value, path, errors, "a timestamp")


def _join(path: str, name: str) -> str:
    return f"{path}.{_path_name(name)}" if path else _path_name(name)


_CHECKERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "blob": _blob,
    "integer": _integer,
    "long": _integer,
    "float": _float,
    "double": _float,
    "boolean": _boolean,
    "timestamp": _timestamp,
}
