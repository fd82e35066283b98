"""``agnosco detect-faces`` and ``agnosco compare-faces``: operations without a server."""

from __future__ import annotations

import argparse
from typing import Any

from agnosco.cli.common import print_json, read_file


def _detect_faces(args: argparse.Namespace) -> None:
    from agnosco.operations import OperationContext, invoke

    request = {"Image": {"Bytes": read_file(args.image)}, "Attributes": args.attributes}
    print_json(invoke("DetectFaces", request, OperationContext()))


def _compare_faces(args: argparse.Namespace) -> None:
    from agnosco.operations import OperationContext, invoke

    request: dict[str, Any] = {
        "SourceImage": {"Bytes": read_file(args.source)},
        "TargetImage": {"Bytes": read_file(args.target)},
        "SimilarityThreshold": args.similarity_threshold,
        "QualityFilter": args.quality_filter,
    }
    print_json(invoke("CompareFaces", request, OperationContext()))


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    detect = commands.add_parser("detect-faces", help="detect faces and print FaceDetails")
    detect.add_argument("image", help="JPEG or PNG file")
    detect.add_argument(
        "--attributes",
        nargs="+",
        default=["DEFAULT"],
        metavar="ATTR",
        help="DEFAULT (default), ALL, or attribute names such as SMILE EYES_OPEN",
    )
    detect.set_defaults(run=_detect_faces)

    compare = commands.add_parser(
        "compare-faces", help="compare the largest source face with the target's faces"
    )
    compare.add_argument("source", help="JPEG or PNG file; its largest face is compared")
    compare.add_argument("target", help="JPEG or PNG file; every face is compared")
    compare.add_argument(
        "--similarity-threshold",
        type=float,
        default=80.0,
        metavar="N",
        help="minimum Similarity (0-100) of a match (default 80)",
    )
    compare.add_argument(
        "--quality-filter",
        default="NONE",
        choices=["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"],
        help="faces of lower quality are not compared (default NONE: every face is)",
    )
    compare.set_defaults(run=_compare_faces)
