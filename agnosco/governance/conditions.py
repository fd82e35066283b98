"""IAM Condition operators, evaluated fail-closed.

Supported: the String (Equals, NotEquals, EqualsIgnoreCase, NotEqualsIgnoreCase, Like,
NotLike), Numeric (Equals, NotEquals, LessThan, LessThanEquals, GreaterThan,
GreaterThanEquals), Bool and Null operators, each optionally with the ``IfExists`` suffix
and the ``ForAnyValue:`` / ``ForAllValues:`` set prefixes.  Semantics follow IAM: several
values for one key are ORed, several keys and operators are ANDed; a missing key fails every
operator except ``Null`` and the ``...IfExists`` forms; a negated operator on a missing key
matches.  An operator Agnosco does not know is rejected when a policy is stored
(:func:`check_operator`) and, should one ever be evaluated, raises :class:`UnknownOperator`
so that the caller can fail closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

_STRING: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda a, b: a == b,
    "StringNotEquals": lambda a, b: a == b,
    "StringEqualsIgnoreCase": lambda a, b: a.lower() == b.lower(),
    "StringNotEqualsIgnoreCase": lambda a, b: a.lower() == b.lower(),
    "StringLike": lambda a, b: _like(a, b),
    "StringNotLike": lambda a, b: _like(a, b),
}
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a == b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals"}
BASE_OPERATORS = set(_STRING) | set(_NUMERIC) | {"Bool", "Null"}


class UnknownOperator(ValueError):
    pass


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: ``*`` any run (also empty), ``?`` one character; everything else literal.

    No backtracking: the pattern is cut at its stars into literal segments (``?`` matching any
    one character); the first segment must start the value, the last must end it, and each
    one between is matched at its leftmost place after the previous one.  Taking the leftmost
    place is always right (a later one leaves less room for the rest), so the match costs at
    most ``len(value) * len(pattern)`` character comparisons, whatever the number of stars: a
    hostile pattern cannot hold a worker (a backtracking regex took minutes on
    ``*a*a*a*a*a*a*b`` against 200 characters).
    """
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    segments = pattern.split("*")
    if len(segments) == 1:
        return len(value) == len(pattern) and _segment_at(pattern, value, 0)
    first, *middle, last = segments
    if len(first) + len(last) > len(value):
        return False
    if not _segment_at(first, value, 0) or not _segment_at(last, value, len(value) - len(last)):
        return False
    position, end = len(first), len(value) - len(last)
    for segment in middle:
        found = _find_segment(segment, value, position, end)
        if found < 0:
            return False
        position = found + len(segment)
    return True


def _segment_at(segment: str, value: str, start: int) -> bool:
    """Does ``segment`` (literal but for ``?``) match ``value`` at ``start``?"""
    if "?" not in segment:
        return value.startswith(segment, start)
    return start + len(segment) <= len(value) and all(
        c == "?" or c == value[start + i] for i, c in enumerate(segment)
    )


def _find_segment(segment: str, value: str, start: int, end: int) -> int:
    """The leftmost index >= ``start`` where ``segment`` matches inside ``value[:end]``, or -1."""
    if "?" not in segment:
        return value.find(segment, start, end)
    for i in range(start, end - len(segment) + 1):
        if _segment_at(segment, value, i):
            return i
    return -1


def _like(value: str, pattern: str) -> bool:
    return wildcard_match(pattern, value)


class Operator(NamedTuple):
    """A Condition operator name, parsed: ``ForAnyValue:StringLikeIfExists`` is set prefix
    ``ForAnyValue``, base ``StringLike``, if_exists True."""

    set_prefix: str | None
    base: str
    if_exists: bool


def split_operator(name: str) -> Operator:
    """The parts of a Condition operator name."""
    prefix = None
    for candidate in ("ForAnyValue:", "ForAllValues:"):
        if name.startswith(candidate):
            prefix, name = candidate[:-1], name[len(candidate) :]
            break
    if_exists = name.endswith("IfExists") and name != "IfExists"
    if if_exists:
        name = name[: -len("IfExists")]
    return Operator(prefix, name, if_exists)


def check_operator(name: str) -> None:
    """:raises UnknownOperator: for an operator Agnosco does not evaluate."""
    prefix, base, if_exists = split_operator(name)
    if base not in BASE_OPERATORS or (base == "Null" and (if_exists or prefix)):
        raise UnknownOperator(f"unsupported Condition operator {name!r}")


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _as_string(value: Any) -> str:
    """A key's value as IAM renders it for the String operators: booleans as ``true`` and
    ``false`` (Python's ``True`` would never equal a policy's ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _single(base: str, actual: Any, expected: Any) -> bool:
    """Does one actual value satisfy one expected value (before negation)?"""
    if base in _STRING:
        return _STRING[base](_as_string(actual), _as_string(expected))
    if base in _NUMERIC:
        try:
            return _NUMERIC[base](float(actual), float(expected))
        except (TypeError, ValueError):
            return False
    if base == "Bool":
        return str(actual).lower() == str(expected).lower()
    raise UnknownOperator(base)


def operator_matches(name: str, key_values: dict[str, Any], context: dict[str, Any]) -> bool:
    """Does the block ``{name: {key: values}}`` hold in ``context``?

    Condition key names are case-insensitive, as in IAM.
    """
    prefix, base, if_exists = split_operator(name)
    check_operator(name)
    context = {k.lower(): v for k, v in context.items()}
    for key, expected in key_values.items():
        actual = context.get(key.lower())
        present = actual is not None
        if base == "Null":
            wanted_missing = str(_values(expected)[0]).lower() == "true"
            if present == wanted_missing:
                return False
            continue
        if not present:
            # IAM: a missing key satisfies IfExists, negated operators and ForAllValues (vacuous truth).
            if if_exists or base in _NEGATED or prefix == "ForAllValues":
                continue
            return False
        actual_values = _values(actual)
        expected_values = _values(expected)

        def any_expected(value: Any, expected_values: list[Any] = expected_values) -> bool:
            return any(_single(base, value, e) for e in expected_values)

        if base in _NEGATED:
            # "Not equal to any listed value", per value; then the set prefix combines the values.
            holds = [not any_expected(a) for a in actual_values]
        else:
            holds = [any_expected(a) for a in actual_values]
        hit = (
            all(holds)
            if prefix == "ForAllValues" or (base in _NEGATED and prefix is None)
            else any(holds)
        )
        if not hit:
            return False
    return True


def condition_matches(condition: dict[str, dict[str, Any]], context: dict[str, Any]) -> bool:
    """Every operator block of a statement's Condition holds (an empty Condition holds)."""
    return all(operator_matches(name, block, context) for name, block in condition.items())
