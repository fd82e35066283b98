"""``agnosco audit verify|export|checkpoint``: check and read the audit log (``DATA_DIR/audit.db``, or the
store's PostgreSQL database with ``--store``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agnosco.cli.common import CliError, add_state, opening_state


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from agnosco.deployment import open_audit
    from agnosco.governance.audit import AuditLogMissing

    with opening_state():
        try:
            # Never create a log here: a missing log is exactly what a deleted log looks like.
            return open_audit(args.settings, create=False)
        except AuditLogMissing as exc:
            raise CliError(str(exc)) from None


def _verify(args: argparse.Namespace) -> None:
    checkpoints = []
    for path in args.checkpoints or []:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            checkpoints += [json.loads(line) for line in lines if line.strip()]
        except ValueError as exc:
            raise CliError(f"{path} is not JSON Lines of checkpoints: {exc}") from exc
    with _open(args) as log:
        report = log.verify(checkpoints)
    if report.ok and checkpoints:
        print(f"audit log OK: {report.count} records; holds all {len(checkpoints)} checkpoints")
        return
    if report.ok:
        print(f"audit log OK: {report.count} records")
        return
    for problem in report.problems:
        print(problem)
    sys.stdout.flush()
    raise CliError(
        f"audit log FAILED verification: {len(report.problems)} problem(s) in {report.count} records"
    )


def _export(args: argparse.Namespace) -> None:
    with _open(args) as log:
        if args.output is None:
            if hasattr(sys.stdout, "reconfigure"):
                sys.stdout.reconfigure(encoding="utf-8")  # JSON Lines is UTF-8
            log.export(sys.stdout)
            sys.stdout.flush()
            return
        try:
            with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
                count = log.export(fh)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    print(f"exported {count} records to {args.output}", file=sys.stderr)


def _checkpoint(args: argparse.Namespace) -> None:
    from agnosco.governance.audit import AuditLogError

    with _open(args) as log:
        try:
            line = json.dumps(log.checkpoint(), sort_keys=True)
        except AuditLogError as exc:
            raise CliError(str(exc)) from None
    if args.output is None:
        print(line)
        return
    try:
        with open(args.output, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from exc


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = commands.add_parser("audit", help="verify or export the audit log")
    actions = audit.add_subparsers(dest="audit_action", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the hash chain and the keyed head; exit 1 and list problems if tampered",
    )
    verify.add_argument(
        "--checkpoints",
        action="append",
        type=Path,
        metavar="FILE",
        help="JSON Lines of `audit checkpoint` output kept elsewhere: the log must still "
        "hold each (detects a cut-off end or a rolled-back log; repeatable)",
    )
    add_state(verify)
    verify.set_defaults(run=_verify)
    checkpoint = actions.add_parser(
        "checkpoint",
        help="print a signed checkpoint of the log's head, to keep outside the data directory",
    )
    checkpoint.add_argument(
        "--output", "-o", type=Path, help="append it to this file (default: stdout)"
    )
    add_state(checkpoint)
    checkpoint.set_defaults(run=_checkpoint)
    export = actions.add_parser("export", help="write the records as JSON Lines, in order")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    add_state(export)
    export.set_defaults(run=_export)
