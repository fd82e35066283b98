"""The job runtime: runners' results and failures become the job's state; nothing kills a
worker; a stopping runtime hands its job back; listeners hear of every finished job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from agnosco.errors import InvalidParameterException
from agnosco.jobs.runtime import JobRun, JobRuntime
from agnosco.jobs.store import FAILED, IN_PROGRESS, SUCCEEDED, Item, Job, JobStore

VIDEO = {"Video": {"S3Object": {"Bucket": "b", "Name": "clip.mp4"}}}


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobStore]:
    store = JobStore(tmp_path / "agnosco.db", owned=True)
    yield store
    store.close()


def _wait_for(jobs: JobStore, job_id: str, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while (job := jobs.get(job_id)).status == IN_PROGRESS:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.02)
    return job


def _runtime(jobs: JobStore, runner: Any, **options: Any) -> JobRuntime:
    return JobRuntime(jobs, {"FaceDetection": runner}, poll_seconds=0.05, **options)


def test_a_runners_items_and_result_are_the_jobs(jobs: JobStore) -> None:
    def runner(run: JobRun) -> Mapping[str, Any]:
        run.emit([Item(0, {"Timestamp": 0})])
        run.emit([Item(200, {"Timestamp": 200})])
        return {"VideoMetadata": {"Codec": "h264"}}

    finished: list[Job] = []
    runtime = _runtime(jobs, runner, listeners=[finished.append])
    runtime.start()
    try:
        job = jobs.submit("FaceDetection", VIDEO)
        runtime.wake()
        done = _wait_for(jobs, job.job_id)
    finally:
        runtime.stop()
    assert (done.status, done.result) == (SUCCEEDED, {"VideoMetadata": {"Codec": "h264"}})
    assert [i.timestamp_ms for i in jobs.items(job.job_id, None, 10)[0]] == [0, 200]
    assert [j.job_id for j in finished] == [job.job_id] and finished[0].status == SUCCEEDED


def test_a_service_error_fails_the_job_with_its_message(jobs: JobStore) -> None:
    def runner(run: JobRun) -> Mapping[str, Any]:
        raise InvalidParameterException("The video is not H.264 or H.265.")

    runtime = _runtime(jobs, runner)
    job = jobs.submit("FaceDetection", VIDEO)
    claimed = jobs.claim("w", 60, ["FaceDetection"])
    assert claimed is not None
    runtime.run(claimed, "w")
    failed = jobs.get(job.job_id)
    assert (failed.status, failed.status_message) == (FAILED, "The video is not H.264 or H.265.")


def test_an_unexpected_error_fails_the_job_and_the_worker_goes_on(
    jobs: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def runner(run: JobRun) -> Mapping[str, Any]:
        calls.append(run.job.job_id)
        if len(calls) == 1:
            raise RuntimeError("secret internal detail")
        return {}

    runtime = _runtime(jobs, runner)
    runtime.start()
    try:
        first = jobs.submit("FaceDetection", VIDEO)
        second = jobs.submit("FaceDetection", VIDEO)
        failed, ok = _wait_for(jobs, first.job_id), _wait_for(jobs, second.job_id)
    finally:
        runtime.stop()
    assert failed.status == FAILED and ok.status == SUCCEEDED
    assert failed.status_message is not None
    assert "secret" not in failed.status_message and "server log" in failed.status_message
    failure = failed.status_message.split("failure ")[1].split(" ")[0]
    assert failure in caplog.text and "secret internal detail" in caplog.text


def test_a_stopping_runtime_hands_its_job_back_for_the_next_start(jobs: JobStore) -> None:
    started = threading.Event()

    def endless(run: JobRun) -> Mapping[str, Any]:
        started.set()
        while True:
            run.check()
            time.sleep(0.01)

    runtime = _runtime(jobs, endless)
    runtime.start()
    job = jobs.submit("FaceDetection", VIDEO)
    runtime.wake()
    assert started.wait(30)
    runtime.stop()
    handed_back = jobs.get(job.job_id)
    assert (handed_back.status, handed_back.lease_owner, handed_back.attempts) == (
        IN_PROGRESS,
        None,
        0,
    )

    def quick(run: JobRun) -> Mapping[str, Any]:
        return {}

    again = _runtime(jobs, quick)
    again.start()
    try:
        assert _wait_for(jobs, job.job_id).status == SUCCEEDED
    finally:
        again.stop()


def test_a_run_whose_lease_was_taken_stops_without_writing(jobs: JobStore) -> None:
    job = jobs.submit("FaceDetection", VIDEO)
    claimed = jobs.claim("slow", 0.0, ["FaceDetection"])  # a lease that has already run out
    assert claimed is not None
    assert jobs.claim("other", 60, ["FaceDetection"]) is not None

    def runner(run: JobRun) -> Mapping[str, Any]:
        run.emit([Item(0, {"Timestamp": 0})])
        return {}

    _runtime(jobs, runner).run(claimed, "slow")
    held = jobs.get(job.job_id)
    assert (held.status, held.lease_owner) == (IN_PROGRESS, "other")
    assert jobs.items(job.job_id, None, 10)[0] == []
