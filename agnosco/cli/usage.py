"""``agnosco usage`` and ``agnosco quotas set|show``: what a deployment metered in a month, and
the quotas per principal (``docs/usage.md``).

Like every command naming state, these run as the local administrator: reading usage and
setting a quota are audited (``agnosco:ReadUsage``, ``agnosco:PutQuota``); the console decides
the same actions by policy.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from agnosco.cli.common import CliError, add_state, opening_state, print_json
from agnosco.cli.governed import audit_cli, governance

if TYPE_CHECKING:
    from agnosco.governance.usage import UsageMeter, UsageReport


@contextmanager
def _meter(args: argparse.Namespace) -> Iterator[tuple[UsageMeter, object]]:
    import time

    from agnosco.governance.usage import Quotas, UsageMeter
    from agnosco.jobs.store import JobStore
    from agnosco.storage import open_store

    with governance(args) as parts:
        with opening_state():
            store = open_store(
                args.settings.store_url, args.settings.data_dir, database=parts.database
            )
        try:
            meter = UsageMeter(
                parts.audit.database,
                Quotas(parts.database),
                store=store,
                jobs=JobStore(parts.database),
                clock=time.time,
            )
            yield meter, parts.audit
        finally:
            store.close()


def table(report: UsageReport) -> str:
    """The report as a plain-text table: a row per principal and collection."""
    operations = report.operations()
    videos = report.video_operations()
    header = [
        "Principal",
        "Collection",
        *operations,
        "Images",
        "Face-months",
        "Faces stored",
        *[f"{op} min" for op in videos],
    ]
    lines = [header]
    for row in report.rows:
        lines.append(
            [
                row.principal or "-",
                row.collection or "-",
                *[str(row.images.get(op, 0)) for op in operations],
                str(row.total_images),
                f"{row.face_months:.4f}",
                str(row.faces_stored),
                *[f"{row.video_minutes.get(op, 0.0):.2f}" for op in videos],
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    title = f"Usage in {report.month} (UTC)"
    if not report.rows:
        return f"{title}: nothing metered"
    return "\n".join([title, *text])


def _usage(args: argparse.Namespace) -> None:
    from agnosco.errors import InvalidParameterException
    from agnosco.governance.usage import month_span

    if args.month is not None:  # before anything is opened (or made)
        try:
            month_span(args.month)
        except InvalidParameterException as exc:
            raise CliError(exc.message) from None
    with _meter(args) as (meter, audit):
        report = meter.report(args.month, args.principal)
        audit_cli(
            audit,  # type: ignore[arg-type]
            "agnosco:ReadUsage",
            Month=report.month,
            Principal=args.principal,
        )
    if args.json:
        print_json(report.to_json())
    else:
        print(table(report))


def _quotas(args: argparse.Namespace) -> None:
    import time

    from agnosco.errors import InvalidParameterException
    from agnosco.governance.usage import Quotas

    with governance(args) as parts:
        quotas = Quotas(parts.database)
        if args.quota_action == "set":
            if args.faces is None and args.images_per_month is None and not args.clear:
                raise CliError("quotas set needs --faces, --images-per-month or --clear")
            if args.clear and (args.faces is not None or args.images_per_month is not None):
                raise CliError("quotas set --clear takes no --faces or --images-per-month")
            if parts.governance.resolve(args.principal)[0] is None:
                raise CliError(f"no principal named {args.principal}")
            current = quotas.get(args.principal)
            faces: int | None = args.faces
            images: int | None = args.images_per_month
            if faces is None and current is not None:
                faces = current.faces
            if images is None and current is not None:
                images = current.images_per_month
            if args.clear:
                faces = images = None
            details = {"Principal": args.principal, "Faces": faces, "ImagesPerMonth": images}
            audit_cli(parts.audit, "agnosco:PutQuota", **details, Phase="intent")
            try:
                quotas.set(args.principal, faces=faces, images_per_month=images, now=time.time())
            except InvalidParameterException as exc:
                raise CliError(exc.message) from None
            audit_cli(parts.audit, "agnosco:PutQuota", **details)
            print_json(details)
        else:
            print_json(
                [
                    {
                        "Principal": q.principal,
                        "Faces": q.faces,
                        "ImagesPerMonth": q.images_per_month,
                    }
                    for q in quotas.list()
                    if args.principal is None or q.principal == args.principal
                ]
            )


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a quota cannot be negative: {value}")
    return value


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    usage = commands.add_parser(
        "usage",
        help="images processed, face-months stored and video minutes, by principal and collection",
    )
    usage.add_argument(
        "--month", metavar="YYYY-MM", help="the calendar month, UTC (default: this one)"
    )
    usage.add_argument("--principal", metavar="P", help="only this principal's usage")
    usage.add_argument("--json", action="store_true", help="print the report as JSON")
    add_state(usage)
    usage.set_defaults(run=_usage)

    quotas = commands.add_parser("quotas", help="set or show per-principal quotas")
    actions = quotas.add_subparsers(dest="quota_action", required=True, metavar="ACTION")
    put = actions.add_parser("set", help="set a principal's quotas (the others kept)")
    put.add_argument("principal", metavar="PRINCIPAL", help="the principal")
    put.add_argument(
        "--faces", type=_count, metavar="N", help="the most faces it may have stored at once"
    )
    put.add_argument(
        "--images-per-month",
        type=_count,
        metavar="N",
        help="the most images its calls may analyse in a calendar month (UTC)",
    )
    put.add_argument("--clear", action="store_true", help="remove its quotas")
    show = actions.add_parser("show", help="the quotas, as JSON")
    show.add_argument("--principal", metavar="P", help="only this principal's")
    for action in (put, show):
        add_state(action)
        action.set_defaults(run=_quotas)
    show.set_defaults(faces=None, images_per_month=None, clear=False)
