"""Each operation's request is typed with the TypedDict that types-boto3-rekognition generates
from botocore's model; the pinned stubs must describe the same model as the installed botocore,
member for member, or mypy would check the operations against another API."""

from __future__ import annotations

import inspect
import typing

import pytest
from types_boto3_rekognition import type_defs

from agnosco import spec
from agnosco.operations import REGISTRY


@pytest.mark.parametrize("operation", sorted(REGISTRY))
def test_the_request_typeddict_is_the_models_input_shape(operation: str) -> None:
    typed = getattr(type_defs, f"{operation}RequestTypeDef")
    shape = spec.service_model().operation_model(operation).input_shape
    assert shape is not None
    assert set(typed.__annotations__) == set(shape.members)
    # (the stubs postpone their annotations, so NotRequired[...] is read from its text)
    required = {k for k, v in typed.__annotations__.items() if "NotRequired[" not in str(v)}
    assert required == set(shape.required_members)


@pytest.mark.parametrize("operation", sorted(REGISTRY))
def test_the_operation_takes_it(operation: str) -> None:
    handler = REGISTRY[operation].handler
    annotation = inspect.signature(handler).parameters["request"].annotation
    assert annotation == f"{operation}RequestTypeDef"  # (postponed annotations: a name)
    assert typing.get_type_hints(handler, vars(type_defs) | vars(inspect.getmodule(handler)))[
        "request"
    ] is getattr(type_defs, f"{operation}RequestTypeDef")
