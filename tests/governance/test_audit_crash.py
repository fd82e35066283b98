"""No acknowledged call without its audit record, even when the server is killed with SIGKILL.

Three threads call a private server (DetectFaces, ListCollections, IndexFaces) and remember the
request id (``x-amzn-RequestId``, botocore's ``ResponseMetadata.RequestId``) of every response
they receive, success or service error alike.  The server is killed mid-load.  Afterwards the
audit log must verify and hold a record for each acknowledged request id (the gate appends the
record, in its own committed transaction, before the response is sent).  Records of calls
whose response never arrived are allowed: the record precedes the response.  It runs with the
audit log in the data directory and in PostgreSQL (``--store``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from tests.server.conftest import ACCESS_KEY_ID, start_server

THREADS = 3
ACKNOWLEDGED_BEFORE_KILL = 20
IMAGES = ("img1.jpg", "img3.jpg", "img8.jpg", "img13.jpg", "img16.jpg", "img18.jpg")


def agnosco(*args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, check=False)


@dataclass(frozen=True)
class Ack:
    thread: int
    operation: str
    request_id: str
    error: str | None
    image_sha256: str | None


@pytest.mark.slow
def test_every_acknowledged_call_survives_kill_9(
    tmp_path: Path, deepface_images: Path, store_url: str | None
):
    data_dir = tmp_path / "data"
    store = ["--store", store_url] if store_url else []
    state = ["--data-dir", str(data_dir), *store]
    server = start_server(data_dir, tmp_path / "server.log", *store)
    images = [(deepface_images / name).read_bytes() for name in IMAGES]
    acks: list[Ack] = []
    lock = threading.Lock()
    go = threading.Barrier(THREADS + 1)
    enough = threading.Event()
    failures: list[BaseException] = []
    try:
        server.client().create_collection(CollectionId="load")

        def work(thread: int) -> None:
            client = server.client(connect_timeout=2)
            calls = itertools.cycle(
                ["DetectFaces", "ListCollections", "IndexFaces"][thread:]
                + ["DetectFaces", "ListCollections", "IndexFaces"][:thread]
            )
            go.wait(timeout=60)
            for i, operation in enumerate(calls):
                image = images[(i + thread) % len(images)]
                params: dict[str, Any] = {}
                if operation != "ListCollections":
                    params["Image"] = {"Bytes": image}
                if operation == "IndexFaces":
                    params |= {
                        "CollectionId": "load",
                        "ExternalImageId": f"t{thread}-{i}",
                        "MaxFaces": 1,
                    }
                digest = hashlib.sha256(image).hexdigest() if "Image" in params else None
                try:
                    response = getattr(client, xform_name(operation))(**params)
                    ack = Ack(
                        thread, operation, response["ResponseMetadata"]["RequestId"], None, digest
                    )
                except ClientError as error:  # a response: acknowledged too
                    ack = Ack(
                        thread,
                        operation,
                        error.response["ResponseMetadata"]["RequestId"],
                        error.response["Error"]["Code"],
                        digest,
                    )
                except BotoCoreError:  # connection refused or reset: the server is gone
                    return
                with lock:
                    acks.append(ack)
                    if len(acks) >= ACKNOWLEDGED_BEFORE_KILL:
                        enough.set()
                if i > 500:  # the kill never came
                    return

        def run(thread: int) -> None:
            try:
                work(thread)
            except BaseException as exc:  # noqa: BLE001 - surfaced below, after the join
                failures.append(exc)

        threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(THREADS)]
        for t in threads:
            t.start()
        go.wait(timeout=60)
        assert enough.wait(120), f"only {len(acks)} calls answered in 120 s"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        with lock:
            at_kill = len(acks)
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert not failures, failures
    finally:
        server.stop()

    assert server.process.returncode == -signal.SIGKILL
    assert len(acks) >= ACKNOWLEDGED_BEFORE_KILL
    assert (
        at_kill <= len(acks) <= at_kill + THREADS
    )  # at most the in-flight calls were answered after
    assert {a.operation for a in acks} == {"DetectFaces", "ListCollections", "IndexFaces"}
    assert len({a.request_id for a in acks}) == len(acks)

    verified = agnosco("audit", "verify", *state)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("audit log OK")

    exported = agnosco("audit", "export", *state)
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    by_request = {r["request_id"]: r for r in records if r.get("request_id")}
    missing = [a for a in acks if a.request_id not in by_request]
    assert not missing, f"{len(missing)} acknowledged calls have no audit record: {missing[:5]}"
    for ack in acks:
        record = by_request[ack.request_id]
        assert record["operation"] == ack.operation
        assert record["principal"] == "admin" and record["access_key_id"] == ACCESS_KEY_ID
        assert record["decision"] == "Allow"
        assert record.get("error") == ack.error
        assert [i["sha256"] for i in record["images"]] == (
            [ack.image_sha256] if ack.image_sha256 else []
        )
    # records are in a plausible order: each thread's acknowledged calls appear in the order made
    seq = {r["request_id"]: r["seq"] for r in records if r.get("request_id")}
    for thread in range(THREADS):
        mine = [seq[a.request_id] for a in acks if a.thread == thread]
        assert mine == sorted(mine)
    # the only calls audited but not acknowledged are those in flight at the kill
    unacknowledged = set(by_request) - {a.request_id for a in acks}
    api_records = {rid for rid, r in by_request.items() if r["operation"] != "CreateCollection"}
    assert len(unacknowledged & api_records) <= THREADS

    # the log stays appendable: a restarted server keeps chaining onto it
    restarted = start_server(data_dir, tmp_path / "server2.log", *store)
    try:
        response = restarted.client().list_collections()
    finally:
        restarted.stop()
    verified = agnosco("audit", "verify", *state)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    after = [json.loads(line) for line in agnosco("audit", "export", *state).stdout.splitlines()]
    assert after[-1]["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert after[: len(records)] == records  # nothing before the kill was lost or rewritten
    assert (
        after[len(records)]["prev_hash"] == records[-1]["hash"]
    )  # (the server may log a purge first)
    assert time.time() - after[-1]["time"] < 120
