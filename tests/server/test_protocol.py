"""The wire protocol over raw HTTP: AWS JSON 1.1 errors, request ids, SigV4 refusals, access-key
revocation, unknown/unimplemented operations, body limits and concurrent requests."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

CONTENT_TYPE = "application/x-amz-json-1.1"
UUID_LENGTH = 36


@pytest.fixture(scope="module")
def rekognition(server):  # type: ignore[no-untyped-def]
    """This module tests the wire: its client talks to the real ``agnosco serve`` process."""
    return server.client()


def _admin(server) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """(access key id, secret, region) the session's server was started with (tests/server/conftest.py)."""
    conftest = sys.modules[type(server).__module__]
    return conftest.ACCESS_KEY_ID, conftest.SECRET_ACCESS_KEY, conftest.REGION


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


def _request(  # type: ignore[no-untyped-def]
    server,
    operation: str | None,
    body: bytes = b"{}",
    *,
    target: str | None = None,
    sign: bool = True,
    key: str | None = None,
    secret: str | None = None,
) -> AWSRequest:
    headers = {"Content-Type": CONTENT_TYPE}
    if target is not None or operation is not None:
        headers["X-Amz-Target"] = (
            target if target is not None else f"RekognitionService.{operation}"
        )
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers=headers)
    if sign:
        admin_key, admin_secret, region = _admin(server)
        SigV4Auth(
            Credentials(key or admin_key, secret or admin_secret), "rekognition", region
        ).add_auth(request)
    return request


def _send(request: AWSRequest, body: bytes | None = None) -> Reply:
    raw = urllib.request.Request(
        request.url,
        data=request.body if body is None else body,
        method=request.method,
        headers={k: v for k, v in request.headers.items()},
    )
    try:
        with urllib.request.urlopen(raw, timeout=60) as response:
            return Reply(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def _assert_error(reply: Reply, code: str, status: int = 400) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"] == CONTENT_TYPE
    assert reply.headers["x-amzn-errortype"] == code
    assert len(reply.headers["x-amzn-requestid"]) == UUID_LENGTH
    body = reply.json()
    assert set(body) == {"__type", "message", "Code", "Message", "Logref"}, body
    assert body["Code"] == body["__type"] == code and body["Message"] == body["message"]
    assert body["Logref"] == reply.headers["x-amzn-requestid"]
    assert body["__type"] == code
    assert isinstance(body["message"], str)
    return body


def _client_error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


# Request ids and the error format ---------------------------------------------------------


def test_every_response_carries_a_request_id(server):
    replies = [
        _send(_request(server, "ListCollections")),  # 200
        _send(
            _request(
                server,
                "DescribeCollection",
                json.dumps({"CollectionId": f"no-{uuid.uuid4().hex}"}).encode(),
            )
        ),
        _send(_request(server, "ListCollections", sign=False)),  # 403
        _send(
            _request(server, "DetectProtectiveEquipment", b'{"Image": {"Bytes": "AAAA"}}')
        ),  # 501
        _send(_request(server, "Frobnicate")),
    ]
    assert [r.status for r in replies] == [200, 400, 403, 501, 400]
    ids = [r.headers.get("x-amzn-requestid") for r in replies]
    assert all(i and len(i) == UUID_LENGTH for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert replies[0].headers["content-type"] == CONTENT_TYPE
    assert "CollectionIds" in replies[0].json()


def test_boto3_sees_the_request_id(server, rekognition):
    response = rekognition.list_collections()
    metadata = response["ResponseMetadata"]
    assert metadata["RequestId"] == metadata["HTTPHeaders"]["x-amzn-requestid"]
    assert len(metadata["RequestId"]) == UUID_LENGTH


def test_service_error_format(server):
    missing = f"no-{uuid.uuid4().hex}"
    reply = _send(
        _request(server, "DescribeCollection", json.dumps({"CollectionId": missing}).encode())
    )
    body = _assert_error(reply, "ResourceNotFoundException")
    assert missing in body["message"]


def test_validation_error_format(server):
    reply = _send(
        _request(server, "CreateCollection", json.dumps({"CollectionId": "bad/id"}).encode())
    )
    body = _assert_error(reply, "InvalidParameterException")
    assert "collectionId" in body["message"]


# SigV4 ------------------------------------------------------------------------------------


def test_unsigned_request(server):
    reply = _send(_request(server, "ListCollections", sign=False))
    _assert_error(reply, "MissingAuthenticationTokenException", status=403)


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 garbage",
        "Bearer abc.def.ghi",
        "AWS4-HMAC-SHA256 Credential=AKIAAGNOSCOTESTADMIN, SignedHeaders=host;x-amz-date, Signature="
        + "0" * 64,
        (
            "AWS4-HMAC-SHA256 Credential=AKIAAGNOSCOTESTADMIN/20240101/eu-west-1/rekognition/aws4_request, "
            "SignedHeaders=host;x-amz-date"
        ),
    ],
)
def test_malformed_authorization_header(server, authorization):
    request = _request(server, "ListCollections")
    request.headers.replace_header("Authorization", authorization)
    _assert_error(_send(request), "IncompleteSignatureException")


def test_unknown_access_key(server):
    client = server.client(key_id="AKIAUNKNOWNUNKNOWN00", secret="whatever")
    with pytest.raises(ClientError) as excinfo:
        client.list_collections()
    assert _client_error(excinfo)[:2] == ("UnrecognizedClientException", 400)


def test_wrong_secret(server):
    key_id, secret, _ = _admin(server)
    client = server.client(key_id=key_id, secret=secret + "-wrong")
    with pytest.raises(ClientError) as excinfo:
        client.list_collections()
    code, status, message = _client_error(excinfo)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert "signature" in message.lower()


def test_body_changed_after_signing(server):
    request = _request(server, "DescribeCollection", b'{"CollectionId": "signed"}')
    _assert_error(_send(request, body=b'{"CollectionId": "swapped"}'), "InvalidSignatureException")


def test_target_changed_after_signing(server):
    request = _request(server, "ListCollections")
    request.headers.replace_header("X-Amz-Target", "RekognitionService.DeleteCollection")
    _assert_error(_send(request), "InvalidSignatureException")


def _shift_signing_clock(monkeypatch: pytest.MonkeyPatch, delta: dt.timedelta) -> None:
    """Make botocore's SigV4 signer stamp requests ``delta`` away from now."""
    real_now = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda *a, **k: real_now(*a, **k) + delta
    )


@pytest.mark.parametrize(
    ("shift", "words"), [(-20, "Signature expired"), (20, "Signature not yet current")]
)
def test_signature_outside_the_time_window(server, monkeypatch, shift, words):
    _shift_signing_clock(monkeypatch, dt.timedelta(minutes=shift))
    client = server.client()
    with pytest.raises(ClientError) as excinfo:
        client.list_collections()
    code, status, message = _client_error(excinfo)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert message.startswith(words), message


def test_signature_a_little_off_is_accepted(server, monkeypatch):
    _shift_signing_clock(monkeypatch, dt.timedelta(minutes=-2))
    assert "CollectionIds" in server.client().list_collections()


def _agnosco(*args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, check=True)


def test_revoked_key_is_refused(server, rekognition):
    _agnosco("principals", "create", "revocable", "--data-dir", str(server.data_dir))
    _agnosco(
        "policies",
        "attach",
        "ReadOnly",
        "--principal",
        "revocable",
        "--data-dir",
        str(server.data_dir),
    )
    created = json.loads(
        _agnosco(
            "keys",
            "create",
            "--json",
            "--principal",
            "revocable",
            "--data-dir",
            str(server.data_dir),
        ).stdout
    )
    client = server.client(key_id=created["AccessKeyId"], secret=created["SecretAccessKey"])
    assert "CollectionIds" in client.list_collections()  # the new key works at once

    _agnosco("keys", "revoke", created["AccessKeyId"], "--data-dir", str(server.data_dir))
    revoked_at = time.monotonic()
    while True:
        try:
            client.list_collections()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "UnrecognizedClientException"
            break
        assert time.monotonic() - revoked_at < 2.5, "a revoked key was still accepted after 2.5 s"
        time.sleep(0.1)
    time.sleep(1.2)  # past any cache: still refused
    with pytest.raises(ClientError) as excinfo:
        client.list_collections()
    assert _client_error(excinfo)[0] == "UnrecognizedClientException"
    assert "CollectionIds" in rekognition.list_collections()  # other keys are unaffected


# Operations and bodies --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "RekognitionService.Frobnicate",
        "DynamoDB_20120810.ListTables",
        "RekognitionService.",
        "ListCollections",
        "",
    ],
)
def test_unknown_operation(server, target):
    reply = _send(_request(server, None, target=target))
    _assert_error(reply, "UnknownOperationException")


def test_missing_target(server):
    _assert_error(_send(_request(server, None)), "UnknownOperationException")


def test_unimplemented_operation(server, rekognition, read_image):
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_protective_equipment(Image={"Bytes": read_image("img12.jpg")})
    code, status, message = _client_error(excinfo)
    assert (code, status) == ("NotImplementedException", 501)
    assert "DetectProtectiveEquipment" in message


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        pytest.param("ListCollections", b"{not json", id="not-json"),
        pytest.param("ListCollections", b"[1, 2, 3]", id="array"),
        pytest.param("ListCollections", b"\xff\xfe\x00garbage", id="binary"),
        pytest.param(
            "IndexFaces",
            b'{"CollectionId": "c", "Image": {"Bytes": "!!! not base64 !!!"}}',
            id="bad-base64",
        ),
        pytest.param("ListCollections", b"[" * 100_000, id="deep-unclosed-array"),
        pytest.param("ListCollections", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="deep-object"),
    ],
)
def test_malformed_body(server, operation, body):
    _assert_error(_send(_request(server, operation, body)), "SerializationException")


def test_body_over_the_limit_via_boto3(server, rekognition, collection):
    # 5.5 MiB of bytes is ~7.3 MiB of base64 JSON: over the 7.1 MiB the server reads.
    image = b"\xff\xd8\xff" + os.urandom(int(5.5 * 1024 * 1024))
    with pytest.raises(ClientError) as excinfo:
        rekognition.index_faces(CollectionId=collection, Image={"Bytes": image})
    assert _client_error(excinfo)[:2] == ("ImageTooLargeException", 400)
    assert server.process.poll() is None
    assert collection in rekognition.list_collections(MaxResults=4096)["CollectionIds"]
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == 0


def _chunked_post(server, size: int) -> bytes:  # type: ignore[no-untyped-def]
    """POST a body of ``size`` bytes with Transfer-Encoding: chunked (no Content-Length)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: RekognitionService.ListCollections\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        chunk = b"A" * (256 * 1024)
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and stop reading early
        reply = b""
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            reply += data
        return reply


def test_chunked_body_over_the_limit(server, rekognition):
    reply = _chunked_post(server, 8 * 1024 * 1024)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"x-amzn-requestid:" in head.lower()
    assert json.loads(body)["__type"] == "ImageTooLargeException"
    assert server.process.poll() is None
    assert "CollectionIds" in rekognition.list_collections()


def test_concurrent_requests_while_indexing(server, collection, read_image):
    clients = [server.client() for _ in range(9)]
    image = read_image("selfie-many-people.jpg")
    index_done = threading.Event()
    index_started = threading.Event()
    results: dict[str, Any] = {"lists": [], "errors": [], "overlapping": 0}
    lock = threading.Lock()

    def index() -> None:
        index_started.set()
        try:
            response = clients[0].index_faces(CollectionId=collection, Image={"Bytes": image})
            with lock:
                results["index"] = response
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                results["errors"].append(exc)
        finally:
            index_done.set()

    def lister(client: Any) -> None:
        index_started.wait()
        calls = 0
        while calls < 3 or (not index_done.is_set() and calls < 200):
            try:
                response = client.list_collections()
                done_before_index = not index_done.is_set()
                with lock:
                    results["lists"].append(response["ResponseMetadata"]["HTTPStatusCode"])
                    results["overlapping"] += done_before_index
            except Exception as exc:  # noqa: BLE001 - reported below
                with lock:
                    results["errors"].append(exc)
            calls += 1

    threads = [threading.Thread(target=index)] + [
        threading.Thread(target=lister, args=(c,)) for c in clients[1:]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert results["errors"] == []
    assert len(results["lists"]) >= 8 * 3 and set(results["lists"]) == {200}
    assert len(results["index"]["FaceRecords"]) >= 2
    assert results["overlapping"] >= 1, "no ListCollections completed while IndexFaces was running"
