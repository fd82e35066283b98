"""``agnosco``: the server, its access keys, and face operations from the shell.

    agnosco serve [--host 127.0.0.1] [--port 8080] [--data-dir DIR]
    agnosco keys create --principal P | --admin [--purpose P];  agnosco keys list | revoke KEY
    agnosco principals create NAME [--organization O] [--organization-type T]
    agnosco roles create NAME --trust PRINCIPAL [--policy P] | list | show NAME | delete NAME
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
    agnosco celebrities add NAME IMAGE... [--url URL] [--known-gender G] | list | remove ID
    agnosco compare-faces SOURCE TARGET [--similarity-threshold 80] [--quality-filter NONE]

Each command group is a module of this package with a ``register(commands)`` function; a
group with actions gives each its own parser, so ``agnosco keys create --help`` is that
action's.  Face commands print the operation's Rekognition response as JSON.  Bad input prints
one line, ``error: <Code>: <message>`` (or ``error: <what is wrong and what to do>``), on
stderr and exits with status 1 (2 for a command line that does not parse), without a traceback.
Every command names the deployment the same way: ``--data-dir`` / ``$AGNOSCO_DATA_DIR``, else
the user's data directory (:func:`agnosco.settings.default_data_dir`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from agnosco import __version__
from agnosco.cli import (
    audit,
    bulk,
    celebrities,
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
    roles,
    serve,
    streams,
    usage,
)
from agnosco.cli.common import CliError
from agnosco.cli.logs import add_logging, configure_logging
from agnosco.errors import ServiceError
from agnosco.settings import Settings, SettingsError
from agnosco.storage.data_dir import DataDirError

COMMAND_GROUPS = [
    serve,
    keys,
    principals,
    roles,
    policies,
    review,
    audit,
    purge,
    notifications,
    jobs,
    streams,
    celebrities,
    evaluate,
    bulk,
    faces,
    redact,
    usage,
]


class Parser(argparse.ArgumentParser):
    """argparse's parser, saying what is wrong with a command line in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    summary = __doc__.split("\n\n")[0].replace("``", "")
    parser = Parser(prog="agnosco", description=summary)
    parser.add_argument("--version", action="version", version=f"agnosco {__version__}")
    add_logging(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # The one place settings are read: flags, then the environment, then the defaults.
        args.settings = Settings.load(vars(args))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.settings.log_level, args.settings.log_format)
    run: Callable[[argparse.Namespace], None] = args.run
    try:
        run(args)
    except (ServiceError, CliError, DataDirError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `agnosco keys list | head`: the reader has gone, no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail again
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
