"""``agnosco``: the server, its access keys, and face operations from the shell.

    agnosco serve [--host 127.0.0.1] [--port 8080] [--data-dir DIR]
    agnosco keys create|list|revoke [--principal P] [--purpose P] [--data-dir DIR]
    agnosco principals create NAME [--organization O] [--organization-type T]
    agnosco policies put NAME FILE.json | attach NAME --principal P | list | show NAME
    agnosco review list | show ID | decide ID --reviewer R --decision confirm|reject --reason ...
    agnosco audit verify | export
    agnosco purge [--now TIME] [--dry-run]
    agnosco notifications add TOPIC_ARN URL | list | remove TOPIC_ARN
    agnosco evaluate DATASET [--pairs P.csv] [--distinct] | --list;  agnosco calibrate DATASET
    agnosco index-folder DIR --collection C [--workers N | --ray-address ADDR];  agnosco index-s3 s3://B/P ...
    agnosco detect-faces IMAGE [--attributes ALL]
    agnosco redact VIDEO --out OUT.mp4 [--check] [--spare-collection C --principal P] [--job]
    agnosco jobs list [--kind K] [--status S] | show ID
    agnosco compare-faces SOURCE TARGET [--similarity-threshold 80] [--quality-filter NONE]

Each command group is a module of this package with a ``register(commands)`` function.
Face commands print the operation's Rekognition response as JSON.  Bad input prints one
line, ``error: <Code>: <message>``, on stderr and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from agnosco import __version__
from agnosco.cli import (
    audit,
    bulk,
    evaluate,
    faces,
    jobs,
    keys,
    notifications,
    policies,
    principals,
    purge,
    redact,
    review,
    serve,
    streams,
)
from agnosco.cli.common import CliError
from agnosco.errors import ServiceError
from agnosco.settings import Settings

COMMAND_GROUPS = [
    serve,
    keys,
    principals,
    policies,
    review,
    audit,
    purge,
    notifications,
    jobs,
    streams,
    evaluate,
    bulk,
    faces,
    redact,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agnosco", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"agnosco {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The one place settings are read: flags, then the environment, then the defaults.
    args.settings = Settings.load(vars(args))
    run: Callable[[argparse.Namespace], None] = args.run
    try:
        run(args)
    except (ServiceError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
