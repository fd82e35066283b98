"""The general frame-analysis job (:mod:`agnosco.operations.frame_analysis`) with an analyser
of its own, not a model: every frame sampled at the kind's rate reaches it, its bodies come
back stamped with the frame's timestamp in time order, the runner's result has the video's
metadata and the kind's members, and a broken video fails the job with a message."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from agnosco.jobs.runtime import JobRun, JobRuntime
from agnosco.jobs.store import FAILED, SUCCEEDED, Item, JobStore
from agnosco.operations.context import OperationContext
from agnosco.operations.frame_analysis import BATCH_FRAMES, FrameAnalyser, frame_analysis_runner
from agnosco.operations.videos import VideoSource
from agnosco.vision.image import DecodedImage

BUCKET = "clips"


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobStore]:
    store = JobStore(tmp_path / "agnosco.db", owned=True)
    yield store
    store.close()


def _grey_video(path: Path, seconds: int, fps: int = 10) -> Path:
    """Each second's frames one grey level: 40, 80, 120, ... (second 0, 1, 2, ...)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for n in range(seconds * fps):
            level = 40 * (n // fps + 1)
            pixels = np.full((96, 160, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _brightness(request: Mapping[str, Any]) -> FrameAnalyser:
    """Reports each frame's mean level, rounded to the request's Step, once per Copies."""
    step = request["Step"]

    def analyse(image: DecodedImage) -> Sequence[Mapping[str, Any]]:
        level = round(float(image.pixels.mean()) / step) * step
        return [{"Level": {"Value": level, "Copy": n}} for n in range(request["Copies"])]

    return analyse


def _run(jobs: JobStore, tmp_path: Path, request: dict[str, Any], fps: float) -> str:
    context = OperationContext(videos=VideoSource(s3_dir=tmp_path / "s3"))
    runner = frame_analysis_runner(context, _brightness, fps=fps, result={"LevelVersion": "1"})
    runtime = JobRuntime(jobs, {"Brightness": runner})
    submitted = jobs.submit("Brightness", request)
    claimed = jobs.claim("test", 60.0, ["Brightness"])
    assert claimed is not None and claimed.job_id == submitted.job_id
    runtime.run(claimed, "test")
    return submitted.job_id


def test_every_sampled_frame_is_analysed_and_stamped(jobs: JobStore, tmp_path: Path) -> None:
    (tmp_path / "s3" / BUCKET).mkdir(parents=True)
    _grey_video(tmp_path / "s3" / BUCKET / "grey.mp4", seconds=3)
    video = {"S3Object": {"Bucket": BUCKET, "Name": "grey.mp4"}}
    job_id = _run(jobs, tmp_path, {"Video": video, "Step": 10, "Copies": 2}, fps=2.0)
    job = jobs.get(job_id)
    assert job.status == SUCCEEDED, job.status_message
    assert job.result is not None and job.result["LevelVersion"] == "1"
    metadata = job.result["VideoMetadata"]
    assert (metadata["FrameWidth"], metadata["FrameHeight"], metadata["Codec"]) == (160, 96, "h264")
    items, _ = jobs.items(job_id, None, 100)
    bodies = [item.body for item in items]
    # two frames a second (0, 500, ... 2500 ms), two bodies a frame, each second's grey level
    assert [(b["Timestamp"], b["Level"]["Copy"]) for b in bodies] == [
        (t, c) for t in range(0, 3000, 500) for c in (0, 1)
    ]
    assert [b["Level"]["Value"] for b in bodies[::2]] == [40, 40, 80, 80, 120, 120]
    assert all(item.timestamp_ms == item.body["Timestamp"] for item in items)


def test_a_broken_video_fails_the_job_with_a_message(jobs: JobStore, tmp_path: Path) -> None:
    (tmp_path / "s3" / BUCKET).mkdir(parents=True)
    (tmp_path / "s3" / BUCKET / "broken.mp4").write_bytes(b"\x00" * 4096)
    video = {"S3Object": {"Bucket": BUCKET, "Name": "broken.mp4"}}
    job = jobs.get(_run(jobs, tmp_path, {"Video": video, "Step": 1, "Copies": 1}, fps=1.0))
    assert job.status == FAILED
    assert job.status_message and "MP4 or MOV" in job.status_message
    assert jobs.items(job.job_id, None, 10)[0] == []


def test_a_kinds_sort_key_orders_by_key_and_its_record_sees_each_batch_before_it_is_stored(
    jobs: JobStore, tmp_path: Path
) -> None:
    """Sort key: the copy number, so by key all copies 1 come after all copies 0.  Record: it
    is called with each batch while the store holds only the batches before it; one that fails
    fails the job, and its batch is never stored.  Every frame of the 10 fps video is sampled."""
    (tmp_path / "s3" / BUCKET).mkdir(parents=True)
    _grey_video(tmp_path / "s3" / BUCKET / "grey.mp4", seconds=3)
    video = {"S3Object": {"Bucket": BUCKET, "Name": "grey.mp4"}}
    context = OperationContext(videos=VideoSource(s3_dir=tmp_path / "s3"))
    seen: list[tuple[int, int]] = []  # (items stored before the batch, items in it)

    def record(job: JobRun) -> Callable[[Sequence[Item]], None]:
        def write(batch: Sequence[Item]) -> None:
            stored = len(jobs.items(job.job.job_id, None, 1000)[0])
            seen.append((stored, len(batch)))
            if job.request.get("Refuse") and stored:
                raise RuntimeError("the log refused the second batch")

        return write

    runner = frame_analysis_runner(
        context,
        _brightness,
        fps=10.0,
        sort_key=lambda body: int(body["Level"]["Copy"]),
        record=record,
    )
    runtime = JobRuntime(jobs, {"Brightness": runner})

    def run(request: dict[str, Any]) -> str:
        submitted = jobs.submit("Brightness", request)
        claimed = jobs.claim("test", 60.0, ["Brightness"])
        assert claimed is not None
        runtime.run(claimed, "test")
        return submitted.job_id

    job_id = run({"Video": video, "Step": 10, "Copies": 2})
    assert jobs.get(job_id).status == SUCCEEDED
    assert BATCH_FRAMES == 25  # 30 frames, 2 bodies each: a batch of 25 frames, then 5
    assert seen == [(0, 50), (50, 10)]
    by_key, _ = jobs.items(job_id, None, 100, by_key=True)
    assert [(i.body["Level"]["Copy"], i.timestamp_ms) for i in by_key] == [
        (c, t) for c in (0, 1) for t in range(0, 3000, 100)
    ]
    assert [i.sort_key for i in by_key] == [0] * 30 + [1] * 30
    refused = run({"Video": video, "Step": 10, "Copies": 2, "Refuse": True})
    assert jobs.get(refused).status == FAILED
    assert len(jobs.items(refused, None, 100)[0]) == 50  # the first batch only
