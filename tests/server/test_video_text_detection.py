"""StartTextDetection / GetTextDetection through boto3: a job reads the words drawn on a video's
frames at the right timestamps, with DetectText's filters; pages, idempotent Start, the errors
of a missing or broken video and of a bad region, and governance (principals that must be
refused; the audit keeps counts, never the text).

The shared videos (``../shared/data/video``, ``no-faces/video``) show faces and a bird, no
text, so the video is made here: captions drawn with OpenCV's ``putText`` on a 6 s clip
(:mod:`tests.text_video`), into the test's temporary folder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from botocore.exceptions import ClientError

from agnosco import spec
from tests.server.in_process import InProcessServer
from tests.text_video import Caption, text_video

BUCKET = "text-videos"
#: 0-2 s nothing; 2-4 s one line; 4-6 s two lines, one in the top half and one in the bottom.
CAPTIONS = [
    Caption(2.0, 4.0, ("OPENING NIGHT",)),
    Caption(4.0, 6.0, ("BREAKING NEWS", "Main Street 42")),
]


@pytest.fixture(scope="module")
def videos(app_server: InProcessServer) -> Callable[[str, Path | bytes], dict[str, Any]]:
    """``put(name, source)``: an object of the server's S3 folder; returns the ``Video``."""
    root = app_server.data_dir / "s3" / BUCKET
    root.mkdir(parents=True, exist_ok=True)

    def put(name: str, source: Path | bytes) -> dict[str, Any]:
        (root / name).write_bytes(source.read_bytes() if isinstance(source, Path) else source)
        return {"S3Object": {"Bucket": BUCKET, "Name": name}}

    return put


@pytest.fixture(scope="module")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return text_video(tmp_path_factory.mktemp("text-video") / "captions.mp4", CAPTIONS, 6.0)


def _wait(client: Any, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get_text_detection(JobId=job_id)
        if response["JobStatus"] != "IN_PROGRESS":
            return _valid(response)
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)


def _valid(response: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    spec.validate(body, "GetTextDetectionResponse")
    return body


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _by_time(detections: list[dict[str, Any]], kind: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for found in detections:
        if found["TextDetection"]["Type"] == kind:
            out.setdefault(found["Timestamp"], []).append(found["TextDetection"]["DetectedText"])
    return out


@pytest.fixture(scope="module")
def read_job(rekognition, videos, captioned) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A finished job on the captioned video: its JobId and its whole Get."""
    video = videos("captions.mp4", captioned)
    job_id = rekognition.start_text_detection(Video=video, JobTag="captions")["JobId"]
    return job_id, _wait(rekognition, job_id)


@pytest.mark.slow
def test_a_job_reads_the_drawn_words_at_their_timestamps(read_job) -> None:  # type: ignore[no-untyped-def]
    job_id, done = read_job
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    assert (done["JobId"], done["JobTag"]) == (job_id, "captions")
    assert done["Video"] == {"S3Object": {"Bucket": BUCKET, "Name": "captions.mp4"}}
    assert done["TextModelVersion"] == "1.0"
    metadata = done["VideoMetadata"]
    assert (metadata["FrameWidth"], metadata["FrameHeight"], metadata["Codec"]) == (
        640,
        360,
        "h264",
    )
    assert 5800 <= metadata["DurationMillis"] <= 6200
    # one frame a second, at 0, 1000, ... 5000 ms: nothing before 2 s, then each caption
    assert _by_time(done["TextDetections"], "LINE") == {
        2000: ["OPENING NIGHT"],
        3000: ["OPENING NIGHT"],
        4000: ["BREAKING NEWS", "Main Street 42"],
        5000: ["BREAKING NEWS", "Main Street 42"],
    }
    assert _by_time(done["TextDetections"], "WORD")[4000] == [
        "BREAKING",
        "NEWS",
        "Main",
        "Street",
        "42",
    ]
    stamps = [d["Timestamp"] for d in done["TextDetections"]]
    assert stamps == sorted(stamps)
    # within a frame, as DetectText numbers an image's: lines first, words with their line's Id
    frame = [d["TextDetection"] for d in done["TextDetections"] if d["Timestamp"] == 4000]
    assert [d["Id"] for d in frame] == list(range(len(frame)))
    lines = {d["Id"]: d for d in frame if d["Type"] == "LINE"}
    for word in (d for d in frame if d["Type"] == "WORD"):
        assert word["DetectedText"] in lines[word["ParentId"]]["DetectedText"].split()
    top, bottom = (lines[i]["Geometry"]["BoundingBox"] for i in (0, 1))
    assert top["Top"] + top["Height"] < 0.5 < bottom["Top"]  # drawn at y 110 and 260 of 360
    assert all(d["Confidence"] >= 80 for d in frame)


@pytest.mark.slow
def test_results_come_a_page_at_a_time(rekognition, read_job) -> None:  # type: ignore[no-untyped-def]
    job_id, done = read_job
    everything = done["TextDetections"]
    pages, token = [], None
    while True:
        page = _valid(
            rekognition.get_text_detection(
                JobId=job_id, MaxResults=4, **({"NextToken": token} if token else {})
            )
        )
        pages.append(page["TextDetections"])
        assert page["TextModelVersion"] == "1.0" and "VideoMetadata" in page
        token = page.get("NextToken")
        if token is None:
            break
    assert all(len(p) == 4 for p in pages[:-1]) and 0 < len(pages[-1]) <= 4
    assert [d for p in pages for d in p] == everything
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_text_detection(JobId=job_id, NextToken="not-a-token")
    assert _code(excinfo) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as excinfo:  # a job is read by its own kind's Get
        rekognition.get_face_detection(JobId=job_id)
    assert _code(excinfo) == "ResourceNotFoundException"


@pytest.mark.slow
def test_filters_are_detect_texts(rekognition, videos, captioned) -> None:  # type: ignore[no-untyped-def]
    """Only the top half (RegionsOfInterest), and only tall words (WordFilter): the bottom line
    and, with a height above the drawn words', everything is dropped."""
    video = videos("captions-filtered.mp4", captioned)
    region = {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 1.0, "Height": 0.5}}
    top = rekognition.start_text_detection(Video=video, Filters={"RegionsOfInterest": [region]})
    tall = rekognition.start_text_detection(
        Video=video, Filters={"WordFilter": {"MinBoundingBoxHeight": 0.5}}
    )
    top_done = _wait(rekognition, top["JobId"])
    assert _by_time(top_done["TextDetections"], "LINE") == {
        2000: ["OPENING NIGHT"],
        3000: ["OPENING NIGHT"],
        4000: ["BREAKING NEWS"],
        5000: ["BREAKING NEWS"],
    }
    tall_done = _wait(rekognition, tall["JobId"])
    assert tall_done["JobStatus"] == "SUCCEEDED" and tall_done["TextDetections"] == []


def test_a_region_that_is_not_one_is_refused_at_start(rekognition, videos, captioned) -> None:  # type: ignore[no-untyped-def]
    video = videos("captions-bad-region.mp4", captioned)
    for filters in (
        {"RegionsOfInterest": [{}]},
        {"RegionsOfInterest": [{"Polygon": [{"X": 0.1, "Y": 0.1}, {"X": 0.2, "Y": 0.2}]}]},
        {"WordFilter": {"MinConfidence": 101.0}},
    ):
        with pytest.raises(ClientError) as excinfo:
            rekognition.start_text_detection(
                Video=video, Filters=filters, ClientRequestToken="bad-region"
            )
        assert _code(excinfo) == "InvalidParameterException"
    # nothing was stored: the same token starts a job now, with a good request
    job_id = rekognition.start_text_detection(Video=video, ClientRequestToken="bad-region")
    assert _wait(rekognition, job_id["JobId"])["JobStatus"] == "SUCCEEDED"


def test_the_same_token_is_the_same_job(rekognition, videos, captioned) -> None:  # type: ignore[no-untyped-def]
    video = videos("captions-token.mp4", captioned)
    first = rekognition.start_text_detection(Video=video, ClientRequestToken="once")["JobId"]
    again = rekognition.start_text_detection(Video=video, ClientRequestToken="once")["JobId"]
    assert again == first
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_text_detection(Video=video, ClientRequestToken="once", JobTag="other")
    assert _code(excinfo) == "IdempotentParameterMismatchException"
    _wait(rekognition, first)


def test_a_missing_video_is_refused_at_start(rekognition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_text_detection(Video={"S3Object": {"Bucket": BUCKET, "Name": "no.mp4"}})
    assert _code(excinfo) == "InvalidS3ObjectException"


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 4096, b"\xff\xd8\xff\xe0 not a video at all"],
    ids=["empty", "zeros", "jpeg-ish"],
)
def test_a_broken_video_fails_its_job_with_a_message(rekognition, videos, content: bytes) -> None:  # type: ignore[no-untyped-def]
    video = videos(f"broken-{len(content)}.mp4", content)
    job_id = rekognition.start_text_detection(Video=video)["JobId"]
    failed = _wait(rekognition, job_id)
    assert failed["JobStatus"] == "FAILED"
    assert failed["StatusMessage"] and "Traceback" not in failed["StatusMessage"]
    assert failed["TextDetections"] == []


def test_an_unsupported_codec_fails_its_job_saying_so(rekognition, videos, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An MP4 of MPEG-4 Part 2 video (not H.264 or H.265, which Rekognition takes)."""
    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((96, 160, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    job_id = rekognition.start_text_detection(Video=videos("mpeg4.mp4", path))["JobId"]
    failed = _wait(rekognition, job_id)
    assert failed["JobStatus"] == "FAILED"
    assert "Rekognition takes H.264 and H.265" in failed["StatusMessage"]


def test_an_unknown_job_is_not_found(rekognition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_text_detection(JobId="0" * 32)
    assert _code(excinfo) == "ResourceNotFoundException"


@pytest.mark.slow
def test_governance_refuses_who_no_policy_allows_and_audits_counts_not_text(
    app_server: InProcessServer, rekognition, videos, captioned, read_job
) -> None:  # type: ignore[no-untyped-def]
    """A principal with no policy, and an ImageAnalyst (whose policy allows DetectText, which
    stores nothing, not jobs, which keep what they read for 7 days), are refused both calls;
    only a policy naming them (here Admin's ``rekognition:*``) allows them.  The admin's Get is
    audited with how many lines and words it revealed, not what they say."""
    governance = app_server.deployment.governance
    video = videos("captions-refused.mp4", captioned)
    job_id, _ = read_job
    for name, policy in (("text-video-nobody", None), ("text-video-analyst", "ImageAnalyst")):
        governance.ensure_principal(name)
        if policy:
            governance.attach(policy, name)
        key = app_server.deployment.keys.create(name)
        client = app_server.client(key.access_key_id, key.secret_access_key)
        with pytest.raises(ClientError) as excinfo:
            client.start_text_detection(Video=video)
        assert _code(excinfo) == "AccessDeniedException"
        with pytest.raises(ClientError) as excinfo:
            client.get_text_detection(JobId=job_id)
        assert _code(excinfo) == "AccessDeniedException"
    records = list(app_server.deployment.audit.records())
    for name in ("text-video-nobody", "text-video-analyst"):
        refused = [r for r in records if r.get("principal") == name]
        assert {r["operation"] for r in refused} == {"StartTextDetection", "GetTextDetection"}
        assert all(r.get("error") == "AccessDeniedException" for r in refused)
    reads = [
        r
        for r in records
        if r.get("operation") == "GetTextDetection"
        and r.get("decision") == "Allow"
        and r.get("result", {}).get("JobId") == job_id
        and r["result"].get("JobStatus") == "SUCCEEDED"
    ]
    assert reads, "the admin's Get of the finished job is audited"
    # 4 frames with text: 2 x (1 line, 2 words) + 2 x (2 lines, 5 words)
    assert any(
        r["result"].get("TextLines") == 6 and r["result"].get("TextWords") == 14 for r in reads
    )
    for record in reads:
        text = json.dumps(record)
        assert not any(word in text for word in ("OPENING", "NIGHT", "BREAKING", "Street"))
