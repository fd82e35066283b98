"""``agnosco principals create|list|show``: who access keys belong to."""

from __future__ import annotations

import argparse

from agnosco.cli.common import CliError, add_state, print_json
from agnosco.cli.governed import audit_cli, governance


def _principals(args: argparse.Namespace) -> None:
    with governance(args) as parts:
        if args.action == "create":
            if not args.name:
                raise CliError("principals create needs a NAME")
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
            if not args.name:
                raise CliError("principals show needs a NAME")
            print_json(parts.governance.principal(args.name).__dict__)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser("principals", help="manage principals (who keys belong to)")
    p.add_argument("action", choices=["create", "list", "show"])
    p.add_argument("name", nargs="?")
    p.add_argument("--organization", help="e.g. 'Metro Police Department'")
    p.add_argument(
        "--organization-type",
        help="law_enforcement, missing_persons, child_safety_ngo, media, identity_verification, research, ...",
    )
    p.add_argument("--default-purpose", help="purpose used when a request declares none")
    add_state(p)
    p.set_defaults(run=_principals)
