"""``agnosco redact VIDEO --out OUT.mp4``: every face of a video pixelated, before the footage is
released (:mod:`agnosco.vision.redact`).

    agnosco redact VIDEO --out OUT.mp4 [--check]
    agnosco redact VIDEO --out OUT.mp4 --spare-collection C [--spare-threshold 99]
        --principal P [--purpose P] [--job] [--check] [--data-dir D] [--store URL]
    agnosco redact VIDEO --out OUT.mp4 --job [--principal P] ...

Without ``--spare-collection`` or ``--job`` the command is a local tool, as ``detect-faces``
is: it reads one file and writes another, compares no face with anyone's, and needs no
deployment.  Sparing a collection's faces is identification, and a job is work of the
deployment: both go through the deployment's governance gate as ``StartFaceRedaction``
(:mod:`agnosco.operations.start_face_redaction`), for the principal ``--principal`` names — its
policies, organisation type and purpose decide, as they do for its API calls, and the audit log
records the call (principal, collection, threshold, files) and then the faces spared.  With
``--job`` the command prints the job's id and the server (``agnosco serve`` on the same state)
runs it; follow it with ``agnosco jobs show ID``.  Without, this process runs the job at once
(unless a server took it first: then it waits for it) and prints its result.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path
from typing import Any

from agnosco.cli.common import CliError, add_state, opening_state, print_json

OPERATION = "StartFaceRedaction"
#: How often a waiting command looks at a job a server runs.
POLL_SECONDS = 0.5


def _redact(args: argparse.Namespace) -> None:
    if not args.video.is_file():
        raise CliError(f"{args.video} is not a file")
    if args.out.resolve() == args.video.resolve():
        raise CliError("--out must not be the video itself")
    if args.spare_collection is None and args.spare_threshold is not None:
        raise CliError("--spare-threshold needs --spare-collection")
    if args.spare_collection is not None or args.job:
        _governed(args)
    else:
        _local(args)


def _local(args: argparse.Namespace) -> None:
    from agnosco.vision.detectors import make_detector
    from agnosco.vision.redact import count_leaks, redact_video

    detector = make_detector()
    done: Any = redact_video(args.video, args.out, detector)
    report = {
        "Video": str(args.video),
        "Output": str(args.out),
        "Frames": done.frames,
        "FramesWithFaces": done.frames_with_faces,
        "RegionsPixelated": done.regions,
    }
    if args.check:
        frames, leaks = count_leaks(args.out, detector)
        report |= {"CheckedFrames": frames, "FramesWhereAFaceIsStillFound": leaks}
    print_json(report)


def _governed(args: argparse.Namespace) -> None:
    from agnosco.deployment import open_deployment
    from agnosco.governance.actions import Caller
    from agnosco.jobs.runtime import JobRuntime
    from agnosco.jobs.store import IN_PROGRESS, SUCCEEDED
    from agnosco.operations import job_runners
    from agnosco.operations.start_face_redaction import KIND

    if args.spare_collection is not None and args.principal is None:
        raise CliError(
            "--spare-collection compares faces with a collection's (identification): name the "
            "principal it is done for with --principal"
        )
    request: dict[str, Any] = {
        "Input": str(args.video.resolve()),
        "Output": str(args.out.resolve()),
    }
    if args.spare_collection is not None:
        request["CollectionId"] = args.spare_collection
    if args.spare_threshold is not None:
        request["FaceMatchThreshold"] = args.spare_threshold
    if args.check:
        request["CheckLeaks"] = True
    with opening_state():
        deployment = open_deployment(args.settings)
    try:
        caller = Caller(
            principal=args.principal or "admin",
            access_key_id=None,
            source_ip="cli",  # the audit log's word for the command line
            region=args.settings.region,
            purpose=args.purpose,
            consent_reference=None,
            request_id=str(uuid.uuid4()),
        )
        started = deployment.gate.call(OPERATION, request, caller, deployment.context)
        job_id = str(started.response["JobId"])
        if args.job:
            print_json({"JobId": job_id})
            return
        jobs = deployment.jobs
        runtime = JobRuntime(jobs, {KIND: job_runners(deployment.context)[KIND]})
        claimed = jobs.claim(runtime.owner, runtime.lease_seconds, [KIND], job_id=job_id)
        if claimed is not None:
            runtime.run(claimed, runtime.owner)
        while (job := jobs.get(job_id)).status == IN_PROGRESS:  # a server's runtime took it
            time.sleep(POLL_SECONDS)
        if job.status != SUCCEEDED:
            raise CliError(f"the redaction job {job_id} failed: {job.status_message}")
        print_json({"JobId": job_id, "Video": str(args.video), **(job.result or {})})
    finally:
        deployment.close()


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "redact",
        help="pixelate every face of a video (MP4/MOV, H.264/H.265) before releasing it",
        description="Detect the faces of every frame and pixelate them (boxes grown to take in "
        "hair and chin, and held over a few frames so a missed detection shows nothing); write "
        "MPEG-4 video without the audio. --check runs the detector on the output and counts the "
        "frames where it still finds a face (that was not spared). --spare-collection leaves "
        "visible the faces a collection holds (identification: governed and audited as the "
        "--principal's). --job hands the work to the server's job runtime.",
    )
    p.add_argument("video", type=Path, metavar="VIDEO")
    p.add_argument(
        "--out", type=Path, required=True, metavar="OUT.mp4", help="the redacted video to write"
    )
    p.add_argument(
        "--check", action="store_true", help="count leaks: frames of the output with a face found"
    )
    p.add_argument(
        "--spare-collection",
        metavar="COLLECTION",
        help="leave visible the faces that match this collection's (e.g. an agency's officers)",
    )
    p.add_argument(
        "--spare-threshold",
        type=float,
        metavar="T",
        help="Similarity (0-100) a face must reach to be spared (default 99)",
    )
    p.add_argument(
        "--principal",
        help="the principal the redaction is done for, whose policies decide (required with "
        "--spare-collection; default for --job: admin)",
    )
    p.add_argument("--purpose", help="why (agnosco:Purpose; default: the principal's own)")
    p.add_argument(
        "--job",
        action="store_true",
        help="submit a job for the server (agnosco serve) to run; prints its JobId",
    )
    add_state(p)
    p.set_defaults(run=_redact)
