"""Inputs that once answered 500 and left no audit record: each is the caller's 400, with the
right code, audited, for an allowed and for a refused principal alike; and what a record keeps
of a refused request is bounded, whatever the caller sends."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.governance.test_gate_e2e import agnosco
from tests.server.conftest import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    Server,
    signed_post,
    start_server,
)

FACE = "00000000-0000-4000-8000-000000000001"
S3_NAME = {"Bucket": "photos"}

# (operation, raw JSON body, error code)
CASES = [
    (
        "SearchFaces",
        f'{{"CollectionId":"c","FaceId":"{FACE}","FaceMatchThreshold":NaN}}',
        "SerializationException",
    ),
    (
        "SearchFaces",
        f'{{"CollectionId":"c","FaceId":"{FACE}","FaceMatchThreshold":-Infinity}}',
        "SerializationException",
    ),
    ("DescribeCollection", '{"CollectionId":Infinity}', "SerializationException"),
    ("DescribeCollection", '{"CollectionId":1e999}', "SerializationException"),
    ("DescribeCollection", '{"CollectionId":["c"]}', "InvalidParameterException"),
    ("DescribeCollection", '{"CollectionId":{"a":1}}', "InvalidParameterException"),
    ("DescribeCollection", '{"CollectionId":12}', "InvalidParameterException"),
    (
        "SearchFaces",
        f'{{"CollectionId":"c","FaceId":"{FACE}","FaceMatchThreshold":"high"}}',
        "InvalidParameterException",
    ),
    (
        "SearchFaces",
        f'{{"CollectionId":"c","FaceId":"{FACE}","FaceMatchThreshold":[99]}}',
        "InvalidParameterException",
    ),
    (
        "SearchFaces",
        f'{{"CollectionId":"c","FaceId":"{FACE}","MaxFaces":{{"n":1}}}}',
        "InvalidParameterException",
    ),
    ("ListFaces", '{"CollectionId":"c","MaxResults":null}', "InvalidParameterException"),
    ("CreateCollection", '{"CollectionId":"c2","Tags":null}', "InvalidParameterException"),
    (
        "DetectFaces",
        json.dumps({"Image": {"S3Object": S3_NAME | {"Name": "a\u0000b.jpg"}}}),
        "InvalidS3ObjectException",
    ),
    (
        "DetectFaces",
        json.dumps({"Image": {"S3Object": S3_NAME | {"Name": "n" * 300 + ".jpg"}}}),
        "InvalidS3ObjectException",
    ),
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("hostile")
    (root / "s3" / "photos").mkdir(parents=True)
    server = start_server(root / "data", root / "server.log", "--s3-dir", str(root / "s3"))
    try:
        agnosco("principals", "create", "nobody", "--data-dir", str(root / "data"))
        made = json.loads(
            agnosco(
                "keys",
                "create",
                "--principal",
                "nobody",
                "--json",
                "--data-dir",
                str(root / "data"),
            ).stdout
        )
        server.client().create_collection(CollectionId="c")
        yield (
            server,
            {
                "admin": (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
                "nobody": (made["AccessKeyId"], made["SecretAccessKey"]),
            },
        )
    finally:
        server.stop()


def _records(server: Server) -> list[dict[str, Any]]:
    with sqlite3.connect(Path(server.data_dir) / "audit.db") as db:
        return [json.loads(b) for (b,) in db.execute("SELECT body FROM audit_records ORDER BY seq")]


@pytest.mark.parametrize("who", ["admin", "nobody"])
@pytest.mark.parametrize(
    ("operation", "body", "code"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_a_hostile_value_is_a_400_and_audited(hostile, who, operation, body, code):  # type: ignore[no-untyped-def]
    server, keys = hostile
    # A malformed request is refused before authorization; a well-formed one that may not be
    # made is refused by policy; one that may be made fails in the operation.
    refused_first = code in ("SerializationException", "InvalidParameterException")
    expected = code if refused_first or who == "admin" else "AccessDeniedException"
    status, answer, request_id = signed_post(server, keys[who], operation, body.encode())
    assert (status, answer["__type"]) == (400, expected), answer
    (record,) = [
        r
        for r in _records(server)
        if r.get("request_id") == request_id and r.get("phase") != "intent"
    ]
    assert record["error"] == expected and record["operation"] == operation
    assert record["decision"] == ("Allow" if expected == code and not refused_first else "Deny")


def test_what_a_refused_request_leaves_in_the_log_is_bounded(hostile):  # type: ignore[no-untyped-def]
    """A 2 MB CollectionId from a key that may do nothing: once stored in three places."""
    server, keys = hostile
    huge = "a" * 2_000_000
    before = sum(len(json.dumps(r)) for r in _records(server))
    for operation, body in (
        ("DescribeCollection", {"CollectionId": huge}),
        ("DeleteFaces", {"CollectionId": "c", "FaceIds": [huge[:36]] * 50_000}),
        (
            "CreateCollection",
            {"CollectionId": "c3", "Tags": {f"k{i}": huge[:256] for i in range(5_000)}},
        ),
    ):
        status, answer, _ = signed_post(
            server, keys["nobody"], operation, json.dumps(body).encode()
        )
        assert status == 400 and answer["__type"] == "InvalidParameterException"
        assert len(answer["message"]) < 20_000
    grown = sum(len(json.dumps(r)) for r in _records(server)) - before
    assert grown < 30_000, grown


def test_access_denied_names_no_policy_and_echoes_no_more_than_the_model_allows(hostile):  # type: ignore[no-untyped-def]
    server, keys = hostile
    status, answer, _ = signed_post(
        server, keys["nobody"], "DescribeCollection", b'{"CollectionId":"c"}'
    )
    assert status == 400 and answer["__type"] == "AccessDeniedException"
    assert answer["message"] == (
        "User: nobody is not authorized to perform: rekognition:DescribeCollection on resource: "
        f"arn:aws:rekognition:{REGION}:000000000000:collection/c because no identity-based policy allows "
        "the rekognition:DescribeCollection action"
    )
