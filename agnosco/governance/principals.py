"""Principals, their attributes, policies and attachments; built-in policies ship as data.

A principal is who an access key belongs to: a name, an organisation and an organisation
type (``law_enforcement``, ``missing_persons``, ``child_safety_ngo``, ``media``,
``identity_verification``, ``research``, ... free text, exposed to policies as
``agnosco:OrganizationType``), and an optional default purpose used when a request carries
no ``x-agnosco-purpose`` header.  Built-in policies (``agnosco/governance/policies/*.json``)
are always available by name and cannot be overwritten; stored policies are validated when
put.  The ``admin`` principal gets the ``Admin`` policy when the data directory is created.

They live in a :class:`~agnosco.storage.database.Database`: the data directory's ``agnosco.db``,
or the store's PostgreSQL database, shared by every server using it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from agnosco.errors import (
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from agnosco.governance.policy import Policy, parse_policy
from agnosco.storage.database import Database, Tables

#: The ``principals`` component's migrations (:meth:`Database.migrate`).  Version 1 adopts the
#: tables of data directories made before versions were recorded.
MIGRATIONS = [
    [
        """CREATE TABLE IF NOT EXISTS principals (
            name TEXT PRIMARY KEY,
            organization TEXT,
            organization_type TEXT,
            default_purpose TEXT,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS policies (
            name TEXT PRIMARY KEY,
            document TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS attachments (
            principal TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
            policy TEXT NOT NULL,
            PRIMARY KEY (principal, policy)
        )""",
    ],
]


@dataclass(frozen=True)
class Principal:
    name: str
    organization: str | None
    organization_type: str | None
    default_purpose: str | None
    policies: tuple[str, ...] = ()

    def attributes(self) -> dict[str, str | None]:
        return {"organization": self.organization, "organization_type": self.organization_type}


@cache
def builtin_policies() -> dict[str, Policy]:
    folder = resources.files("agnosco.governance") / "policies"
    out = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            name = entry.name[: -len(".json")]
            out[name] = parse_policy(name, entry.read_text())
    return out


class GovernanceStore(Tables):
    """Principals and policies in a database; safe to share between threads and processes.

    ``database`` is a :class:`~agnosco.storage.database.Database` (closed by :meth:`close` only
    when ``owned``) or the path of a SQLite file (opened here and closed by :meth:`close`).
    Lookups are cached for a second, so changes made by the CLI or another server take effect
    within a second without a query per request.
    """

    def __init__(self, database: Path | Database, *, owned: bool = False) -> None:
        self._attach(database, owned, lambda db: db.migrate("principals", MIGRATIONS))
        self._cache: dict[str, tuple[float, Principal | None, list[Policy]]] = {}

    # principals ------------------------------------------------------------------------
    def create_principal(
        self,
        name: str,
        *,
        organization: str | None = None,
        organization_type: str | None = None,
        default_purpose: str | None = None,
    ) -> Principal:
        """:raises ResourceAlreadyExistsException: a principal of that name exists."""
        with self._db.write() as tx:
            created = tx.execute(
                "INSERT INTO principals (name, organization, organization_type, default_purpose, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, organization, organization_type, default_purpose, time.time()),
            ).rowcount
        if not created:
            raise ResourceAlreadyExistsException(f"principal {name} already exists")
        self._cache.clear()
        return Principal(name, organization, organization_type, default_purpose)

    def ensure_principal(self, name: str) -> None:
        with self._db.write() as tx:
            tx.execute(
                "INSERT INTO principals (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, time.time()),
            )
        self._cache.clear()

    def delete_principal(self, name: str) -> None:
        """Delete a principal and its attachments (a role's, when the role is deleted)."""
        with self._db.write() as tx:
            tx.execute("DELETE FROM attachments WHERE principal = ?", (name,))
            tx.execute("DELETE FROM principals WHERE name = ?", (name,))
        self._cache.clear()

    def principal(self, name: str) -> Principal:
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT name, organization, organization_type, default_purpose FROM principals WHERE name = ?",
                (name,),
            ).fetchone()
            if row is None:
                raise ResourceNotFoundException(f"principal {name} does not exist")
            attached = tuple(
                r[0]
                for r in tx.execute(
                    "SELECT policy FROM attachments WHERE principal = ? ORDER BY policy", (name,)
                )
            )
        return Principal(
            name=row[0],
            organization=row[1],
            organization_type=row[2],
            default_purpose=row[3],
            policies=attached,
        )

    def list_principals(self) -> list[Principal]:
        with self._db.read() as tx:
            names = [r[0] for r in tx.execute("SELECT name FROM principals ORDER BY name")]
        return [self.principal(n) for n in names]

    # policies --------------------------------------------------------------------------
    def put_policy(self, name: str, document: str) -> Policy:
        """Store (or replace) a custom policy after validating it.

        :raises MalformedPolicyDocumentException: an invalid document.
        :raises InvalidParameterException: the name of a built-in policy.
        """
        if name in builtin_policies():
            raise InvalidParameterException(f"{name} is a built-in policy and cannot be replaced")
        policy = parse_policy(name, document)
        with self._db.write() as tx:
            tx.execute(
                "INSERT INTO policies (name, document, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                (name, json.dumps(policy.document, sort_keys=True), time.time()),
            )
        self._cache.clear()
        return policy

    def get_policy(self, name: str) -> Policy:
        if name in builtin_policies():
            return builtin_policies()[name]
        with self._db.read() as tx:
            row = tx.execute("SELECT document FROM policies WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"policy {name} does not exist")
        return parse_policy(name, row[0])

    def list_policies(self) -> list[str]:
        with self._db.read() as tx:
            stored = [r[0] for r in tx.execute("SELECT name FROM policies ORDER BY name")]
        return sorted(set(stored) | set(builtin_policies()))

    def attach(self, policy: str, principal: str) -> None:
        self.get_policy(policy)
        self.principal(principal)
        with self._db.write() as tx:
            tx.execute(
                "INSERT INTO attachments (principal, policy) VALUES (?, ?) ON CONFLICT (principal, policy) DO NOTHING",
                (principal, policy),
            )
        self._cache.clear()

    def detach(self, policy: str, principal: str) -> None:
        with self._db.write() as tx:
            removed = tx.execute(
                "DELETE FROM attachments WHERE principal = ? AND policy = ?", (principal, policy)
            ).rowcount
        self._cache.clear()
        if not removed:
            raise ResourceNotFoundException(f"policy {policy} is not attached to {principal}")

    def resolve(self, name: str) -> tuple[Principal | None, list[Policy]]:
        """The principal and its attached policies (None and [] for an unknown principal)."""
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached and now - cached[0] < 1.0:
            return cached[1], cached[2]
        try:
            principal: Principal | None = self.principal(name)
        except ResourceNotFoundException:
            principal = None
        policies = []
        for policy_name in principal.policies if principal else ():
            try:
                policies.append(self.get_policy(policy_name))
            except ResourceNotFoundException:
                continue  # a dangling attachment grants nothing
        self._cache[name] = (now, principal, policies)
        return principal, policies
