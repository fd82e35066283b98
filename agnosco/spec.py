"""botocore's service models: the single source of truth for the API's shapes.

Loaded once from the installed botocore (``botocore/data/rekognition/*/service-2.json``, and
``botocore/data/sts/*/service-2.json`` for the STS operations served beside it).
:func:`validate` checks a parameter dict against any shape, input or output, with
Agnosco's validator of the model's constraints, so no copy of the schema lives in Agnosco.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape

from agnosco.errors import ImageTooLargeException, InvalidParameterException, ValidationError
from agnosco.validation import violations

SERVICE = "rekognition"
#: The Security Token Service, whose temporary-credential operations are served too.
STS = "sts"


@cache
def service_model(service: str = SERVICE) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def input_shape_name(operation: str, service: str = SERVICE) -> str:
    """The name of ``operation``'s input shape (every Rekognition and STS operation has one)."""
    shape = service_model(service).operation_model(operation).input_shape
    if shape is None:
        raise KeyError(f"{operation} has no input shape")
    return str(shape.name)


def shape(name: str, service: str = SERVICE) -> Shape:
    return service_model(service).shape_for(name)


#: Violations spelt out in one error message (a 4,096-element list can break each element).
MAX_REPORTED_VIOLATIONS = 10


def validate(params: dict[str, Any], shape_name: str, service: str = SERVICE) -> None:
    """Check ``params`` against the model's shape ``shape_name``.

    :raises ImageTooLargeException: when the only violations are oversized blobs (images),
        the error Rekognition gives for them.
    :raises InvalidParameterException: listing the violations (the first ten), worded as AWS words them.
    :raises ValidationError: the same, for an STS shape (STS's code for it).
    """
    validate_shape(params, shape(shape_name, service), service)


@cache
def extended_shape(name: str, shapes_json: str) -> Shape:
    """Shape ``name`` of ``shapes_json`` (botocore's JSON form of shapes), which may refer to the
    model's own shapes by name: the input shape of an Agnosco operation beyond the model."""
    import json

    from botocore.model import ShapeResolver

    data = botocore.session.get_session().get_service_data(SERVICE)
    return ShapeResolver({**data["shapes"], **json.loads(shapes_json)}).get_shape_by_name(name)


def validate_shape(params: dict[str, Any], checked: Shape, service: str = SERVICE) -> None:
    """:func:`validate` against a shape already resolved (:func:`extended_shape`)."""
    errors = violations(params, checked)
    if errors and service == SERVICE and all(getattr(e, "too_large", False) for e in errors):
        raise ImageTooLargeException("; ".join(errors))
    if errors:
        count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected"
        shown = "; ".join(errors[:MAX_REPORTED_VIOLATIONS])
        more = len(errors) - MAX_REPORTED_VIOLATIONS
        message = f"{count}: {shown}" + (f"; and {more} more" if more > 0 else "")
        raise InvalidParameterException(message) if service == SERVICE else ValidationError(message)
