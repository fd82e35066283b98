"""``agnosco policies put|attach|detach|list|show``: IAM-style policies."""

from __future__ import annotations

import argparse

from agnosco.cli.common import CliError, add_state, print_json, read_file
from agnosco.cli.governed import audit_cli, governance


def _policies(args: argparse.Namespace) -> None:
    with governance(args) as parts:
        store = parts.governance
        if args.action == "list":
            print("\n".join(store.list_policies()))
            return
        if not args.name:
            raise CliError(f"policies {args.action} needs a policy NAME")
        if args.action == "put":
            if not args.file:
                raise CliError("policies put needs NAME FILE.json")
            text = read_file(args.file).decode("utf-8", errors="replace")
            policy = store.put_policy(args.name, text)
            audit_cli(parts.audit, "agnosco:PutPolicy", name=args.name, document=policy.document)
            print(f"stored policy {args.name} ({len(policy.statements)} statements)")
        elif args.action == "show":
            print_json(store.get_policy(args.name).document)
        else:
            if not args.principal:
                raise CliError(f"policies {args.action} needs --principal")
            if args.action == "attach":
                store.attach(args.name, args.principal)
                audit_cli(
                    parts.audit, "agnosco:AttachPolicy", policy=args.name, principal=args.principal
                )
                print(f"attached {args.name} to {args.principal}")
            else:
                store.detach(args.name, args.principal)
                audit_cli(
                    parts.audit, "agnosco:DetachPolicy", policy=args.name, principal=args.principal
                )
                print(f"detached {args.name} from {args.principal}")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "policies",
        help="manage IAM-style policies",
        description="IAM-style policies: nothing is allowed unless a policy attached to the "
        "caller's principal allows it (docs/responsible-use.md).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    put = actions.add_parser(
        "put", help="store a policy document under a name (replacing one of that name)"
    )
    put.add_argument("name", metavar="NAME", help="policy name")
    put.add_argument("file", metavar="FILE.json", help="the policy document (IAM JSON)")
    attach = actions.add_parser("attach", help="attach a policy to a principal")
    detach = actions.add_parser("detach", help="detach a policy from a principal")
    for action in (attach, detach):
        action.add_argument("name", metavar="NAME", help="policy name")
        action.add_argument(
            "--principal", required=True, metavar="PRINCIPAL", help="the principal it applies to"
        )
    listing = actions.add_parser("list", help="list the policy names (shipped and stored)")
    show = actions.add_parser("show", help="print a policy document")
    show.add_argument("name", metavar="NAME", help="policy name")
    for action in (put, attach, detach, listing, show):
        add_state(action)
        action.set_defaults(run=_policies, name=None, file=None, principal=None)
