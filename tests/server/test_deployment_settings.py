"""What a deployer sets, and what a caller cannot: forwarded client addresses, the admin key
from the environment, idle connections."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.governance.test_gate_e2e import agnosco
from tests.server.conftest import ACCESS_KEY_ID, Server, start_server


def _sources(server: Server) -> list[Any]:
    with sqlite3.connect(Path(server.data_dir) / "audit.db") as db:
        return [
            json.loads(b).get("source")
            for (b,) in db.execute("SELECT body FROM audit_records ORDER BY seq")
        ]


def _forwarded_call(server: Server) -> None:
    client = server.client()

    def forge(request, **kwargs):  # type: ignore[no-untyped-def]
        request.headers["X-Forwarded-For"] = "203.0.113.7"

    client.meta.events.register("before-send.rekognition.*", forge)
    client.list_collections()


def test_forwarded_for_is_not_believed_unless_the_proxy_is_trusted(tmp_path: Path) -> None:
    """aws:SourceIp and the audit record's source: the peer's address, whatever a header says."""
    server = start_server(tmp_path / "a", tmp_path / "a.log")
    try:
        _forwarded_call(server)
        assert _sources(server)[-1] == "127.0.0.1"
    finally:
        server.stop()
    trusted = start_server(tmp_path / "b", tmp_path / "b.log", "--trusted-proxy", "127.0.0.1")
    try:
        _forwarded_call(trusted)
        assert _sources(trusted)[-1] == "203.0.113.7"
    finally:
        trusted.stop()


def test_a_revoked_admin_key_does_not_come_back_from_the_environment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, tmp_path / "1.log")
    server.client().list_collections()
    server.stop()
    agnosco("keys", "revoke", ACCESS_KEY_ID, "--data-dir", str(data))
    again = start_server(data, tmp_path / "2.log")  # AGNOSCO_ACCESS_KEY_ID is still set
    try:
        with pytest.raises(ClientError) as excinfo:
            again.client().list_collections()
        assert excinfo.value.response["Error"]["Code"] == "UnrecognizedClientException"
    finally:
        again.stop()
    assert "was revoked; it is not restored" in (tmp_path / "2.log").read_text()


@pytest.mark.slow  # it must wait past uvicorn's default keep-alive (7 s of sleep)
def test_an_idle_connection_is_kept_for_a_pooled_client(tmp_path: Path) -> None:
    """SDKs reuse pooled connections after idle seconds; one closed under them is a broken pipe."""
    server = start_server(tmp_path / "data", tmp_path / "s.log")
    try:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            request = f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            conn.sendall(request)
            assert _response(conn).startswith(b"HTTP/1.1 200")
            time.sleep(7)  # past uvicorn's default keep-alive of 5 s
            conn.sendall(request)
            assert _response(conn).startswith(b"HTTP/1.1 200")
    finally:
        server.stop()


def _response(conn: socket.socket) -> bytes:
    """One whole HTTP response read from ``conn`` (b"" if the server closed it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _audited(server: Server) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(Path(server.data_dir) / "audit.db") as db:
        records = [
            json.loads(b) for (b,) in db.execute("SELECT body FROM audit_records ORDER BY seq")
        ]
    return {
        r["request_id"]: r for r in records if r.get("request_id") and r.get("phase") != "intent"
    }


def _outcome(call: Any) -> tuple[str, str]:
    """("ok" or the error code, the request id) of one boto3 call."""
    try:
        return "ok", call()["ResponseMetadata"]["RequestId"]
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["RequestId"]


def _assert_audited(server: Server, outcomes: list[tuple[str, str]]) -> None:
    """Every answered call has its record, and the record's error is the answer's."""
    audited = _audited(server)
    for code, request_id in outcomes:
        assert audited[request_id].get("error") == (None if code == "ok" else code)


def test_a_full_model_queue_throttles_image_calls_but_not_cheap_ones(
    tmp_path: Path, deepface_images: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server = start_server(
        tmp_path / "data", tmp_path / "s.log", "--model-workers", "1", "--model-queue", "1"
    )
    image = {"Bytes": (deepface_images / "couple.jpg").read_bytes()}
    try:
        server.client().create_collection(CollectionId="c")

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(
                pool.map(
                    lambda _: _outcome(lambda: server.client().detect_faces(Image=image)), range(8)
                )
            )
            described = server.client().describe_collection(
                CollectionId="c"
            )  # meanwhile: not queued
        assert described["FaceCount"] == 0
        codes = [code for code, _ in outcomes]
        assert "ok" in codes and "ThrottlingException" in codes, codes
        assert set(codes) <= {"ok", "ThrottlingException"}
        _assert_audited(server, outcomes)
    finally:
        server.stop()


def test_an_access_key_over_its_rate_limit_is_refused_and_audited(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data", tmp_path / "s.log", "--rate-limit", "0.01", "--rate-burst", "2"
    )
    try:
        codes = [_outcome(server.client().list_collections) for _ in range(5)]
        assert [c for c, _ in codes][:2] == ["ok", "ok"]
        assert "ProvisionedThroughputExceededException" in [c for c, _ in codes[2:]]
        _assert_audited(server, codes)
    finally:
        server.stop()


def test_the_first_admin_secret_goes_to_a_private_file_not_to_the_log(tmp_path: Path) -> None:
    import os
    import stat

    data = tmp_path / "data"
    server = start_server(
        data, tmp_path / "s.log", env={"AGNOSCO_ACCESS_KEY_ID": "", "AGNOSCO_SECRET_ACCESS_KEY": ""}
    )
    try:
        saved = json.loads((data / "admin-key.json").read_text())
        assert stat.S_IMODE(os.stat(data / "admin-key.json").st_mode) == 0o600
        client = server.client(saved["AccessKeyId"], saved["SecretAccessKey"])
        assert client.list_collections()["CollectionIds"] == []
    finally:
        server.stop()
    log = (tmp_path / "s.log").read_text()
    assert saved["AccessKeyId"] in log and saved["SecretAccessKey"] not in log
    assert "admin-key.json" in log


def test_a_half_sent_request_is_abandoned(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", tmp_path / "s.log", "--body-timeout", "1")
    try:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(
                f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000\r\n"
                'Content-Type: application/x-amz-json-1.1\r\n\r\n{"Collec'.encode()
            )
            answer = _response(conn)  # the server answers without the rest
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"RequestTimeoutException" in answer
        assert server.client().list_collections()["CollectionIds"] == []  # and serves on
    finally:
        server.stop()


def test_idle_connections_beyond_the_limit_cannot_exhaust_the_server(tmp_path: Path) -> None:
    """3,000 connections that send nothing were all held; beyond MAX_CONNECTIONS new requests are
    answered 503 at once, and the server serves again when they go."""
    from agnosco.server.run import MAX_CONNECTIONS

    server = start_server(tmp_path / "data", tmp_path / "s.log")
    host, port = server.url.removeprefix("http://").split(":")
    idle: list[socket.socket] = []
    try:
        for _ in range(MAX_CONNECTIONS + 5):
            idle.append(socket.create_connection((host, int(port)), timeout=10))
        deadline = time.monotonic() + 60  # until the server has accepted them all
        while True:
            with socket.create_connection((host, int(port)), timeout=30) as conn:
                conn.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                answer = _response(conn)
            if answer.startswith(b"HTTP/1.1 503") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
        for s in idle:
            s.close()
        idle.clear()
        deadline = time.monotonic() + 60
        while True:
            try:
                assert server.client().list_collections()["CollectionIds"] == []
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        for s in idle:
            s.close()
        server.stop()


@pytest.mark.slow  # seconds of waiting for the header deadline and past it
@pytest.mark.parametrize(
    "sent", [b"", b"GET /health HTTP/1.1\r\nHo"], ids=["nothing", "half the headers"]
)
def test_a_connection_without_a_whole_request_is_closed(tmp_path: Path, sent: bytes) -> None:
    """An idle new connection, or headers trickling in, was held for ever (slowloris)."""
    server = start_server(tmp_path / "data", tmp_path / "s.log", "--header-timeout", "1")
    try:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(sent)
            assert (
                conn.recv(4096) == b""
            )  # closed by the server, well before the 30 s socket timeout
        with socket.create_connection(
            (host, int(port)), timeout=30
        ) as conn:  # a whole request is served
            conn.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert _response(conn).startswith(b"HTTP/1.1 200")
            time.sleep(
                2
            )  # after a response, the keep-alive window applies, not the header deadline
            conn.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert _response(conn).startswith(b"HTTP/1.1 200")
    finally:
        server.stop()
