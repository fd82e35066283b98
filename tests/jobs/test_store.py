"""The job store on every state backend: submit, idempotent tokens, leases that run out, claims
that never hand one job to two workers, items a page at a time, expiry and purge."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.errors import IdempotentParameterMismatchException, ResourceNotFoundException
from agnosco.jobs.store import FAILED, IN_PROGRESS, MAX_ATTEMPTS, SUCCEEDED, Item, JobStore
from agnosco.storage.database import open_database
from tests.clock import Clock

VIDEO = {"Video": {"S3Object": {"Bucket": "b", "Name": "clip.mp4"}}}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jobs(tmp_path: Path, store_url: str | None, clock: Clock) -> Iterator[JobStore]:
    store = JobStore(open_database(store_url, tmp_path / "agnosco.db"), owned=True, clock=clock)
    yield store
    store.close()


def test_a_job_runs_from_submit_to_success(jobs: JobStore) -> None:
    job = jobs.submit("FaceDetection", VIDEO | {"JobTag": "tag"}, principal="p")
    assert (job.status, job.attempts, job.job_tag, job.principal) == (IN_PROGRESS, 0, "tag", "p")
    claimed = jobs.claim("w1", 60, ["FaceDetection"])
    assert claimed is not None and claimed.job_id == job.job_id
    assert (claimed.lease_owner, claimed.attempts) == ("w1", 1)
    assert jobs.claim("w2", 60, ["FaceDetection"]) is None  # held
    assert jobs.add_items(
        job.job_id, "w1", [Item(40, {"Timestamp": 40}), Item(0, {"Timestamp": 0})]
    )
    assert jobs.complete(job.job_id, "w1", SUCCEEDED, result={"VideoMetadata": {"Codec": "h264"}})
    done = jobs.get(job.job_id, "FaceDetection")
    assert (done.status, done.result, done.lease_owner) == (
        SUCCEEDED,
        {"VideoMetadata": {"Codec": "h264"}},
        None,
    )
    items, after = jobs.items(job.job_id, None, 10)
    assert [i.timestamp_ms for i in items] == [0, 40] and after is None


def test_claims_only_its_kinds_and_the_oldest_first(jobs: JobStore, clock: Clock) -> None:
    first = jobs.submit("FaceDetection", VIDEO)
    clock.now += 1
    jobs.submit("FaceDetection", VIDEO)
    jobs.submit("SegmentDetection", VIDEO)
    assert jobs.claim("w", 60, ["FaceSearch"]) is None
    assert jobs.claim("w", 60, []) is None
    claimed = jobs.claim("w", 60, ["FaceDetection"])
    assert claimed is not None and claimed.job_id == first.job_id


def test_a_get_of_another_kind_or_unknown_id_is_not_found(jobs: JobStore) -> None:
    job = jobs.submit("FaceDetection", VIDEO)
    with pytest.raises(ResourceNotFoundException):
        jobs.get(job.job_id, "FaceSearch")
    with pytest.raises(ResourceNotFoundException):
        jobs.get("0" * 32)


def test_the_same_token_is_the_same_job_and_another_request_is_refused(jobs: JobStore) -> None:
    request = VIDEO | {"ClientRequestToken": "t-1"}
    job = jobs.submit("FaceDetection", request)
    assert jobs.submit("FaceDetection", dict(request)).job_id == job.job_id
    assert jobs.submit("FaceSearch", request).job_id != job.job_id  # tokens are per kind
    with pytest.raises(IdempotentParameterMismatchException):
        jobs.submit("FaceDetection", request | {"JobTag": "other"})
    assert jobs.submit("FaceDetection", VIDEO).job_id != job.job_id  # no token: a new job


def test_a_lapsed_lease_is_claimed_again_and_the_old_worker_can_write_nothing(
    jobs: JobStore, clock: Clock
) -> None:
    job = jobs.submit("FaceDetection", VIDEO)
    jobs.claim("crashed", 60, ["FaceDetection"])
    assert jobs.add_items(job.job_id, "crashed", [Item(0, {"Timestamp": 0})])
    clock.now += 61
    again = jobs.claim("w2", 60, ["FaceDetection"])
    assert again is not None and (again.lease_owner, again.attempts) == ("w2", 2)
    assert jobs.items(job.job_id, None, 10)[0] == []  # the retry starts from nothing
    assert not jobs.add_items(job.job_id, "crashed", [Item(1, {"Timestamp": 1})])
    assert not jobs.renew(job.job_id, "crashed", 60)
    assert not jobs.complete(job.job_id, "crashed", SUCCEEDED)
    assert jobs.renew(job.job_id, "w2", 60)
    assert jobs.complete(job.job_id, "w2", SUCCEEDED)


def test_a_job_interrupted_too_often_fails_with_a_message(jobs: JobStore, clock: Clock) -> None:
    job = jobs.submit("FaceDetection", VIDEO)
    for n in range(MAX_ATTEMPTS):
        assert jobs.claim(f"w{n}", 60, ["FaceDetection"]) is not None
        clock.now += 61
    assert jobs.claim("last", 60, ["FaceDetection"]) is None
    failed = jobs.get(job.job_id)
    assert failed.status == FAILED
    assert failed.status_message is not None and "interrupted 2 times" in failed.status_message


def test_a_released_job_is_claimable_at_once_and_not_counted(jobs: JobStore) -> None:
    job = jobs.submit("FaceDetection", VIDEO)
    jobs.claim("stopping", 60, ["FaceDetection"])
    jobs.release(job.job_id, "stopping")
    again = jobs.claim("next", 60, ["FaceDetection"])
    assert again is not None and again.attempts == 1


def test_concurrent_claims_never_share_a_job(jobs: JobStore) -> None:
    submitted = {jobs.submit("FaceDetection", VIDEO).job_id for _ in range(24)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while (job := jobs.claim(name, 60, ["FaceDetection"])) is not None:
            with lock:
                claimed.append(job.job_id)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(submitted)  # each once, none twice


def test_items_come_a_page_at_a_time_in_time_or_key_order(jobs: JobStore) -> None:
    job = jobs.submit("FaceSearch", VIDEO)
    jobs.claim("w", 60, ["FaceSearch"])
    stored = [
        Item(t, {"Timestamp": t, "Index": k}, sort_key=k)
        for t, k in [(0, 1), (0, 0), (40, 1), (80, 0), (120, 2)]
    ]
    jobs.add_items(job.job_id, "w", stored[:2])
    jobs.add_items(job.job_id, "w", stored[2:])
    pages, after = [], None
    while True:
        page, after = jobs.items(job.job_id, after, 2)
        pages.append([(i.timestamp_ms, i.sort_key) for i in page])
        if after is None:
            break
    assert pages == [[(0, 1), (0, 0)], [(40, 1), (80, 0)], [(120, 2)]]
    by_key, _ = jobs.items(job.job_id, None, 10, by_key=True)
    assert [(i.sort_key, i.timestamp_ms) for i in by_key] == [
        (0, 0),
        (0, 80),
        (1, 0),
        (1, 40),
        (2, 120),
    ]


def test_results_expire_after_seven_days_and_purge_removes_them(
    jobs: JobStore, clock: Clock
) -> None:
    done = jobs.submit("FaceDetection", VIDEO)
    jobs.claim("w", 60, ["FaceDetection"])
    jobs.add_items(done.job_id, "w", [Item(0, {"Timestamp": 0})])
    jobs.complete(done.job_id, "w", SUCCEEDED)
    running = jobs.submit("FaceDetection", VIDEO)
    clock.now += 6 * 86400
    assert jobs.get(done.job_id).status == SUCCEEDED
    assert jobs.purge() == 0
    clock.now += 2 * 86400
    with pytest.raises(ResourceNotFoundException):
        jobs.get(done.job_id)
    assert jobs.purge() == 1
    assert jobs.items(done.job_id, None, 10)[0] == []
    assert jobs.get(running.job_id).status == IN_PROGRESS  # not finished: not expired
    assert jobs.purge(older_than_days=7) == 1  # a retention limit reaches it
    with pytest.raises(ResourceNotFoundException):
        jobs.get(running.job_id)


def test_a_claim_can_name_its_job_and_jobs_are_listed_newest_first(
    jobs: JobStore, clock: Clock
) -> None:
    older = jobs.submit("FaceRedaction", {"Input": "/a.mp4", "Output": "/o1.mp4"})
    clock.now += 1
    newer = jobs.submit("FaceRedaction", {"Input": "/b.mp4", "Output": "/o2.mp4"})
    clock.now += 1
    other = jobs.submit("FaceDetection", VIDEO)
    claimed = jobs.claim("cli", 60, ["FaceRedaction"], job_id=newer.job_id)  # not the oldest
    assert claimed is not None and claimed.job_id == newer.job_id
    assert jobs.claim("cli", 60, ["FaceRedaction"], job_id=newer.job_id) is None  # held
    assert jobs.claim("cli", 60, ["FaceDetection"], job_id=older.job_id) is None  # another kind
    assert jobs.complete(newer.job_id, "cli", FAILED, "broken")
    assert [j.job_id for j in jobs.list_jobs()] == [other.job_id, newer.job_id, older.job_id]
    assert [j.job_id for j in jobs.list_jobs(kind="FaceRedaction", status=IN_PROGRESS)] == [
        older.job_id
    ]
    assert [j.job_id for j in jobs.list_jobs(status=FAILED)] == [newer.job_id]
    assert len(jobs.list_jobs(limit=2)) == 2
