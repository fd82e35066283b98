"""``agnosco keys create|list|revoke``: access keys."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from agnosco.cli.common import CliError, add_state, print_json
from agnosco.cli.governed import audit_cli, governance

if TYPE_CHECKING:
    from agnosco.auth.keys import KeyStore
    from agnosco.deployment import Governance


def _keys(args: argparse.Namespace) -> None:
    from agnosco.auth.keys import KeyStore

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
        parts.governance.principal(args.principal)  # the owner must exist
        new = keys.create(args.principal, default_purpose=args.purpose)
        audit_cli(
            parts.audit,
            "agnosco:CreateAccessKey",
            access_key_id=new.access_key_id,
            principal=args.principal,
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
        if not args.access_key_id:
            raise CliError("keys revoke needs an ACCESS_KEY_ID")
        if not keys.revoke(args.access_key_id):
            raise CliError(f"no access key {args.access_key_id}")
        audit_cli(parts.audit, "agnosco:RevokeAccessKey", access_key_id=args.access_key_id)
        print(f"revoked {args.access_key_id}")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = commands.add_parser("keys", help="manage access keys")
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("access_key_id", nargs="?", help="for revoke: the key to revoke")
    keys.add_argument("--principal", default="admin", help="for create: who the key belongs to")
    keys.add_argument(
        "--purpose",
        default=None,
        help="for create: the purpose assumed when a request declares none (x-agnosco-purpose)",
    )
    keys.add_argument("--json", action="store_true", help="machine-readable output")
    add_state(keys)
    keys.set_defaults(run=_keys)
