"""Usage metering and quotas on the stores themselves, with a hand-moved clock: face-months
from the faces' stored intervals, images from the audit log, video from jobs that succeeded,
and the quotas' exactness under concurrent writers (on PostgreSQL, as two replicas would be)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agnosco.errors import (
    InvalidParameterException,
    LimitExceededException,
    ServiceQuotaExceededException,
)
from agnosco.governance.audit import AuditLog
from agnosco.governance.usage import (
    Quotas,
    UsageMeter,
    metered_images,
    month_span,
)
from agnosco.jobs.store import SUCCEEDED, JobStore
from agnosco.operations import REGISTRY
from agnosco.storage.base import Collection, FaceRecord
from agnosco.storage.database import Database, PostgresDatabase, SQLiteDatabase
from agnosco.storage.sql_store import SQLStore
from tests.clock import Clock

KEY = b"k" * 32
DAY = 86400.0


def at(text: str) -> float:
    """Epoch seconds of an ISO time, UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def _face(face_id: str, when: float) -> FaceRecord:
    return FaceRecord(
        face_id=face_id,
        image_id="image",
        external_image_id=None,
        left=0.1,
        top=0.1,
        width=0.2,
        height=0.2,
        confidence=99.0,
        descriptor=np.zeros(128, np.float32),
        indexed_at=when,
    )


class Deployment:
    """The parts usage is metered from, on one database (SQLite file or PostgreSQL)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        from agnosco.storage.index_cache import IndexCache
        from agnosco.storage.pgvector_search import PgvectorSearch

        self.database = database
        neighbours: Any = (
            PgvectorSearch()
            if isinstance(database, PostgresDatabase)
            else IndexCache(database, Path(str(getattr(database, "path", "agnosco.db"))))
        )
        self.store = SQLStore(database, neighbours)
        self.audit = AuditLog(database, KEY, clock=clock)
        self.jobs = JobStore(database, clock=clock)
        self.quotas = Quotas(database)
        self.meter = UsageMeter(
            database, self.quotas, store=self.store, jobs=self.jobs, clock=clock
        )
        self.clock = clock

    def collection(self, collection_id: str) -> None:
        self.store.create_collection(
            Collection(collection_id, f"arn:{collection_id}", "6.0", self.clock(), 128), {}
        )

    def close(self) -> None:
        self.store.close()
        self.database.close()


@pytest.fixture
def deployment(tmp_path: Path, store_url: str | None):  # type: ignore[no-untyped-def]
    clock = Clock(at("2026-11-01T00:00:00"))
    database: Database = (
        SQLiteDatabase(tmp_path / "agnosco.db")
        if store_url is None
        else PostgresDatabase(store_url)
    )
    parts = Deployment(database, clock)
    yield parts
    parts.close()


def _row(report: Any, principal: str | None, collection: str | None) -> Any:
    found = [r for r in report.rows if (r.principal, r.collection) == (principal, collection)]
    assert len(found) == 1, report.rows
    return found[0]


# face-months ------------------------------------------------------------------------------------
def test_a_face_stored_for_half_a_month_counts_half_a_face_month(deployment: Deployment) -> None:
    deployment.collection("c")
    start, end = month_span("2026-11")
    assert end - start == 30 * DAY  # November: 30 days
    deployment.store.add_faces("c", [_face("f1", start)], principal="alice")
    deployment.clock.now = start + 15 * DAY
    assert deployment.store.delete_faces("c", ["f1"], when=deployment.clock()) == ["f1"]
    deployment.clock.now = end + 3 * DAY  # in December: November is over
    row = _row(deployment.meter.report("2026-11"), "alice", "c")
    assert row.face_months == pytest.approx(0.5)
    assert row.faces_stored == 0
    # December: the face was gone all of it.
    assert all(r.face_months == 0 for r in deployment.meter.report("2026-12").rows)


def test_a_face_stored_across_a_month_boundary_counts_in_each_month_for_its_part(
    deployment: Deployment,
) -> None:
    deployment.collection("c")
    october, november = month_span("2026-10"), month_span("2026-11")
    deployment.clock.now = october[0] + 21 * DAY  # 22 October, 00:00: 10 of 31 days left
    deployment.store.add_faces("c", [_face("f1", deployment.clock())], principal="alice")
    deployment.clock.now = november[0] + 6 * DAY  # deleted on 7 November, 00:00: 6 of 30 days
    deployment.store.delete_faces("c", ["f1"], when=deployment.clock())
    deployment.clock.now = november[1] + DAY
    assert _row(deployment.meter.report("2026-10"), "alice", "c").face_months == pytest.approx(
        10 / 31
    )
    assert _row(deployment.meter.report("2026-11"), "alice", "c").face_months == pytest.approx(
        6 / 30
    )


def test_a_stored_face_counts_up_to_now_in_the_current_month_and_the_whole_of_a_past_one(
    deployment: Deployment,
) -> None:
    deployment.collection("c")
    start, end = month_span("2026-11")
    deployment.store.add_faces(
        "c", [_face("f1", start), _face("f2", start + 10 * DAY)], principal="bob"
    )
    deployment.clock.now = start + 12 * DAY
    row = _row(deployment.meter.report(), "bob", "c")  # this month, so far
    assert deployment.meter.report().month == "2026-11"
    assert row.face_months == pytest.approx((12 + 2) / 30)
    assert row.faces_stored == 2
    deployment.clock.now = end + 40 * DAY
    assert _row(deployment.meter.report("2026-11"), "bob", "c").face_months == pytest.approx(
        (30 + 20) / 30
    )
    assert _row(deployment.meter.report("2026-12"), "bob", "c").face_months == pytest.approx(
        1.0 * 2
    )


def test_deleting_the_collection_stops_its_faces_count(deployment: Deployment) -> None:
    deployment.collection("c")
    start, _ = month_span("2026-11")
    deployment.store.add_faces("c", [_face("f1", start), _face("f2", start)], principal="alice")
    deployment.store.delete_collection("c", when=start + 3 * DAY)
    deployment.clock.now = start + 20 * DAY
    row = _row(deployment.meter.report("2026-11"), "alice", "c")
    assert row.face_months == pytest.approx(2 * 3 / 30)
    assert row.faces_stored == 0
    assert deployment.store.faces_stored_by("alice") == 0


def test_a_face_id_stored_again_with_its_old_time_is_stored_again(deployment: Deployment) -> None:
    """A face deleted and stored again under the same id and indexed_at (a restore) opens its
    interval again instead of failing on the closed one."""
    deployment.collection("c")
    start, _ = month_span("2026-11")
    deployment.store.add_faces("c", [_face("f1", start)], principal="alice")
    deployment.store.delete_faces("c", ["f1"], when=start + 5 * DAY)
    deployment.store.add_faces("c", [_face("f1", start)], principal="alice")
    assert deployment.store.faces_stored_by("alice") == 1
    deployment.clock.now = start + 10 * DAY
    row = _row(deployment.meter.report("2026-11"), "alice", "c")
    assert row.faces_stored == 1
    assert row.face_months == pytest.approx(10 / 30)  # stored since its indexed_at again


def test_faces_are_metered_per_principal_and_collection(deployment: Deployment) -> None:
    deployment.collection("a")
    deployment.collection("b")
    start, end = month_span("2026-11")
    deployment.store.add_faces("a", [_face("f1", start)], principal="alice")
    deployment.store.add_faces("b", [_face("f2", start)], principal="alice")
    deployment.store.add_faces("b", [_face("f3", start)], principal="bob")
    deployment.clock.now = end
    report = deployment.meter.report("2026-11")
    assert [(r.principal, r.collection, r.face_months) for r in report.rows] == [
        ("alice", "a", pytest.approx(1.0)),
        ("alice", "b", pytest.approx(1.0)),
        ("bob", "b", pytest.approx(1.0)),
    ]
    only = deployment.meter.report("2026-11", "bob")
    assert [(r.principal, r.collection) for r in only.rows] == [("bob", "b")]


def test_a_month_not_written_yyyy_mm_is_refused_in_words(deployment: Deployment) -> None:
    for month in ("2026-13", "2026-1", "November", "2026-11-01"):
        with pytest.raises(InvalidParameterException, match="is not a month"):
            deployment.meter.report(month)


# the face quota ---------------------------------------------------------------------------------
def test_the_face_quota_allows_up_to_the_limit_and_refuses_beyond_writing_nothing(
    deployment: Deployment,
) -> None:
    deployment.collection("c")
    now = deployment.clock()
    deployment.store.add_faces(
        "c", [_face("f1", now), _face("f2", now)], principal="p", face_limit=3
    )
    with pytest.raises(ServiceQuotaExceededException, match="exceeds the allowed limit"):
        deployment.store.add_faces(
            "c", [_face("f3", now), _face("f4", now)], principal="p", face_limit=3
        )
    assert deployment.store.get_collection("c").face_count == 2  # nothing of the refused call
    assert [f.face_id for f in deployment.store.list_faces("c", None, 10).items] == ["f1", "f2"]
    deployment.store.add_faces("c", [_face("f3", now)], principal="p", face_limit=3)  # at it
    with pytest.raises(ServiceQuotaExceededException):
        deployment.store.add_faces("c", [_face("f4", now)], principal="p", face_limit=3)
    # Another principal's faces are not this one's; a deletion makes room again.
    deployment.store.add_faces("c", [_face("g1", now)], principal="q", face_limit=1)
    deployment.store.delete_faces("c", ["f1"], when=now)
    deployment.store.add_faces("c", [_face("f4", now)], principal="p", face_limit=3)
    assert deployment.store.faces_stored_by("p") == 3


def test_concurrent_writers_on_two_database_pools_never_exceed_the_face_quota(
    postgres_dsn: str,
) -> None:
    clock = Clock(at("2026-11-02T00:00:00"))
    replicas = [Deployment(PostgresDatabase(postgres_dsn), clock) for _ in range(2)]
    try:
        replicas[0].collection("c")
        errors: list[BaseException] = []

        def index(replica: Deployment, n: int) -> None:
            try:
                replica.store.add_faces("c", [_face(f"f{n}", clock())], principal="p", face_limit=5)
            except ServiceQuotaExceededException:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=index, args=(replicas[n % 2], n)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert replicas[1].store.get_collection("c").face_count == 5
        assert replicas[0].store.faces_stored_by("p") == 5
    finally:
        for replica in replicas:
            replica.close()


# images -------------------------------------------------------------------------------------------
def _call(operation: str, images: int, **extra: Any) -> dict[str, Any]:
    return {
        "operation": operation,
        "principal": "alice",
        "decision": "Allow",
        "reason": "test",
        "collection": extra.pop("collection", None),
        "images": [{"member": "Image", "sha256": "0" * 64, "bytes": 1}] * images,
        **extra,
    }


def test_every_registered_image_operation_is_metered_and_nothing_else() -> None:
    """From the registry's traits, not a list: an image operation added later is metered."""
    image_operations = [name for name, op in REGISTRY.items() if op.traits.analyses_images]
    assert {"DetectFaces", "IndexFaces", "CompareFaces", "DetectText"} <= set(image_operations)
    for name in REGISTRY:
        expected = 1 if REGISTRY[name].traits.analyses_images else 0
        assert metered_images(_call(name, 1)) == expected, name
    assert metered_images(_call("CompareFaces", 2)) == 2
    # Not the intent before a change, not a refusal, not a failure.
    assert metered_images(_call("IndexFaces", 1, phase="intent")) == 0
    assert metered_images(_call("DetectFaces", 1, decision="Deny")) == 0
    assert metered_images(_call("DetectFaces", 1, error="InvalidImageFormatException")) == 0
    assert metered_images(_call("agnosco:Purge", 1)) == 0


def test_images_are_metered_as_the_audit_log_appends_them(deployment: Deployment) -> None:
    start, _ = month_span("2026-11")
    deployment.clock.now = start + 2 * DAY + 5
    deployment.audit.append(_call("DetectFaces", 1))
    deployment.audit.append(_call("CompareFaces", 2))
    deployment.audit.append(_call("IndexFaces", 1, collection="c", phase="intent"))
    deployment.audit.append(_call("IndexFaces", 1, collection="c"))
    deployment.clock.now = start + 9 * DAY
    deployment.audit.append(_call("DetectFaces", 1, error="InvalidImageFormatException"))
    deployment.audit.append(_call("DetectFaces", 1))
    report = deployment.meter.report("2026-11")
    assert _row(report, "alice", None).images == {"DetectFaces": 2, "CompareFaces": 2}
    assert _row(report, "alice", "c").images == {"IndexFaces": 1}
    assert report.images_by_day["2026-11-03"] == 4
    assert report.images_by_day["2026-11-10"] == 1
    assert len(report.images_by_day) == 30 and sum(report.images_by_day.values()) == 5


def test_the_image_quota_is_exact_for_concurrent_calls_on_two_database_pools(
    postgres_dsn: str,
) -> None:
    clock = Clock(at("2026-11-02T00:00:00"))
    replicas = [Deployment(PostgresDatabase(postgres_dsn), clock) for _ in range(2)]
    try:
        admitted: list[str] = []
        refused: list[str] = []
        lock = threading.Lock()

        def call(replica: Deployment) -> None:
            try:
                reservation = replica.meter.reserve_images("p", 1, 7, clock())
            except LimitExceededException:
                with lock:
                    refused.append("x")
                return
            record = _call("DetectFaces", 1) | {"principal": "p"}
            replica.audit.append(record, then=replica.meter.releasing(reservation))
            with lock:
                admitted.append(reservation)

        threads = [threading.Thread(target=call, args=(replicas[n % 2],)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (len(admitted), len(refused)) == (7, 13)
        for replica in replicas:  # both replicas read the same figures
            assert _row(replica.meter.report("2026-11"), "p", None).images == {"DetectFaces": 7}
            assert replica.meter.images_used("p", "2026-11", clock()) == 7  # no reservation left
        # Next month starts from nothing.
        clock.now = at("2026-12-01T00:00:00")
        replicas[0].meter.reserve_images("p", 7, 7, clock())
    finally:
        for replica in replicas:
            replica.close()


def test_a_reservation_left_by_a_dead_call_stops_counting_after_an_hour(
    deployment: Deployment,
) -> None:
    deployment.meter.reserve_images("p", 2, 2, deployment.clock())  # its outcome never recorded
    with pytest.raises(LimitExceededException, match="may have 2 images analysed in 2026-11"):
        deployment.meter.reserve_images("p", 1, 2, deployment.clock())
    deployment.clock.now += 3601
    deployment.meter.reserve_images("p", 1, 2, deployment.clock())


# video ---------------------------------------------------------------------------------------------
def _run_job(jobs: JobStore, kind: str, request: dict[str, Any], status: str, ms: int) -> None:
    job = jobs.submit(kind, request, principal="alice")
    claimed = jobs.claim("worker", 60, [kind])
    assert claimed is not None and claimed.job_id == job.job_id
    result = {"VideoMetadata": {"DurationMillis": ms, "Format": "mp4"}}
    if kind == "SegmentDetection":
        result = {"VideoMetadata": [result["VideoMetadata"]]}
    assert jobs.complete(
        job.job_id, "worker", status, None, result if status == SUCCEEDED else None
    )


def test_video_minutes_count_jobs_that_succeeded_and_outlive_the_jobs(
    deployment: Deployment,
) -> None:
    video = {"Video": {"S3Object": {"Bucket": "b", "Name": "v.mp4"}}}
    _run_job(deployment.jobs, "FaceDetection", video, SUCCEEDED, 90_000)
    _run_job(deployment.jobs, "SegmentDetection", video, SUCCEEDED, 30_000)
    _run_job(deployment.jobs, "FaceSearch", video | {"CollectionId": "c"}, SUCCEEDED, 120_000)
    _run_job(deployment.jobs, "FaceDetection", video, "FAILED", 600_000)
    deployment.clock.now += 30 * DAY  # the jobs expire; the meter keeps what they analysed
    assert deployment.jobs.purge() >= 3
    report = deployment.meter.report("2026-11")
    assert _row(report, "alice", None).video_minutes == {
        "StartFaceDetection": pytest.approx(1.5),
        "StartSegmentDetection": pytest.approx(0.5),
    }
    assert _row(report, "alice", "c").video_minutes == {"StartFaceSearch": pytest.approx(2.0)}


# quotas ---------------------------------------------------------------------------------------------
def test_quotas_are_set_replaced_and_removed(deployment: Deployment) -> None:
    quotas = deployment.quotas
    assert quotas.get("p") is None
    quotas.set("p", faces=10, images_per_month=None, now=1)
    quotas.set("q", faces=None, images_per_month=5, now=1)
    assert [(q.principal, q.faces, q.images_per_month) for q in quotas.list()] == [
        ("p", 10, None),
        ("q", None, 5),
    ]
    quotas.set("p", faces=None, images_per_month=None, now=2)
    assert quotas.get("p") is None
    with pytest.raises(InvalidParameterException, match="cannot be negative"):
        quotas.set("p", faces=-1, images_per_month=None, now=3)
