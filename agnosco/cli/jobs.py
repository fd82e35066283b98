"""``agnosco jobs list | show ID``: the deployment's jobs (stored-video analyses, redactions) and
their state.

What a job found that identifies someone (a face search's matches, a redaction's spared faces)
is not shown here: a face search's matches are answered by GetFaceSearch through the gate, under
review when a policy says so, and a redaction's are in the audit log.  A job's own result is
shown: a video's metadata, a redaction's output and counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING, Any

from agnosco.cli.common import CliError, add_state, opening_state, print_json

if TYPE_CHECKING:
    from agnosco.jobs.store import Job


def _when(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown(job: Job, *, full: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "JobId": job.job_id,
        "Kind": job.kind,
        "JobStatus": job.status,
        "Principal": job.principal,
        "CreatedAt": _when(job.created_at),
        "CompletedAt": _when(job.completed_at),
    }
    if job.status_message is not None:
        shown["StatusMessage"] = job.status_message
    if full:
        shown["Attempts"] = job.attempts
        shown["Request"] = job.request
        if job.result is not None:
            shown["Result"] = job.result
    return shown


def _jobs(args: argparse.Namespace) -> None:
    from agnosco.deployment import open_governance
    from agnosco.jobs.store import JobStore

    with opening_state():
        parts = open_governance(args.settings)
    try:
        jobs = JobStore(parts.database)
        if args.action == "list":
            found = jobs.list_jobs(kind=args.kind, status=args.status, limit=args.max)
            print_json([_shown(job, full=False) for job in found])
        else:
            if not args.job_id:
                raise CliError("jobs show needs a job ID")
            print_json(_shown(jobs.get(args.job_id), full=True))
    finally:
        parts.close()


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser("jobs", help="list the deployment's jobs, or show one")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the newest jobs, as JSON")
    listing.add_argument("--kind", help="only jobs of this kind: FaceDetection, FaceSearch, ...")
    listing.add_argument(
        "--status", choices=["IN_PROGRESS", "SUCCEEDED", "FAILED"], help="only jobs in this state"
    )
    listing.add_argument("--max", type=int, default=100, help="at most this many (default 100)")
    show = actions.add_parser("show", help="one job, its request and state, as JSON")
    show.add_argument("job_id", metavar="ID", help="the JobId")
    for action in (listing, show):
        add_state(action)
        action.set_defaults(run=_jobs, job_id=None, kind=None, status=None, max=100)
