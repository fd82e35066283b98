"""``agnosco serve``: the Rekognition-compatible HTTP server."""

from __future__ import annotations

import argparse
from pathlib import Path

from agnosco.cli.common import CliError, add_state, opening_state
from agnosco.cli.logs import add_logging
from agnosco.settings import Settings

#: What each setting is when neither a flag nor the environment gives it (for the help texts).
DEFAULTS = Settings()


def _serve(args: argparse.Namespace) -> None:
    from agnosco.server.run import ListenError, serve

    settings: Settings = args.settings
    if settings.ray_chunk_seconds <= 0:
        raise CliError("--ray-chunk-seconds must be more than 0")
    if settings.ray_address is not None:
        from agnosco.operations.video_analysis import check_cluster_address

        try:
            check_cluster_address(settings.ray_address)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    try:
        with opening_state():  # a bad --store, an unreachable database, a wrong master key...
            serve(args.settings)
    except ListenError as exc:  # the port is taken, the host is not this machine's: one line
        raise CliError(str(exc)) from None


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    # Every default is None here: Settings.load fills in the environment's, then its own.
    serve = commands.add_parser(
        "serve",
        help="run the Rekognition-compatible HTTP server",
        description="Serve the Rekognition API (AWS JSON 1.1, SigV4) over HTTP on HOST:PORT, for "
        "boto3 and the AWS CLI with endpoint_url / --endpoint-url. The first start of a new "
        "deployment makes an admin access key and writes it to DATA_DIR/admin-key.json. "
        "Every flag and environment variable: docs/configuration.md.",
    )
    serve.add_argument(
        "--host",
        default=None,
        help="the address to listen on: 127.0.0.1 for this machine alone, 0.0.0.0 for every "
        f"interface (default {DEFAULTS.host})",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"the TCP port to listen on, 1-65535, or 0 for any free one (default {DEFAULTS.port})",
    )
    add_state(serve)
    add_logging(serve, argparse.SUPPRESS)
    serve.add_argument(
        "--s3-dir",
        type=Path,
        default=None,
        help="folder whose sub-folders stand for S3 buckets (default: DATA_DIR/s3)",
    )
    serve.add_argument(
        "--s3-endpoint-url",
        default=None,
        help="read S3Object images from this S3-compatible endpoint instead of --s3-dir",
    )
    serve.add_argument(
        "--threshold-mode",
        choices=["refuse", "clamp"],
        default=None,
        help="a match threshold below a policy's minimum is refused (default) or raised to it",
    )
    serve.add_argument(
        "--max-retention-days",
        type=float,
        default=None,
        help="no face is kept longer than this, whatever its collection says "
        f"(default {DEFAULTS.max_retention_days:g} = 3 years)",
    )
    serve.add_argument(
        "--purge-interval",
        type=float,
        default=None,
        help=f"seconds between retention purges (default {DEFAULTS.purge_interval:g}; 0 turns them off)",
    )
    serve.add_argument(
        "--region",
        default=None,
        help="the deployment's region: in every ARN, and the one requests must be signed for "
        f"(default: $AGNOSCO_REGION, else {DEFAULTS.region})",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="ADDRESS",
        default=None,
        help="a reverse proxy whose X-Forwarded-For names the client (repeatable; default: "
        "$AGNOSCO_TRUSTED_PROXIES, comma-separated; none: forwarded headers are ignored)",
    )
    serve.add_argument(
        "--model-workers",
        type=int,
        default=None,
        help="threads that analyse images (default: one per CPU)",
    )
    serve.add_argument(
        "--job-workers",
        type=int,
        default=None,
        help="threads that analyse stored videos, one job each (default: 1)",
    )
    serve.add_argument(
        "--job-lease",
        dest="job_lease_seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a job whose server stopped renewing its lease this long (it was killed) is taken "
        "up by another worker (default: 60)",
    )
    serve.add_argument(
        "--stream-workers",
        type=int,
        default=None,
        help="stream processors this server runs at once (default: 4)",
    )
    serve.add_argument(
        "--stream-reconnect",
        dest="stream_reconnect_seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long a dropped video source is retried before its stream processor FAILS "
        "(default: 60)",
    )
    serve.add_argument(
        "--stream-lease",
        dest="stream_lease_seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a running stream processor whose server stopped renewing its lease this long (it "
        "was killed) is resumed by another server (default: 30)",
    )
    serve.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="analyse long stored videos in chunks on this Ray cluster: auto, HOST:PORT or "
        "ray://HOST:PORT (default: $AGNOSCO_RAY_ADDRESS, else none: in the job's worker)",
    )
    serve.add_argument(
        "--ray-chunk-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --ray-address, a video longer than this is cut into chunks of this length, "
        f"each a Ray task (default {DEFAULTS.ray_chunk_seconds:g})",
    )
    serve.add_argument(
        "--model-queue",
        type=int,
        default=None,
        help="image calls admitted at once, running or waiting; beyond, ThrottlingException "
        "(default: 4 per model worker)",
    )
    serve.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="requests a second each access key may make; beyond, "
        "ProvisionedThroughputExceededException (default: no limit)",
    )
    serve.add_argument(
        "--rate-burst",
        type=float,
        default=None,
        help="requests an access key may make at once above --rate-limit (default: twice it)",
    )
    serve.add_argument(
        "--console",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve the web console at /console (default: on; --no-console turns it off)",
    )
    serve.add_argument(
        "--console-session-hours",
        type=float,
        default=None,
        metavar="HOURS",
        help=f"how long a console sign-in lasts (default {DEFAULTS.console_session_hours:g})",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a request body whose parts are further apart than this is abandoned with "
        f"RequestTimeoutException (default {DEFAULTS.body_timeout:g})",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a connection whose request headers are not complete this long after it opens "
        f"(or after the request's first byte) is closed (default {DEFAULTS.header_timeout:g})",
    )
    serve.set_defaults(run=_serve)
