"""Notification delivery: retried with back-off when the endpoint fails, given up (logged)
after the last attempt; a job that asked for no notification sends none."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.jobs.notifications import ATTEMPTS, NotificationEndpoints, Notifier
from agnosco.jobs.store import SUCCEEDED, JobStore

TOPIC = "arn:aws:sns:eu-west-1:000000000000:done"
VIDEO = {"S3Object": {"Bucket": "b", "Name": "v.mp4"}}


@pytest.fixture
def failing_endpoint() -> Iterator[tuple[str, list[int], list[int]]]:
    """An endpoint answering the statuses in ``plan`` in turn (then 200); ``seen`` records each."""
    plan: list[int] = []
    seen: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            status = plan.pop(0) if plan else 200
            seen.append(status)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", plan, seen
    server.shutdown()
    server.server_close()


def _finished_job(tmp_path: Path, channel: dict[str, str] | None):  # type: ignore[no-untyped-def]
    jobs = JobStore(tmp_path / "agnosco.db", owned=True)
    request = {"Video": VIDEO} | ({"NotificationChannel": channel} if channel else {})
    job = jobs.submit("FaceDetection", request)
    jobs.claim("w", 60, ["FaceDetection"])
    jobs.complete(job.job_id, "w", SUCCEEDED)
    done = jobs.get(job.job_id)
    jobs.close()
    return done


def _wait(seen: list[int], count: int) -> None:
    deadline = time.monotonic() + 30
    while len(seen) < count:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_failed_delivery_is_retried_then_given_up(
    tmp_path: Path, failing_endpoint, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    url, plan, seen = failing_endpoint
    endpoints = NotificationEndpoints(tmp_path / "n.db", owned=True)
    endpoints.add(TOPIC, url)
    waits: list[float] = []
    notify = Notifier(endpoints, sleep=waits.append)
    job = _finished_job(tmp_path, {"SNSTopicArn": TOPIC, "RoleArn": "r"})
    plan[:] = [500]
    notify(job)
    _wait(seen, 2)
    assert seen == [500, 200] and waits == [1.0]
    plan[:] = [500] * ATTEMPTS
    with caplog.at_level("WARNING", "agnosco.notifications"):
        notify(job)
        _wait(seen, 2 + ATTEMPTS)
        deadline = time.monotonic() + 10
        while "given up" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert seen[2:] == [500] * ATTEMPTS and "given up after 3 attempts" in caplog.text
    endpoints.close()


def test_a_job_without_a_channel_notifies_nobody(tmp_path: Path, failing_endpoint) -> None:  # type: ignore[no-untyped-def]
    url, _, seen = failing_endpoint
    endpoints = NotificationEndpoints(tmp_path / "n.db", owned=True)
    endpoints.add(TOPIC, url)
    Notifier(endpoints)(_finished_job(tmp_path, None))
    time.sleep(0.3)
    assert seen == []
    endpoints.close()
