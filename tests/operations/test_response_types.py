"""Each operation's response is typed with a ``<Operation>Response`` TypedDict beside it, whose
members are the model's output members typed with the shapes types-boto3-rekognition generates
from that model (the stubs' own ``<Operation>ResponseTypeDef`` adds botocore's client-side
``ResponseMetadata`` and makes every member required, which the wire does not promise)."""

from __future__ import annotations

import ast
import inspect
import re
import typing

import pytest
from types_boto3_rekognition import type_defs

from agnosco import spec
from agnosco.operations import REGISTRY

_BUILTIN_TYPES = {"bool", "dict", "float", "int", "list", "str"}


def _response_typeddict(operation: str) -> type:
    handler = REGISTRY[operation].handler
    annotation = inspect.signature(handler).return_annotation
    assert annotation == f"{operation}Response"  # (postponed annotations: a name)
    typed = getattr(inspect.getmodule(handler), annotation)
    assert typing.is_typeddict(typed)
    return typed  # type: ignore[no-any-return]


def _annotation_text(annotation: object) -> str:
    """An annotation as written (``ForwardRef('list[X]')`` -> ``list[X]``), NotRequired dropped."""
    text = annotation.__forward_arg__ if isinstance(annotation, typing.ForwardRef) else annotation
    assert isinstance(text, str)
    return re.sub(r"^NotRequired\[(.*)\]$", r"\1", text)


@pytest.mark.parametrize("operation", sorted(REGISTRY))
def test_the_response_typeddict_has_the_models_output_members(operation: str) -> None:
    typed = _response_typeddict(operation)
    shape = spec.service_model().operation_model(operation).output_shape
    members = set(shape.members) if shape is not None else set()
    assert set(typed.__annotations__) == members
    assert typed.__required_keys__ == frozenset()  # the wire may leave any member out


@pytest.mark.parametrize("operation", sorted(REGISTRY))
def test_each_member_is_typed_as_the_stubs_type_it(operation: str) -> None:
    ours = _response_typeddict(operation).__annotations__
    stubs = getattr(type_defs, f"{operation}ResponseTypeDef", None)
    theirs = {} if stubs is None else dict(stubs.__annotations__)
    assert theirs.pop("ResponseMetadata", None) is not None or stubs is None
    assert {k: _annotation_text(v) for k, v in ours.items()} == {
        k: _annotation_text(v) for k, v in theirs.items()
    }


def test_the_member_types_are_the_stubs_shapes() -> None:
    """The names in our annotations are imported from the stubs (not same-named types of ours)."""
    for operation in sorted(REGISTRY):
        typed = _response_typeddict(operation)
        tree = ast.parse(inspect.getsource(inspect.getmodule(typed)))  # type: ignore[arg-type]
        imported = {
            alias.asname or alias.name: node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        for member, annotation in typed.__annotations__.items():
            for name in re.findall(r"[A-Za-z_]\w*", _annotation_text(annotation)):
                if name in _BUILTIN_TYPES:
                    continue
                module = imported.get(name, "")
                assert module.startswith("types_boto3_rekognition.") or (name, module) == (
                    "datetime",
                    "datetime",
                ), (
                    operation,
                    member,
                    name,
                )
