"""A real ``agnosco serve`` process on a free port, and boto3 clients for it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.server.in_process import InProcessServer

ACCESS_KEY_ID = "AKIAAGNOSCOTESTADMIN"
SECRET_ACCESS_KEY = "testSecretForTheAdminKeyOfAgnoscoServers"  # 40 characters, as AWS forms one
REGION = "eu-west-1"
#: How the test servers are configured: the admin key above, in region REGION.
ADMIN_ENVIRONMENT = {
    "AGNOSCO_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "AGNOSCO_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    "AGNOSCO_REGION": REGION,
}


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen  # type: ignore[type-arg]
    log: Path

    def client(self, key_id: str = ACCESS_KEY_ID, secret: str = SECRET_ACCESS_KEY, **config):  # type: ignore[no-untyped-def]
        return boto3.client(
            "rekognition",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, read_timeout=300, **config),
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    data_dir: Path, log: Path, *extra: str, env: dict[str, str] | None = None
) -> Server:
    """Start ``agnosco serve`` (with ``env`` added to the environment) and wait until it answers
    (or fail with its log)."""
    port = free_port()
    env = os.environ | ADMIN_ENVIRONMENT | (env or {})
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    with open(log, "ab") as fh:  # the server process has its own descriptor for it
        process = subprocess.Popen(
            [*argv, "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"agnosco serve exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return Server(url, data_dir, process, log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"agnosco serve did not start within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session (model loading is paid once); tests use their own collections."""
    root = tmp_path_factory.mktemp("agnosco-server")
    srv = start_server(root / "data", root / "server.log")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The server's app in this process (its own data directory), for the tests of the API above
    the wire; what the wire itself does is tested against :func:`server`."""
    srv = InProcessServer(tmp_path_factory.mktemp("agnosco-app") / "data", ADMIN_ENVIRONMENT)
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def rekognition(app_server: InProcessServer):  # type: ignore[no-untyped-def]
    """A boto3 client of :func:`app_server`, with the admin key."""
    return app_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)


@pytest.fixture
def collection(rekognition, request: pytest.FixtureRequest) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh collection named after the test, deleted afterwards."""
    name = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in request.node.name)[:200]
    rekognition.create_collection(CollectionId=name)
    yield name
    try:
        rekognition.delete_collection(CollectionId=name)
    except rekognition.exceptions.ResourceNotFoundException:
        pass


def signed_post(
    server: Server, key: tuple[str, str], operation: str, body: bytes
) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    """POST ``body`` as ``operation``, signed with ``key`` exactly as botocore signs (the body
    untouched, so it may be anything): (status, the JSON answer, x-amzn-RequestId)."""
    import json
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"RekognitionService.{operation}",
        },
    )
    SigV4Auth(Credentials(*key), "rekognition", REGION).add_auth(request)
    raw = urllib.request.Request(
        request.url, data=body, method="POST", headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(raw, timeout=120) as response:
            return (
                response.status,
                json.loads(response.read()),
                response.headers["x-amzn-RequestId"],
            )
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers["x-amzn-RequestId"]
