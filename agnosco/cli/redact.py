"""``agnosco redact VIDEO --out OUT.mp4 [--check]``: every face of a video pixelated, before the
footage is released (:mod:`agnosco.vision.redact`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from agnosco.cli.common import CliError, print_json


def _redact(args: argparse.Namespace) -> None:
    from agnosco.vision.detectors import make_detector
    from agnosco.vision.redact import count_leaks, redact_video

    if not args.video.is_file():
        raise CliError(f"{args.video} is not a file")
    if args.out.resolve() == args.video.resolve():
        raise CliError("--out must not be the video itself")
    detector = make_detector()
    done = redact_video(args.video, args.out, detector)
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


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "redact",
        help="pixelate every face of a video (MP4/MOV, H.264/H.265) before releasing it",
        description="Detect the faces of every frame and pixelate them (boxes grown to take in "
        "hair and chin, and held over a few frames so a missed detection shows nothing); write "
        "MPEG-4 video without the audio. --check runs the detector on the output and counts the "
        "frames where it still finds a face.",
    )
    p.add_argument("video", type=Path, metavar="VIDEO")
    p.add_argument(
        "--out", type=Path, required=True, metavar="OUT.mp4", help="the redacted video to write"
    )
    p.add_argument(
        "--check", action="store_true", help="count leaks: frames of the output with a face found"
    )
    p.set_defaults(run=_redact)
