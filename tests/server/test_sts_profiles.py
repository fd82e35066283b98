"""Assumed-role profiles (``role_arn`` + ``source_profile``), unchanged, against ``agnosco serve``:
boto3 with ``AWS_ENDPOINT_URL_STS`` and the AWS CLI with ``--profile`` and the profile's
``endpoint_url``, each making its own AssumeRole call as it would against AWS."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from agnosco.cli.main import main
from tests.server.conftest import REGION, Server

ACCOUNT = "000000000000"


@dataclass
class Profiles:
    config: Path
    credentials: Path
    server: Server
    #: The AWS CLI's HOME: it caches assumed-role credentials in ~/.aws/cli/cache, by role and
    #: session name, and must neither reuse another deployment's nor leave them in the real one.
    home: Path

    def environ(self, **extra: str) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return clean | {
            "AWS_CONFIG_FILE": str(self.config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
            **extra,
        }


def agnosco(server: Server, *args: str) -> str:
    """An ``agnosco`` command on the server's data directory; its output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*args, "--data-dir", str(server.data_dir)]) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def profiles(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Profiles:
    agnosco(server, "principals", "create", "profile-finder")
    agnosco(server, "principals", "create", "profile-outsider")
    finder = json.loads(
        agnosco(server, "keys", "create", "--principal", "profile-finder", "--json")
    )
    outsider = json.loads(
        agnosco(server, "keys", "create", "--principal", "profile-outsider", "--json")
    )
    agnosco(
        server,
        "roles",
        "create",
        "ProfileFinders",
        "--trust",
        "profile-finder",
        "--policy",
        "ReadOnly",
    )
    folder = tmp_path_factory.mktemp("aws")
    credentials = folder / "credentials"
    credentials.write_text(
        f"[finder]\naws_access_key_id = {finder['AccessKeyId']}\n"
        f"aws_secret_access_key = {finder['SecretAccessKey']}\n\n"
        f"[outsider]\naws_access_key_id = {outsider['AccessKeyId']}\n"
        f"aws_secret_access_key = {outsider['SecretAccessKey']}\n"
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/ProfileFinders"
    config = folder / "config"
    config.write_text(
        f"[profile finder]\nregion = {REGION}\n\n"
        f"[profile outsider]\nregion = {REGION}\n\n"
        f"[profile role]\nrole_arn = {role}\nsource_profile = finder\n"
        f"role_session_name = profile-session\nregion = {REGION}\n\n"
        f"[profile untrusted]\nrole_arn = {role}\nsource_profile = outsider\nregion = {REGION}\n\n"
        # the AWS CLI's way: the endpoint in the profile, for every service (STS included)
        f"[profile cli-role]\nrole_arn = {role}\nsource_profile = finder\n"
        f"role_session_name = cli-session\nregion = {REGION}\nendpoint_url = {server.url}\n\n"
        f"[profile cli-untrusted]\nrole_arn = {role}\nsource_profile = outsider\n"
        f"region = {REGION}\nendpoint_url = {server.url}\n"
    )
    home = folder / "home"
    home.mkdir()
    return Profiles(config, credentials, server, home)


@pytest.fixture
def environ(profiles: Profiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in profiles.environ(AWS_ENDPOINT_URL_STS=profiles.server.url).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    yield


def test_boto3_with_an_assumed_role_profile(profiles: Profiles, environ: None) -> None:
    session = boto3.Session(profile_name="role")
    identity = session.client("sts").get_caller_identity()  # AWS_ENDPOINT_URL_STS
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ProfileFinders/profile-session"
    rekognition = session.client("rekognition", endpoint_url=profiles.server.url)
    assert "CollectionIds" in rekognition.list_collections()  # the role's ReadOnly
    with pytest.raises(ClientError) as denied:
        rekognition.create_collection(CollectionId="profile-role")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    credentials = session.get_credentials().get_frozen_credentials()
    assert credentials.access_key.startswith("ASIA") and credentials.token

    untrusted = boto3.Session(profile_name="untrusted")
    with pytest.raises(ClientError) as refused:
        untrusted.client("rekognition", endpoint_url=profiles.server.url).list_collections()
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "profile-outsider is not authorized to perform: sts:AssumeRole" in str(refused.value)


def aws(profiles: Profiles, *args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("aws")
    argv = [command] if command else [sys.executable, "-m", "awscli"]
    return subprocess.run(
        [*argv, *args, "--output", "json"],
        capture_output=True,
        text=True,
        env=profiles.environ(HOME=str(profiles.home)),
        timeout=300,
        check=False,
    )


def test_the_aws_cli_with_an_assumed_role_profile(profiles: Profiles) -> None:
    identity = aws(profiles, "sts", "get-caller-identity", "--profile", "cli-role")
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout)["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ProfileFinders/cli-session"
    )
    listed = aws(profiles, "rekognition", "list-collections", "--profile", "cli-role")
    assert listed.returncode == 0, listed.stderr
    assert "CollectionIds" in json.loads(listed.stdout)
    denied = aws(
        profiles,
        "rekognition",
        "create-collection",
        "--collection-id",
        "cli-role",
        "--profile",
        "cli-role",
    )
    assert denied.returncode != 0 and "AccessDeniedException" in denied.stderr

    refused = aws(profiles, "rekognition", "list-collections", "--profile", "cli-untrusted")
    assert refused.returncode != 0
    assert "AccessDenied" in refused.stderr and "sts:AssumeRole" in refused.stderr

    # each AssumeRole the CLI made is in the audit log, with the session it named
    records = [
        json.loads(line)
        for line in agnosco(profiles.server, "audit", "export").splitlines()
        if line.strip().startswith("{")
    ]
    assumed = [r for r in records if r.get("operation") == "sts:AssumeRole"]
    assert any(
        r["principal"] == "profile-finder"
        and r["parameters"]["RoleSessionName"] == "cli-session"
        and r["decision"] == "Allow"
        for r in assumed
    )
    assert any(r["principal"] == "profile-outsider" and r["decision"] == "Deny" for r in assumed)
    calls = [r for r in records if r.get("operation") == "CreateCollection" and "session" in r]
    assert any(
        r["session"]["role"] == "ProfileFinders"
        and r["session"]["assumed_by"] == "profile-finder"
        and r["session"]["session_name"] == "cli-session"
        and r["decision"] == "Deny"
        for r in calls
    )
