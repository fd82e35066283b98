"""``agnosco roles create|list|show|delete``: roles, the principals temporary credentials speak for.

    agnosco roles create NAME --trust PRINCIPAL [--trust ...] [--policy POLICY ...]
        [--max-session-duration SECONDS] [--description TEXT]
    agnosco roles list | show NAME | delete NAME

A role is a principal (``agnosco policies attach POLICY --principal ROLE`` gives it more
policies) whose trusted principals may call ``sts:AssumeRole`` on
``arn:aws:iam::ACCOUNT:role/NAME``; the credentials AssumeRole returns can do what the role's
policies allow, nothing else.  Every change is audited.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from agnosco.cli.common import CliError, add_state, print_json
from agnosco.cli.governed import audit_cli, governance

if TYPE_CHECKING:
    from agnosco.governance.roles import Role


def _describe(role: Role, policies: tuple[str, ...], account: str) -> dict[str, Any]:
    return {
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn(account),
        "TrustedPrincipals": list(role.trust),
        "Policies": list(policies),
        "MaxSessionDuration": role.max_session_duration,
        "Description": role.description,
        "CreatedAt": role.created_at,
    }


def _roles(args: argparse.Namespace) -> None:
    from agnosco.governance.roles import RoleStore

    with governance(args) as parts:
        roles = RoleStore(parts.database, parts.governance)
        try:
            _run(args, roles, parts)
        finally:
            roles.close()


def _run(args: argparse.Namespace, roles: Any, parts: Any) -> None:
    if args.action != "list" and not args.name:
        raise CliError(f"roles {args.action} needs a NAME")
    if args.action == "create":
        if not args.trust:
            raise CliError("roles create needs at least one --trust PRINCIPAL (who may assume it)")
        for policy in args.policy or []:
            parts.governance.get_policy(policy)  # before anything is made
        role = roles.create(
            args.name,
            args.trust,
            max_session_duration=args.max_session_duration,
            description=args.description,
        )
        for policy in args.policy or []:
            parts.governance.attach(policy, role.name)
        audit_cli(
            parts.audit,
            "agnosco:CreateRole",
            name=role.name,
            role_id=role.role_id,
            trust=list(role.trust),
            policies=list(args.policy or []),
            max_session_duration=role.max_session_duration,
        )
        attached = ", ".join(args.policy) if args.policy else "no policy: it can do nothing yet"
        print(
            f"created role {role.name} ({role.arn(args.settings.account_id)}), assumable by "
            f"{', '.join(role.trust)}; {attached}"
        )
    elif args.action == "list":
        account = args.settings.account_id
        print_json(
            [
                _describe(r, parts.governance.principal(r.name).policies, account)
                for r in roles.list()
            ]
        )
    elif args.action == "show":
        role = roles.require(args.name)
        print_json(
            _describe(
                role, parts.governance.principal(role.name).policies, args.settings.account_id
            )
        )
    else:
        roles.delete(args.name)
        audit_cli(parts.audit, "agnosco:DeleteRole", name=args.name)
        print(f"deleted role {args.name} (its sessions end now)")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "roles",
        help="manage roles (principals that trusted principals assume through STS AssumeRole)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="make a role that the --trust principals may assume (audited)"
    )
    create.add_argument("name", help="the role's name (its ARN is arn:aws:iam::ACCOUNT:role/NAME)")
    create.add_argument(
        "--trust",
        action="append",
        metavar="PRINCIPAL",
        help="a principal allowed to assume the role (repeatable; a role may trust another role)",
    )
    create.add_argument(
        "--policy",
        action="append",
        metavar="POLICY",
        help="a policy to attach to the role (repeatable)",
    )
    create.add_argument(
        "--max-session-duration",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="the longest session AssumeRole may ask for, 3600 to 43200 (default 3600)",
    )
    create.add_argument("--description", help="what the role is for")
    listing = actions.add_parser("list", help="list the roles as JSON")
    show = actions.add_parser("show", help="one role, its trust list and policies, as JSON")
    show.add_argument("name", help="the role's name")
    delete = actions.add_parser("delete", help="delete a role; its sessions end (audited)")
    delete.add_argument("name", help="the role's name")
    for action in (create, listing, show, delete):
        add_state(action)
        action.set_defaults(
            run=_roles,
            name=None,
            trust=None,
            policy=None,
            max_session_duration=3600,
            description=None,
        )
