"""What every command group shares: errors, JSON output, the data directory and store options."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agnosco.settings import DEFAULT_DATA_DIR_TEXT, Settings


class CliError(Exception):
    """A problem with the command line itself (e.g. an unreadable file); exit status 1."""


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def read_file(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the deployment keeps its state; every command names the same one with it "
        f"(default: $AGNOSCO_DATA_DIR, else the user's data directory: {DEFAULT_DATA_DIR_TEXT})",
    )


def add_store(parser: argparse.ArgumentParser) -> None:
    """``--store URL``: where collections, faces and users live (:func:`agnosco.storage.open_store`),
    and with them access keys, principals, policies, reviews and the audit log when it is PostgreSQL."""
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="where state lives: 'sqlite' (DATA_DIR/agnosco.db and audit.db, the default), sqlite:///PATH "
        "(faces there, the rest in DATA_DIR), or postgresql://USER:PASSWORD@HOST:PORT/DB (PostgreSQL "
        "with pgvector: faces, keys, policies, reviews and the audit log, shared by several servers; "
        "give each the same $AGNOSCO_MASTER_KEY); default: $AGNOSCO_STORE",
    )


def add_state(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--store``: where a command finds the deployment's state."""
    add_data_dir(parser)
    add_store(parser)


@contextmanager
def saying_if_new(settings: Settings, new: bool) -> Iterator[None]:
    """Around a command's work on a deployment it has just made (``new``): say so, on stderr,
    once the command has done its work; when it fails, in its one error line.  Never a fresh
    deployment without saying so."""
    from agnosco.deployment import new_deployment_notice
    from agnosco.errors import ServiceError

    try:
        yield
    except (ServiceError, CliError) as exc:
        if new:
            raise CliError(f"{exc} ({new_deployment_notice(settings)})") from exc
        raise
    if new:
        print(new_deployment_notice(settings), file=sys.stderr)


@contextmanager
def opening_state() -> Iterator[None]:
    """Turn what can go wrong opening the state (a bad ``--store`` URL, an unreachable database,
    a wrong master key) into one-line errors."""
    from agnosco.auth.keys import MasterKeyError
    from agnosco.storage import StoreURLError
    from agnosco.storage.data_dir import DataDirError
    from agnosco.storage.database import SchemaError

    try:
        yield
    except DataDirError as exc:
        raise CliError(str(exc)) from exc
    except StoreURLError as exc:
        raise CliError(f"--store: {exc}") from exc
    except (MasterKeyError, SchemaError) as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:
        if type(exc).__module__.startswith(
            ("psycopg", "psycopg_pool")
        ):  # never the URL: it may hold a password
            raise CliError(f"--store: cannot use the PostgreSQL database: {exc}") from exc
        raise
