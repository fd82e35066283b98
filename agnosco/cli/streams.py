"""``agnosco video-sources`` and ``agnosco data-sinks``: what the Kinesis ARNs of stream
processors stand for on this deployment.

* ``agnosco video-sources add ARN URL | list | remove ARN``: a Kinesis video stream ARN (a
  processor's ``Input``) -> an ``rtsp://`` or ``http(s)://`` stream, a video file, or a camera
  device (``/dev/video0``).
* ``agnosco data-sinks add ARN (--jsonl PATH | --webhook URL) | list | remove ARN``: a Kinesis
  data stream ARN (a processor's ``Output``) -> a JSON Lines file or an HTTP endpoint.

Each change is audited, as every configuration change made from the command line is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agnosco.cli.common import CliError, add_state, print_json
from agnosco.cli.governed import audit_cli, governance


def _video_sources(args: argparse.Namespace) -> None:
    from agnosco.streams.store import StreamStore

    with governance(args) as parts:
        streams = StreamStore(parts.database)
        try:
            if args.action == "list":
                print_json([m.__dict__ for m in streams.video_sources()])
                return
            if not args.arn:
                raise CliError(f"video-sources {args.action} needs an ARN")
            if args.action == "add":
                if not args.url:
                    raise CliError("video-sources add needs a URL (or a file or device path)")
                url = args.url
                if "://" not in url and not url.startswith("/"):
                    url = str(Path(url).resolve())
                streams.add_video_source(args.arn, url)
                audit_cli(parts.audit, "agnosco:AddVideoSource", arn=args.arn, url=url)
                print(f"stream processors reading {args.arn} now read {url}")
            else:
                streams.remove_video_source(args.arn)
                audit_cli(parts.audit, "agnosco:RemoveVideoSource", arn=args.arn)
                print(f"removed the video source of {args.arn}")
        finally:
            streams.close()


def _data_sinks(args: argparse.Namespace) -> None:
    from agnosco.streams.store import JSONL, WEBHOOK, StreamStore

    with governance(args) as parts:
        streams = StreamStore(parts.database)
        try:
            if args.action == "list":
                print_json([m.__dict__ for m in streams.data_sinks()])
                return
            if not args.arn:
                raise CliError(f"data-sinks {args.action} needs an ARN")
            if args.action == "add":
                if bool(args.jsonl) == bool(args.webhook):
                    raise CliError("data-sinks add needs one of --jsonl PATH or --webhook URL")
                kind, target = (
                    (JSONL, str(Path(args.jsonl).resolve()))
                    if args.jsonl
                    else (WEBHOOK, args.webhook)
                )
                streams.add_data_sink(args.arn, kind, target)
                audit_cli(
                    parts.audit, "agnosco:AddDataSink", arn=args.arn, kind=kind, target=target
                )
                print(f"stream processors writing {args.arn} now write to {kind} {target}")
            else:
                streams.remove_data_sink(args.arn)
                audit_cli(parts.audit, "agnosco:RemoveDataSink", arn=args.arn)
                print(f"removed the data sink of {args.arn}")
        finally:
            streams.close()


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "video-sources",
        help="what stream processors' Kinesis video stream ARNs read (RTSP, HTTP, file, camera)",
        description="Map the Kinesis video stream ARN a stream processor's Input names to a "
        "source this server reads: rtsp:// or http(s):// (what FFmpeg reads: RTSP cameras, "
        "MJPEG, HLS, MPEG-TS), a video file (played at its own pace), or a camera device.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    arn_help = "arn:aws:kinesisvideo:REGION:ACCOUNT:stream/NAME/..."
    add = actions.add_parser("add", help="read ARN's video from URL")
    add.add_argument("arn", metavar="ARN", help=arn_help)
    add.add_argument("url", metavar="URL", help="rtsp://, http(s)://, a file or /dev/videoN")
    listing = actions.add_parser("list", help="list the video sources as JSON")
    remove = actions.add_parser("remove", help="forget ARN's video source")
    remove.add_argument("arn", metavar="ARN", help=arn_help)
    for action in (add, listing, remove):
        add_state(action)
        action.set_defaults(run=_video_sources, arn=None, url=None)

    p = commands.add_parser(
        "data-sinks",
        help="where stream processors' Kinesis data stream ARNs write (JSON Lines or webhook)",
        description="Map the Kinesis data stream ARN a stream processor's Output names to a "
        "JSON Lines file (one record a line) or an HTTP(S) endpoint (a POST a record).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    arn_help = "arn:aws:kinesis:REGION:ACCOUNT:stream/NAME"
    add = actions.add_parser("add", help="write ARN's records to a file (--jsonl) or a URL")
    add.add_argument("arn", metavar="ARN", help=arn_help)
    add.add_argument("--jsonl", metavar="PATH", help="append each record to this file")
    add.add_argument("--webhook", metavar="URL", help="POST each record to this URL")
    listing = actions.add_parser("list", help="list the data sinks as JSON")
    remove = actions.add_parser("remove", help="forget ARN's data sink")
    remove.add_argument("arn", metavar="ARN", help=arn_help)
    for action in (add, listing, remove):
        add_state(action)
        action.set_defaults(run=_data_sinks, arn=None, jsonl=None, webhook=None)
