"""``agnosco review list|show|decide``: human review of identification results."""

from __future__ import annotations

import argparse

from agnosco.cli.common import CliError, add_state, print_json
from agnosco.cli.governed import audit_cli, governance
from agnosco.governance.review import candidate_summary


def _review(args: argparse.Namespace) -> None:
    with governance(args) as parts:
        queue = parts.reviews
        if args.action == "list":
            status = None if args.status == "ALL" else args.status
            for r in queue.list(status):
                print(
                    f"{r.review_id}  {r.status:9s}  {r.operation:18s} {r.collection_id or '-':20s} "
                    f"purpose={r.purpose} candidates={len(r.candidates)} "
                    f"decisions={len(r.decisions)}/{r.required_reviewers}"
                )
            return
        if not args.review_id:
            raise CliError(f"review {args.action} needs a REVIEW_ID")
        if args.action == "show":
            print_json(queue.get(args.review_id).as_dict())
            return
        if not args.reviewer or not args.decision or not args.reason:
            raise CliError("review decide needs --reviewer, --decision confirm|reject and --reason")
        review = queue.decide(args.review_id, args.reviewer, args.decision, args.reason)
        audit_cli(
            parts.audit,
            "agnosco:DecideReview",
            review_id=review.review_id,
            reviewer=args.reviewer,
            decision=args.decision,
            reason=args.reason,
            status=review.status,
            candidates=[candidate_summary(c) for c in review.candidates],
        )
        print(f"review {review.review_id}: {review.status}")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "review",
        help="review identification results held for a human decision",
        description="Identification results a policy holds for human review: list them, show "
        "one, and confirm or reject it (each decision is audited).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list reviews (pending ones unless --status)")
    listing.add_argument(
        "--status",
        default="PENDING",
        choices=["PENDING", "CONFIRMED", "REJECTED", "ALL"],
        help="which reviews (default PENDING)",
    )
    show = actions.add_parser("show", help="show one review as JSON")
    show.add_argument("review_id", metavar="REVIEW_ID")
    decide = actions.add_parser(
        "decide",
        help="confirm or reject a review's candidates",
        description="Record a reviewer's decision on a review; with enough confirmations the "
        "held matches are released to the caller who asked.",
    )
    decide.add_argument("review_id", metavar="REVIEW_ID")
    decide.add_argument("--reviewer", required=True, help="who decides")
    decide.add_argument(
        "--decision",
        required=True,
        choices=["confirm", "reject"],
        help="confirm: the candidates are the person; reject: they are not",
    )
    decide.add_argument("--reason", required=True, help="why (recorded in the audit log)")
    for action in (listing, show, decide):
        add_state(action)
        action.set_defaults(run=_review, review_id=None, status="PENDING")
