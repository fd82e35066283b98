"""``agnosco keys create|list|revoke``: access keys."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from agnosco.cli.common import CliError, add_state, print_json
from agnosco.cli.governed import audit_cli, governance

if TYPE_CHECKING:
    from agnosco.auth.keys import KeyStore
    from agnosco.deployment import Governance

#: The principal every deployment has, with the Admin policy (``agnosco keys create --admin``).
ADMIN = "admin"


def _keys(args: argparse.Namespace) -> None:
    from agnosco.auth.keys import KeyStore

    if args.action == "create" and not (args.admin or args.principal):  # before opening anything
        raise CliError(
            "keys create needs --principal NAME (a key that may do what NAME's policies allow, "
            "nothing else) or --admin (a key of the admin principal, allowed everything)"
        )
    with governance(args) as parts:
        keys = KeyStore(
            parts.master, parts.database
        )  # where the governance is, with its master key
        try:
            _run(args, keys, parts)
        finally:
            keys.close()


def _run(args: argparse.Namespace, keys: KeyStore, parts: Governance) -> None:
    if args.action == "create":
        principal = ADMIN if args.admin else args.principal
        parts.governance.principal(principal)  # the owner must exist
        from agnosco.governance.roles import RoleStore

        roles = RoleStore(parts.database, parts.governance)
        try:
            if roles.get(principal) is not None:
                raise CliError(
                    f"{principal} is a role: it has no access keys of its own; its sessions' "
                    "temporary credentials come from STS AssumeRole (docs/credentials.md)"
                )
        finally:
            roles.close()
        new = keys.create(principal, default_purpose=args.purpose)
        audit_cli(
            parts.audit,
            "agnosco:CreateAccessKey",
            access_key_id=new.access_key_id,
            principal=principal,
            default_purpose=args.purpose,
        )
        if args.json:
            print_json({"AccessKeyId": new.access_key_id, "SecretAccessKey": new.secret_access_key})
        else:
            print(
                f"AccessKeyId:     {new.access_key_id}\nSecretAccessKey: {new.secret_access_key}\n"
                "(the secret is shown only now)"
            )
    elif args.action == "list":
        rows = [
            {
                "AccessKeyId": k.access_key_id,
                "Principal": k.principal,
                "Status": k.status,
                "DefaultPurpose": k.default_purpose,
                "CreatedAt": k.created_at,
            }
            for k in keys.list()
        ]
        if args.json:
            print_json(rows)
        else:
            for row in rows:
                print(f"{row['AccessKeyId']}  {row['Status']:8s}  {row['Principal']}")
    elif args.action == "revoke":
        if not keys.revoke(args.access_key_id):
            raise CliError(f"no access key {args.access_key_id}")
        audit_cli(parts.audit, "agnosco:RevokeAccessKey", access_key_id=args.access_key_id)
        print(f"revoked {args.access_key_id}")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = commands.add_parser(
        "keys",
        help="manage access keys",
        description="Access keys sign requests (SigV4) as the principal they belong to.",
    )
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="make an access key for a principal (--principal NAME) or the admin (--admin)",
        description="Make an access key and print its id and secret (the secret only now). "
        "Name whose it is: --principal NAME gives a key that may do what NAME's attached "
        "policies allow and nothing else (a new principal's: nothing); --admin gives a key of "
        "the admin principal, whose Admin policy allows every action on everything.",
    )
    owner = create.add_mutually_exclusive_group()
    owner.add_argument(
        "--principal",
        metavar="NAME",
        help="the principal the key belongs to (agnosco principals create NAME): it may do "
        "what that principal's policies allow",
    )
    owner.add_argument(
        "--admin",
        action="store_true",
        help="a key of the admin principal: allowed every action on every resource",
    )
    create.add_argument(
        "--purpose",
        default=None,
        help="the purpose assumed when a request declares none (x-agnosco-purpose)",
    )
    listing = actions.add_parser(
        "list", help="list access keys", description="List access keys, their owners and status."
    )
    revoke = actions.add_parser(
        "revoke",
        help="revoke an access key (for good)",
        description="Revoke an access key: it signs nothing from now on, on every server.",
    )
    revoke.add_argument("access_key_id", metavar="ACCESS_KEY_ID", help="the key to revoke")
    for action in (create, listing, revoke):
        if action is not revoke:
            action.add_argument("--json", action="store_true", help="machine-readable output")
        add_state(action)
        action.set_defaults(run=_keys, json=False)
