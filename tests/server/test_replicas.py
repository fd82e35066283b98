"""``agnosco serve`` replicas on one PostgreSQL database behave as one service.

The PostgreSQL server is the embedded one of the storage tests (``tests/storage/embedded.py``).
With ``--store postgresql://...`` the faces and all governance state (access keys, principals,
policies, reviews, the audit chain) are in the database, so replicas need no shared directory:
only the same master key (``AGNOSCO_MASTER_KEY``), which decrypts key secrets and signs
pagination tokens and the audit head.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError
from cryptography.fernet import Fernet

from tests.server.conftest import Server, start_server
from tests.storage.embedded import EmbeddedPostgres


@pytest.fixture
def store_url() -> Iterator[str]:
    server = EmbeddedPostgres()
    try:
        with server.database("replicas") as dsn:
            yield dsn
    finally:
        server.stop()


@pytest.mark.slow
def test_two_replicas_share_collections_and_faces_at_once(
    tmp_path: Path, deepface_images: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    servers: list[Server] = []
    try:
        one = start_server(data, tmp_path / "one.log", "--store", store_url)
        servers.append(one)
        monkeypatch.setenv("AGNOSCO_STORE", store_url)  # the other takes it from the environment
        two = start_server(data, tmp_path / "two.log")
        servers.append(two)
        first, second = one.client(), two.client()

        first.create_collection(CollectionId="shared")
        assert second.describe_collection(CollectionId="shared")["FaceCount"] == 0
        second.create_collection(CollectionId="shared-too")
        assert first.describe_collection(CollectionId="shared-too")["FaceCount"] == 0
        with pytest.raises(second.exceptions.ResourceAlreadyExistsException):
            second.create_collection(CollectionId="shared")

        face_id = first.index_faces(
            CollectionId="shared", Image={"Bytes": (deepface_images / "img1.jpg").read_bytes()}
        )["FaceRecords"][0]["Face"]["FaceId"]
        # Found at once through the other replica, from another photo of the same person.
        matches = second.search_faces_by_image(
            CollectionId="shared", Image={"Bytes": (deepface_images / "img2.jpg").read_bytes()}
        )["FaceMatches"]
        assert [m["Face"]["FaceId"] for m in matches] == [face_id]
        second.create_user(CollectionId="shared", UserId="alice")
        second.associate_faces(CollectionId="shared", UserId="alice", FaceIds=[face_id])
        assert first.list_faces(CollectionId="shared")["Faces"][0]["UserId"] == "alice"
        # A pagination token from one replica is good on the other (signed with the shared key).
        page = first.list_collections(MaxResults=1)
        assert page["CollectionIds"] == ["shared"]
        assert second.list_collections(NextToken=page["NextToken"])["CollectionIds"] == ["shared-too"]

        # The faces are in PostgreSQL, not in the data directory's SQLite file.
        with psycopg.connect(store_url) as conn:
            assert conn.execute("SELECT face_id, user_id FROM faces").fetchall() == [(face_id, "alice")]
        with sqlite3.connect(data / "agnosco.db") as db:
            assert db.execute("SELECT name FROM sqlite_master WHERE name = 'faces'").fetchall() == []

        # Restart the first replica the hard way: nothing acknowledged is lost.
        one.stop(signal.SIGKILL)
        one = start_server(data, tmp_path / "one.log", "--store", store_url)
        servers.append(one)
        first = one.client()
        described = first.describe_collection(CollectionId="shared")
        assert (described["FaceCount"], described["UserCount"]) == (1, 1)
        matches = first.search_faces_by_image(
            CollectionId="shared", Image={"Bytes": (deepface_images / "img2.jpg").read_bytes()}
        )["FaceMatches"]
        assert [(m["Face"]["FaceId"], m["Face"]["UserId"]) for m in matches] == [(face_id, "alice")]
        # And a delete through it is seen by the replica that kept running.
        first.delete_user(CollectionId="shared", UserId="alice")  # an associated face is not deleted
        assert first.delete_faces(CollectionId="shared", FaceIds=[face_id])["DeletedFaces"] == [face_id]
        assert second.describe_collection(CollectionId="shared")["FaceCount"] == 0
        assert second.search_faces_by_image(
            CollectionId="shared", Image={"Bytes": (deepface_images / "img2.jpg").read_bytes()}
        )["FaceMatches"] == []
    finally:
        for server in servers:
            server.stop()


def agnosco(*args: str) -> dict | list:
    """Run the CLI (as an operator on a third machine would) and parse its JSON output."""
    done = subprocess.run([sys.executable, "-m", "agnosco.cli.main", *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"agnosco {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip().startswith(("{", "[")) else {}


@pytest.mark.slow
def test_replicas_with_their_own_data_directories_share_keys_policies_and_one_audit_chain(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGNOSCO_MASTER_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("AGNOSCO_STORE", store_url)
    servers: list[Server] = []
    try:
        one = start_server(tmp_path / "one", tmp_path / "one.log")
        servers.append(one)
        two = start_server(tmp_path / "two", tmp_path / "two.log")
        servers.append(two)

        # An operator elsewhere (a third directory) creates a principal, its policy and its key.
        operator = ["--data-dir", str(tmp_path / "operator")]
        agnosco("principals", "create", "reader", *operator)
        agnosco("policies", "attach", "ReadOnly", "--principal", "reader", *operator)
        key = agnosco("keys", "create", "--principal", "reader", "--json", *operator)
        assert isinstance(key, dict)

        one.client().create_collection(CollectionId="c1")
        two.client().create_collection(CollectionId="c2")
        for server in (one, two):  # the key and its policy hold on both replicas
            reader = server.client(key["AccessKeyId"], key["SecretAccessKey"])
            assert sorted(reader.list_collections()["CollectionIds"]) == ["c1", "c2"]
            with pytest.raises(ClientError) as refused:
                reader.create_collection(CollectionId="nope")
            assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        page = one.client().list_collections(MaxResults=1)
        assert two.client().list_collections(NextToken=page["NextToken"])["CollectionIds"] == ["c2"]

        # Revoked once, refused by both (a server looks a key up again after at most a second).
        agnosco("keys", "revoke", key["AccessKeyId"], *operator)
        time.sleep(1.1)
        for server in (one, two):
            reader = server.client(key["AccessKeyId"], key["SecretAccessKey"])
            with pytest.raises(ClientError) as refused:
                reader.list_collections()
            assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"

        # One audit chain, written by both replicas and the CLI, verified from the third directory.
        report = subprocess.run([sys.executable, "-m", "agnosco.cli.main", "audit", "verify", *operator],
                                capture_output=True, text=True, timeout=120, check=False)
        assert report.returncode == 0, report.stdout + report.stderr
        exported = subprocess.run([sys.executable, "-m", "agnosco.cli.main", "audit", "export", *operator],
                                  capture_output=True, text=True, timeout=120, check=False).stdout
        records = [json.loads(line) for line in exported.splitlines()]
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        created = {r.get("parameters", {}).get("CollectionId") for r in records if r.get("operation") == "CreateCollection"}
        assert {"c1", "c2", "nope"} <= created
        for directory in ("one", "two", "operator"):  # nothing of the state is in the directories
            assert not (tmp_path / directory / "audit.db").exists()

        # A replica started with another master key refuses to start, saying why.
        monkeypatch.setenv("AGNOSCO_MASTER_KEY", Fernet.generate_key().decode())
        with pytest.raises(RuntimeError, match="AGNOSCO_MASTER_KEY is not the master key"):
            servers.append(start_server(tmp_path / "three", tmp_path / "three.log"))
    finally:
        for server in servers:
            server.stop()
