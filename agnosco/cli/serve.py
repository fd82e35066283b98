"""``agnosco serve``: the Rekognition-compatible HTTP server."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agnosco.cli.common import add_state, opening_state
from agnosco.deployment import DEFAULT_REGION


def _serve(args: argparse.Namespace) -> None:
    from agnosco.server.run import serve

    with opening_state():  # a bad --store, an unreachable database or a wrong master key: one line
        serve(args.data_dir, host=args.host, port=args.port, s3_dir=args.s3_dir,
              s3_endpoint_url=args.s3_endpoint_url, threshold_mode=args.threshold_mode,
              max_retention_days=args.max_retention_days, purge_interval=args.purge_interval,
              store_url=args.store, region=args.region, trusted_proxies=args.trusted_proxy,
              model_workers=args.model_workers, model_queue=args.model_queue, rate_limit=args.rate_limit,
              rate_burst=args.rate_burst, body_timeout=args.body_timeout, header_timeout=args.header_timeout)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser("serve", help="run the Rekognition-compatible HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    add_state(serve)
    serve.add_argument("--s3-dir", type=Path, default=None,
                       help="folder whose sub-folders stand for S3 buckets (default: DATA_DIR/s3)")
    serve.add_argument("--s3-endpoint-url", default=None,
                       help="read S3Object images from this S3-compatible endpoint instead of --s3-dir")
    serve.add_argument("--threshold-mode", choices=["refuse", "clamp"], default="refuse",
                       help="a match threshold below a policy's minimum is refused (default) or raised to it")
    serve.add_argument("--max-retention-days", type=float, default=1095,
                       help="no face is kept longer than this, whatever its collection says (default 1095 = 3 years)")
    serve.add_argument("--purge-interval", type=float, default=3600,
                       help="seconds between retention purges (default 3600; 0 turns them off)")
    serve.add_argument("--region", default=os.environ.get("AGNOSCO_REGION") or DEFAULT_REGION,
                       help="the deployment's region: in every ARN, and the one requests must be signed for "
                            f"(default: $AGNOSCO_REGION, else {DEFAULT_REGION})")
    serve.add_argument("--trusted-proxy", action="append", metavar="ADDRESS",
                       default=[a for a in os.environ.get("AGNOSCO_TRUSTED_PROXIES", "").split(",") if a.strip()],
                       help="a reverse proxy whose X-Forwarded-For names the client (repeatable; default: "
                            "$AGNOSCO_TRUSTED_PROXIES, comma-separated; none: forwarded headers are ignored)")
    serve.add_argument("--model-workers", type=int, default=None,
                       help="threads that analyse images (default: one per CPU)")
    serve.add_argument("--model-queue", type=int, default=None,
                       help="image calls admitted at once, running or waiting; beyond, ThrottlingException "
                            "(default: 4 per model worker)")
    serve.add_argument("--rate-limit", type=float, default=None, metavar="PER_SECOND",
                       help="requests a second each access key may make; beyond, "
                            "ProvisionedThroughputExceededException (default: no limit)")
    serve.add_argument("--rate-burst", type=float, default=None,
                       help="requests an access key may make at once above --rate-limit (default: twice it)")
    serve.add_argument("--body-timeout", type=float, default=20.0, metavar="SECONDS",
                       help="a request body whose parts are further apart than this is abandoned with "
                            "RequestTimeoutException (default 20)")
    serve.add_argument("--header-timeout", type=float, default=20.0, metavar="SECONDS",
                       help="a connection whose request headers are not complete this long after it opens "
                            "(or after the request's first byte) is closed (default 20)")
    serve.set_defaults(run=_serve)
