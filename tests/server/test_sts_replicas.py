"""Temporary credentials across ``agnosco serve`` replicas on one PostgreSQL database: a session
one replica issues is accepted by the other, and a role deleted from the command line (against
the database, from a third directory) ends its sessions on both."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from cryptography.fernet import Fernet

from tests.server.conftest import REGION, Server, start_server
from tests.server.test_replicas import agnosco, eventually_refused

MASTER_KEY = Fernet.generate_key().decode()
ROLE = "arn:aws:iam::000000000000:role/Replicated"


def client(server: Server, service: str, key: str, secret: str, token: str | None = None):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.mark.slow
def test_a_session_issued_by_one_replica_works_on_the_other(
    tmp_path: Path, postgres_dsn: str
) -> None:
    shared = {"AGNOSCO_MASTER_KEY": MASTER_KEY, "AGNOSCO_STORE": postgres_dsn}
    servers: list[Server] = []
    try:
        servers.append(start_server(tmp_path / "one", tmp_path / "one.log", env=shared))
        servers.append(start_server(tmp_path / "two", tmp_path / "two.log", env=shared))
        one, two = servers
        operator = shared | {"AGNOSCO_DATA_DIR": str(tmp_path / "operator")}
        agnosco("principals", "create", "finder", env=operator)
        created = agnosco("keys", "create", "--principal", "finder", "--json", env=operator)
        key = json.loads(created.stdout)
        agnosco(
            "roles",
            "create",
            "Replicated",
            "--trust",
            "finder",
            "--policy",
            "ReadOnly",
            env=operator,
        )

        sts = client(one, "sts", key["AccessKeyId"], key["SecretAccessKey"])
        credentials = sts.assume_role(RoleArn=ROLE, RoleSessionName="on-one")["Credentials"]
        temporary = (
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )
        on_two = client(two, "rekognition", *temporary)
        assert "CollectionIds" in on_two.list_collections()
        identity = client(two, "sts", *temporary).get_caller_identity()
        assert identity["Arn"].endswith(":assumed-role/Replicated/on-one")
        on_one = client(one, "rekognition", *temporary)

        agnosco("roles", "delete", "Replicated", env=operator)
        eventually_refused(on_one.list_collections, "UnrecognizedClientException")
        eventually_refused(on_two.list_collections, "UnrecognizedClientException")

        # both replicas' records are in the one chain, naming the session
        exported = agnosco("audit", "export", env=operator).stdout.splitlines()
        records = [json.loads(line) for line in exported if line.startswith("{")]
        assert any(
            r.get("operation") == "ListCollections"
            and r.get("session", {}).get("session_name") == "on-one"
            for r in records
        )
        assert agnosco("audit", "verify", env=operator).returncode == 0
    finally:
        for server in servers:
            server.stop()
