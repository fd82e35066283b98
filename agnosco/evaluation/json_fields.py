"""Reading a stored evaluation report's JSON one typed field at a time.

The report's records (:mod:`.metrics`, :mod:`.report`) read themselves through
:class:`JsonFields`: every accessor checks the field's type and names the field when it is wrong,
so a damaged or foreign file fails with a message rather than yielding a wrong number.

A value that could not be measured is ``null``.  Reports written before that said so with the
strings ``"nan"`` (``"inf"`` for an unbounded ratio) and left out the verification's ``det``,
``eer`` and ``auc`` and a target's ``fnmr`` when they had none; :meth:`JsonFields.measured` and
the ``..._or_omitted`` accessors read those forms as what they meant.
"""

from __future__ import annotations

import math

#: What a record's ``to_json`` returns: an object of JSON values, as ``json.dumps`` writes it.
JsonObject = dict[str, object]

#: The strings reports written before ``null`` stood in for non-finite floats.
OLDER_NON_FINITE: dict[str, float | None] = {"nan": None, "inf": math.inf, "-inf": -math.inf}


class ReportFormatError(ValueError):
    """A stored report does not have the fields, or the types, its records read."""


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReportFormatError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _measured(value: object, where: str) -> float | None:
    """A number, or None for ``null`` and the strings and NaN older writers used."""
    if value is None:
        return None
    if isinstance(value, str) and value in OLDER_NON_FINITE:
        return OLDER_NON_FINITE[value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return value
    return _number(value, where)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ReportFormatError(f"{where}: expected a string, got {_kind(value)}")
    return value


def _integer(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportFormatError(f"{where}: expected an integer, got {value!r}")
    return value


def _array(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise ReportFormatError(f"{where}: expected an array, got {_kind(value)}")
    return value


class JsonFields:
    """One JSON object of a report; ``where`` names it in errors (``report.verification``)."""

    def __init__(self, value: object, where: str = "report") -> None:
        if not isinstance(value, dict):
            raise ReportFormatError(f"{where}: expected an object, got {_kind(value)}")
        self._fields: dict[str, object] = value
        self.where = where

    def names(self) -> list[str]:
        """The object's field names, in the file's order."""
        return list(self._fields)

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}"

    def _get(self, key: str) -> object:
        if key not in self._fields:
            raise ReportFormatError(f"{self._at(key)}: missing")
        return self._fields[key]

    def text(self, key: str) -> str:
        return _text(self._get(key), self._at(key))

    def optional_text(self, key: str) -> str | None:
        value = self._get(key)
        return None if value is None else _text(value, self._at(key))

    def integer(self, key: str) -> int:
        return _integer(self._get(key), self._at(key))

    def number(self, key: str) -> float:
        """A value that is always measured: a finite number."""
        return _number(self._get(key), self._at(key))

    def measured(self, key: str) -> float | None:
        """A number, or None where it could not be measured (``null``; ``"nan"`` in older
        reports, whose ``"inf"``/``"-inf"`` become infinities)."""
        return _measured(self._get(key), self._at(key))

    def measured_or_omitted(self, key: str) -> float | None:
        """As :meth:`measured`, and None when older reports left the field out."""
        return self.measured(key) if key in self._fields else None

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise ReportFormatError(f"{self._at(key)}: expected true or false, got {value!r}")
        return value

    def boolean_or_omitted(self, key: str) -> bool:
        """As :meth:`boolean`, and False when older reports left the field out."""
        return self.boolean(key) if key in self._fields else False

    def texts(self, key: str) -> tuple[str, ...]:
        at = self._at(key)
        return tuple(_text(v, f"{at}[{i}]") for i, v in enumerate(_array(self._get(key), at)))

    def numbers(self, key: str) -> tuple[float, ...]:
        at = self._at(key)
        return tuple(_number(v, f"{at}[{i}]") for i, v in enumerate(_array(self._get(key), at)))

    def measured_numbers(self, key: str) -> tuple[float | None, ...]:
        at = self._at(key)
        return tuple(_measured(v, f"{at}[{i}]") for i, v in enumerate(_array(self._get(key), at)))

    def nested(self, key: str) -> JsonFields:
        return JsonFields(self._get(key), self._at(key))

    def nested_or_none(self, key: str) -> JsonFields | None:
        """The object at ``key``; None for ``null`` or, in older reports, a left-out field."""
        value = self._fields.get(key)
        return None if value is None else JsonFields(value, self._at(key))

    def each(self, key: str) -> list[JsonFields]:
        """The objects of the array at ``key``."""
        at = self._at(key)
        return [JsonFields(v, f"{at}[{i}]") for i, v in enumerate(_array(self._get(key), at))]

    def by_name(self, key: str) -> dict[str, JsonFields]:
        """The object at ``key`` as name -> nested object."""
        inner = self.nested(key)
        return {name: inner.nested(name) for name in inner.names()}

    def integers_by_name(self, key: str) -> dict[str, int]:
        """The object at ``key`` as name -> integer."""
        inner = self.nested(key)
        return {name: inner.integer(name) for name in inner.names()}
