"""Fuzzing the request parser and the gate through a real server, with a fixed seed and a
bounded number of cases: no 5xx but a modelled fault, and every authenticated call audited.

Bodies are drawn per operation from its input shape in botocore's model, with every member
sometimes of the wrong type, null, huge, non-finite or nested, plus unknown members; half are
signed by the admin, half by a principal no policy allows anything.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agnosco import spec
from agnosco.operations import OPERATIONS
from tests.governance.test_gate_e2e import agnosco
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, signed_post

OPERATION_NAMES = sorted(OPERATIONS)
#: 5xx codes the model declares as faults a client must expect (and retry).
MODELLED_FAULTS = {"ThrottlingException"}

_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(min_size=300, max_size=400),
    st.just("\u0000"),
    st.lists(st.text(max_size=5), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _value(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if depth > 3:
        return _junk
    if kind == "structure":
        members = {name: _value(member, depth + 1) for name, member in shape.members.items()}
        return st.fixed_dictionaries({}, optional=members) | _junk
    if kind == "list":
        return st.lists(_value(shape.member, depth + 1), max_size=3) | _junk
    if kind == "map":
        return (
            st.dictionaries(st.text(max_size=8), _value(shape.value, depth + 1), max_size=3) | _junk
        )
    if kind == "string":
        enum = shape.enum or []
        return (st.sampled_from(enum) if enum else st.text(max_size=30)) | _junk
    if kind in ("integer", "long"):
        return st.integers(-5, 5000) | _junk
    if kind in ("float", "double"):
        return st.floats(-10, 200, allow_nan=False) | _junk
    if kind == "boolean":
        return st.booleans() | _junk
    if kind == "blob":
        return (
            st.binary(max_size=64).map(lambda b: __import__("base64").b64encode(b).decode()) | _junk
        )
    return _junk


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes]:
    operation = draw(st.sampled_from(OPERATION_NAMES))
    shape = spec.service_model().operation_model(operation).input_shape
    body = draw(_value(shape).filter(lambda v: isinstance(v, dict)))
    if draw(st.booleans()):
        body[draw(st.text(min_size=1, max_size=10))] = draw(_junk)
    raw = json.dumps(body)
    tweak = draw(st.sampled_from(["", "nan", "inf", "cut", "deep"]))
    if tweak == "nan" and ":" in raw:
        raw = raw.replace(":", ': NaN, "x":', 1)
    elif tweak == "inf":
        raw = raw[:-1] + (', "Big": 1e999}' if len(raw) > 2 else '"Big": 1e999}')
    elif tweak == "cut":
        raw = raw[: len(raw) // 2]
    elif tweak == "deep":
        raw = "[" * 200 + "]" * 200
    return operation, raw.encode()


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, tuple[str, str]]:
    agnosco("principals", "create", "fuzz-nobody", "--data-dir", str(server.data_dir))
    made = json.loads(
        agnosco(
            "keys",
            "create",
            "--principal",
            "fuzz-nobody",
            "--json",
            "--data-dir",
            str(server.data_dir),
        ).stdout
    )
    return {
        "admin": (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
        "nobody": (made["AccessKeyId"], made["SecretAccessKey"]),
    }


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(case=requests(), who=st.sampled_from(["admin", "nobody"]))
def test_fuzzed_requests(
    server: Server, keys: dict[str, tuple[str, str]], case: tuple[str, bytes], who: str
) -> None:
    operation, body = case
    status, answer, request_id = signed_post(server, keys[who], operation, body)
    code = answer.get("__type", "ok") if isinstance(answer, dict) else "ok"
    assert status < 500 or code in MODELLED_FAULTS or status == 501, (
        operation,
        body[:300],
        status,
        code,
    )
    with sqlite3.connect(Path(server.data_dir) / "audit.db") as db:
        rows = db.execute("SELECT body FROM audit_records ORDER BY seq DESC LIMIT 5").fetchall()
    records = [json.loads(b) for (b,) in rows]
    assert any(r.get("request_id") == request_id for r in records), (
        operation,
        code,
        "no audit record",
    )
