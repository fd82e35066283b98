"""``agnosco principals create|list|show``: who access keys belong to."""

from __future__ import annotations

import argparse

from agnosco.cli.common import add_state, print_json
from agnosco.cli.governed import audit_cli, governance


def _principals(args: argparse.Namespace) -> None:
    with governance(args) as parts:
        if args.action == "create":
            p = parts.governance.create_principal(
                args.name,
                organization=args.organization,
                organization_type=args.organization_type,
                default_purpose=args.default_purpose,
            )
            audit_cli(
                parts.audit,
                "agnosco:CreatePrincipal",
                name=p.name,
                organization=p.organization,
                organization_type=p.organization_type,
                default_purpose=p.default_purpose,
            )
            print(f"created principal {p.name} (no policy attached: it can do nothing yet)")
        elif args.action == "list":
            print_json([p.__dict__ for p in parts.governance.list_principals()])
        else:
            print_json(parts.governance.principal(args.name).__dict__)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "principals",
        help="manage principals (who keys belong to)",
        description="A principal is who access keys belong to; it may do what the policies "
        "attached to it allow (agnosco policies attach), and nothing else.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="make a principal (it can do nothing until a policy is attached)",
        description="Make a principal. It can do nothing until a policy is attached to it.",
    )
    create.add_argument("name", metavar="NAME")
    create.add_argument("--organization", help="e.g. 'Metro Police Department'")
    create.add_argument(
        "--organization-type",
        help="law_enforcement, missing_persons, child_safety_ngo, media, identity_verification, "
        "research, ... (policies can condition on it: agnosco:OrganizationType)",
    )
    create.add_argument("--default-purpose", help="purpose used when a request declares none")
    listing = actions.add_parser("list", help="list principals as JSON")
    show = actions.add_parser("show", help="show one principal as JSON")
    show.add_argument("name", metavar="NAME")
    for action in (create, listing, show):
        add_state(action)
        action.set_defaults(run=_principals, name=None)
