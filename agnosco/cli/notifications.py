"""``agnosco notifications add TOPIC_ARN URL | list | remove TOPIC_ARN``: where the completion
notifications of video jobs go (a NotificationChannel's SNS topic ARN -> an HTTP endpoint)."""

from __future__ import annotations

import argparse

from agnosco.cli.common import CliError, add_state, print_json
from agnosco.cli.governed import audit_cli, governance


def _notifications(args: argparse.Namespace) -> None:
    from agnosco.jobs.notifications import NotificationEndpoints

    with governance(args) as parts:
        endpoints = NotificationEndpoints(parts.database)
        try:
            if args.action == "list":
                print_json([e.__dict__ for e in endpoints.list()])
                return
            if not args.topic_arn:
                raise CliError(f"notifications {args.action} needs a TOPIC_ARN")
            if args.action == "add":
                if not args.url:
                    raise CliError("notifications add needs a URL")
                endpoints.add(args.topic_arn, args.url)
                audit_cli(
                    parts.audit,
                    "agnosco:AddNotificationEndpoint",
                    topic=args.topic_arn,
                    url=args.url,
                )
                print(f"jobs notifying {args.topic_arn} now POST to {args.url}")
            else:
                endpoints.remove(args.topic_arn)
                audit_cli(parts.audit, "agnosco:RemoveNotificationEndpoint", topic=args.topic_arn)
                print(f"removed the endpoint of {args.topic_arn}")
        finally:
            endpoints.close()


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "notifications",
        help="where video jobs' completion notifications go (SNS topic ARN -> HTTP endpoint)",
        description="Map the SNS topic ARN a Start call names in NotificationChannel to an HTTP(S) "
        "endpoint, which then receives the job's completion message as an SNS HTTP subscription "
        "would (a POST with x-amz-sns-message-type: Notification).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="send the jobs notifying TOPIC_ARN to URL")
    add.add_argument("topic_arn", metavar="TOPIC_ARN", help="arn:aws:sns:REGION:ACCOUNT:NAME")
    add.add_argument("url", metavar="URL", help="http:// or https:// endpoint")
    listing = actions.add_parser("list", help="list the endpoints as JSON")
    remove = actions.add_parser("remove", help="stop sending TOPIC_ARN's notifications")
    remove.add_argument("topic_arn", metavar="TOPIC_ARN", help="arn:aws:sns:REGION:ACCOUNT:NAME")
    for action in (add, listing, remove):
        add_state(action)
        action.set_defaults(run=_notifications, topic_arn=None, url=None)
