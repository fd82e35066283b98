"""Runners: a worker that dies costs only the image that killed it; the coordinator's death
ends its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from agnosco.bulk.runners import WORKER_CRASHED, ProcessPoolRunner
from agnosco.bulk.worker import Analysis, Job
from tests.bulk.conftest import ROOT

pytestmark = pytest.mark.slow


def die_on_poison(job: Job) -> Analysis:
    """Stands in for a decoder that segfaults on one file."""
    if job.data == b"poison":
        os._exit(139)
    time.sleep(0.05)
    return Analysis(job.key, width=len(job.data))


def test_a_worker_crash_fails_only_the_image_that_caused_it() -> None:
    jobs = [Job(f"ok{i}", b"x" * i) for i in range(1, 10)]
    jobs.insert(4, Job("bad", b"poison"))
    runner = ProcessPoolRunner(2, function=die_on_poison)
    results = {a.key: a for a in runner.run(iter(jobs))}
    assert set(results) == {job.key for job in jobs}
    assert results["bad"].error_code == WORKER_CRASHED
    assert all(
        results[f"ok{i}"].error_code is None and results[f"ok{i}"].width == i for i in range(1, 10)
    )


COORDINATOR = """
import sys, time
from agnosco.bulk.runners import ProcessPoolRunner
from agnosco.bulk.worker import Job
from tests.bulk.test_runners import sleep_forever

def jobs():
    yield Job("a", b"")
    yield Job("b", b"")
    print("submitted", flush=True)
    time.sleep(3600)

for _ in ProcessPoolRunner(2, function=sleep_forever).run(jobs()):
    pass
"""


def sleep_forever(job: Job) -> Analysis:
    print(os.getpid(), flush=True)
    time.sleep(3600)
    return Analysis(job.key)


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], check=False, capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], check=False, capture_output=True, text=True
    ).stdout.strip()
    return bool(stat) and not stat.startswith(
        "Z"
    )  # a zombie has exited; only its reaping is pending


def test_workers_exit_when_the_coordinator_is_killed() -> None:
    coordinator = subprocess.Popen(
        [sys.executable, "-c", COORDINATOR], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert coordinator.stdout is not None
        assert coordinator.stdout.readline().strip() == "submitted"
        deadline = time.monotonic() + 60
        while (
            len(_children(coordinator.pid)) < 3 and time.monotonic() < deadline
        ):  # 2 workers + resource tracker
            time.sleep(0.1)
        workers = _children(coordinator.pid)
        assert len(workers) >= 2
    finally:
        coordinator.send_signal(signal.SIGKILL)
        coordinator.wait()
        if coordinator.stdout is not None:
            coordinator.stdout.close()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftovers = [pid for pid in workers if _alive(pid)]
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers
