"""The stream store on every state backend: a processor's statuses as Rekognition's move,
leases that keep one worker per running processor and let another resume it after a crash,
stop requests seen on renewal, and the ARN mappings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.errors import (
    InvalidParameterException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from agnosco.storage.database import open_database
from agnosco.streams.store import (
    FAILED,
    JSONL,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    WEBHOOK,
    Session,
    StreamStore,
)
from tests.clock import Clock

VIDEO_ARN = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/cam/1"
DATA_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/out"
DEFINITION = {"Settings": {"FaceSearch": {"CollectionId": "c", "FaceMatchThreshold": 80.0}}}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def streams(tmp_path: Path, store_url: str | None, clock: Clock) -> Iterator[StreamStore]:
    store = StreamStore(open_database(store_url, tmp_path / "agnosco.db"), owned=True, clock=clock)
    yield store
    store.close()


def session(clock: Clock, **changes: object) -> Session:
    values: dict[str, object] = {
        "session_id": "s-1",
        "principal": "p",
        "access_key_id": "AKIA",
        "purpose": None,
        "request_id": "r-1",
        "threshold": 80.0,
        "reviewers": 0,
        "started_at": clock.now,
        "stop_at": None,
    }
    return Session(**(values | changes))  # type: ignore[arg-type]


def test_a_processor_moves_through_its_statuses(streams: StreamStore, clock: Clock) -> None:
    created = streams.create("p1", "arn:p1", DEFINITION)
    assert created.status == STOPPED and created.session is None
    with pytest.raises(ResourceInUseException):
        streams.create("p1", "arn:p1", DEFINITION)
    with pytest.raises(ResourceInUseException):
        streams.stop("p1")
    assert streams.start("p1", session(clock)).status == STARTING
    with pytest.raises(ResourceInUseException):
        streams.start("p1", session(clock))
    claimed = streams.claim("w1", 30)
    assert claimed is not None and claimed.name == "p1" and claimed.lease_owner == "w1"
    assert claimed.session == session(clock)
    assert streams.claim("w2", 30) is None  # one worker per processor
    assert streams.mark_running("p1", "w1")
    assert streams.get("p1").status == RUNNING
    with pytest.raises(ResourceInUseException):
        streams.delete("p1")
    with pytest.raises(ResourceInUseException):
        streams.update("p1", DEFINITION)
    assert streams.stop("p1").status == STOPPING  # its worker holds it: asked to stop
    assert streams.renew("p1", "w1", 30) == STOPPING
    assert streams.finish("p1", "w1", STOPPED, None)
    stopped = streams.get("p1")
    assert stopped.status == STOPPED and stopped.session is None and stopped.lease_owner is None
    streams.delete("p1")
    with pytest.raises(ResourceNotFoundException):
        streams.get("p1")


def test_a_crashed_workers_processor_is_resumed_by_another(
    streams: StreamStore, clock: Clock
) -> None:
    streams.create("p1", "arn:p1", DEFINITION)
    streams.start("p1", session(clock))
    assert streams.claim("w1", 30) is not None
    streams.mark_running("p1", "w1")
    clock.now += 31  # w1's process died: its lease ran out
    resumed = streams.claim("w2", 30)
    assert resumed is not None and resumed.status == RUNNING and resumed.lease_owner == "w2"
    assert streams.renew("p1", "w1", 30) is None  # w1, if it comes back, must stop
    assert not streams.finish("p1", "w1", FAILED, "late")
    assert streams.renew("p1", "w2", 30) == RUNNING


def test_a_server_stopping_hands_its_processor_back_running(
    streams: StreamStore, clock: Clock
) -> None:
    streams.create("p1", "arn:p1", DEFINITION)
    streams.start("p1", session(clock))
    streams.claim("w1", 30)
    streams.mark_running("p1", "w1")
    streams.release("p1", "w1")
    assert streams.get("p1").status == RUNNING
    assert streams.claim("w2", 30) is not None  # at once, not after the lease


def test_a_processor_nobody_holds_stops_at_once(streams: StreamStore, clock: Clock) -> None:
    streams.create("p1", "arn:p1", DEFINITION)
    streams.start("p1", session(clock))
    assert streams.stop("p1").status == STOPPED
    streams.start("p1", session(clock, session_id="s-2"))
    streams.claim("w1", 30)
    streams.stop("p1")
    clock.now += 31  # its worker died while stopping it: the next claim ends it
    assert streams.claim("w2", 30) is None
    assert streams.get("p1").status == STOPPED


def test_processors_are_listed_by_name_a_page_at_a_time(streams: StreamStore) -> None:
    for name in ("b", "a", "c"):
        streams.create(name, f"arn:{name}", DEFINITION)
    page, last = streams.page(None, 2)
    assert [p.name for p in page] == ["a", "b"] and last == "b"
    page, last = streams.page(last, 2)
    assert [p.name for p in page] == ["c"] and last is None


def test_arns_map_to_sources_and_sinks(streams: StreamStore) -> None:
    streams.add_video_source(VIDEO_ARN, "rtsp://camera.local/stream")
    streams.add_video_source(VIDEO_ARN, "/srv/video.mp4")  # re-mapped
    assert [(m.arn, m.url) for m in streams.video_sources()] == [(VIDEO_ARN, "/srv/video.mp4")]
    streams.add_data_sink(DATA_ARN, JSONL, "/srv/records.jsonl")
    assert streams.data_sink(DATA_ARN).kind == JSONL  # type: ignore[union-attr]
    streams.add_data_sink(DATA_ARN, WEBHOOK, "http://127.0.0.1:9000/records")
    assert streams.data_sink(DATA_ARN).target == "http://127.0.0.1:9000/records"  # type: ignore[union-attr]
    for bad in (
        lambda: streams.add_video_source("arn:aws:sns:us-east-1:123456789012:t", "/x.mp4"),
        lambda: streams.add_video_source(VIDEO_ARN, "relative/path.mp4"),
        lambda: streams.add_video_source(VIDEO_ARN, "ftp://host/x"),
        lambda: streams.add_data_sink(VIDEO_ARN, JSONL, "/x"),
        lambda: streams.add_data_sink(DATA_ARN, JSONL, "relative.jsonl"),
        lambda: streams.add_data_sink(DATA_ARN, WEBHOOK, "file:///x"),
        lambda: streams.add_data_sink(DATA_ARN, "kafka", "x"),
    ):
        with pytest.raises(InvalidParameterException):
            bad()
    streams.remove_video_source(VIDEO_ARN)
    with pytest.raises(ResourceNotFoundException):
        streams.remove_video_source(VIDEO_ARN)
    assert streams.video_source(VIDEO_ARN) is None
