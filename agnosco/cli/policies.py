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
    p = commands.add_parser("policies", help="manage IAM-style policies")
    p.add_argument("action", choices=["put", "attach", "detach", "list", "show"])
    p.add_argument("name", nargs="?", help="policy name")
    p.add_argument("file", nargs="?", help="for put: the policy document (JSON)")
    p.add_argument("--principal", help="for attach/detach")
    add_state(p)
    p.set_defaults(run=_policies)
