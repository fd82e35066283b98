"""``agnosco purge``: delete faces past their retention now, with a receipt in the audit log."""

from __future__ import annotations

import argparse
import datetime as dt
import time

from agnosco.cli.common import CliError, add_state, opening_state, print_json
from agnosco.settings import DEFAULT_MAX_RETENTION_DAYS


def _when(text: str | None) -> float:
    if text is None:
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--now must be epoch seconds or an ISO 8601 time, not {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _purge(args: argparse.Namespace) -> None:
    import getpass

    from agnosco.deployment import open_audit
    from agnosco.governance.retention import purge
    from agnosco.storage import open_store
    from agnosco.storage.data_dir import prepare_data_dir

    with opening_state():
        prepare_data_dir(args.settings.data_dir)  # a file or an unwritable one: one line
        store = open_store(args.settings.store_url, args.settings.data_dir)
        try:
            audit = open_audit(args.settings)  # the receipt goes where the faces were
        except BaseException:
            store.close()
            raise
    try:
        receipt = purge(
            store,
            audit,
            _when(args.now),
            max_retention_days=args.settings.max_retention_days,
            dry_run=args.dry_run,
            actor=f"cli:{getpass.getuser()}",
        )
    finally:
        store.close()
        audit.close()
    print_json(
        {
            "DryRun": args.dry_run,
            "DeletedFaces": receipt.deleted_faces,
            "Verified": receipt.verified,
            "Collections": [
                {
                    "CollectionId": c.collection_id,
                    "FaceIds": c.deleted_faces,
                    "UserIds": c.deleted_users,
                    "Verified": c.verified,
                    "Problems": c.problems,
                }
                for c in receipt.collections
            ],
        }
    )
    if not receipt.verified:
        raise CliError("some deleted faces could still be found; see Problems")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "purge", help="delete faces past their retention (and verify they are gone)"
    )
    p.add_argument(
        "--now", help="the time to purge as of (epoch seconds or ISO 8601; default: now)"
    )
    p.add_argument(
        "--max-retention-days",
        type=float,
        default=None,
        help=f"ceiling for every collection (default {DEFAULT_MAX_RETENTION_DAYS} days = 3 years)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    add_state(p)
    p.set_defaults(run=_purge)
