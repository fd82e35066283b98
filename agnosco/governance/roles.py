"""Roles: principals with their own policies, that the principals of their trust list may assume.

A role is a principal (:mod:`.principals`: policies are attached to it by name, as to any
principal) plus a row of the ``roles`` table (component ``roles``): its unique id (``AROA...``,
as IAM gives one, so that a role deleted and made again under the same name is another role and
its predecessor's sessions end), its maximum session duration (IAM's ``MaxSessionDuration``:
3600 seconds unless set, at most 43200) and its trust list, the principals allowed to call
``sts:AssumeRole`` on it (a role may trust another role: role chaining).  Its ARN is
``arn:aws:iam::ACCOUNT:role/NAME``; a session of it is
``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``.

No access key belongs to a role: its calls are made with the temporary credentials AssumeRole
returns (:mod:`agnosco.auth.sessions`), which the gate authorizes with the role's policies and
the audit log records with the role, the principal that assumed it and the session's name.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from agnosco.errors import (
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from agnosco.governance.principals import GovernanceStore
from agnosco.storage.database import Database, Migrations, Tables

#: The ``roles`` component's migrations.
MIGRATIONS: Migrations = [
    [
        """CREATE TABLE IF NOT EXISTS roles (
            name TEXT PRIMARY KEY,
            role_id TEXT NOT NULL,
            max_session_duration INTEGER NOT NULL,
            description TEXT,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS role_trust (
            role TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
            principal TEXT NOT NULL,
            PRIMARY KEY (role, principal)
        )""",
    ],
]

#: IAM's limits on a role's maximum session duration, and its default.
MIN_SESSION_DURATION, MAX_SESSION_DURATION, DEFAULT_MAX_SESSION_DURATION = 3600, 43200, 3600
#: IAM's role names: 1 to 64 of these characters.
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/(?:[\x21-\x7e]*/)?(?P<name>[^/]+)$")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Role:
    name: str
    role_id: str
    max_session_duration: int
    trust: tuple[str, ...]
    description: str | None = None
    created_at: float = 0.0

    def arn(self, account: str) -> str:
        return role_arn(account, self.name)


def role_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def parse_role_arn(arn: str) -> tuple[str, str] | None:
    """(account, role name) of an IAM role ARN, or None when it is not one."""
    match = _ROLE_ARN.match(arn)
    return (match["account"], match["name"]) if match else None


def user_id(principal: str) -> str:
    """A principal's stable unique id (IAM's ``AIDA...`` form), for GetCallerIdentity."""
    digest = hashlib.sha256(principal.encode()).digest()
    return "AIDA" + "".join(_ALPHABET[b % 32] for b in digest[:17])


class RoleStore(Tables):
    """Roles in the deployment's database, beside the principals they are (``governance``)."""

    def __init__(
        self, database: Path | Database, governance: GovernanceStore, *, owned: bool = False
    ) -> None:
        self._attach(database, owned, lambda db: db.migrate("roles", MIGRATIONS))
        self.governance = governance
        self._ids: dict[str, tuple[float, str | None]] = {}

    def create(
        self,
        name: str,
        trust: list[str],
        *,
        max_session_duration: int = DEFAULT_MAX_SESSION_DURATION,
        description: str | None = None,
    ) -> Role:
        """A new role (and its principal), trusted by the existing principals ``trust``.

        :raises InvalidParameterException: a name IAM would refuse, no trust, or a duration
            outside 3600..43200 seconds.
        :raises ResourceAlreadyExistsException: a principal (or role) of that name exists.
        :raises ResourceNotFoundException: a trusted principal does not exist.
        """
        if not ROLE_NAME.match(name):
            raise InvalidParameterException(
                f"role name {name[:80]!r} must be 1 to 64 letters, digits or +=,.@_- characters"
            )
        if not trust:
            raise InvalidParameterException(f"role {name} needs at least one trusted principal")
        if not MIN_SESSION_DURATION <= max_session_duration <= MAX_SESSION_DURATION:
            raise InvalidParameterException(
                f"the maximum session duration must be {MIN_SESSION_DURATION} to "
                f"{MAX_SESSION_DURATION} seconds, not {max_session_duration}"
            )
        for principal in trust:
            if principal != name:
                self.governance.principal(principal)  # raises ResourceNotFoundException
        self.governance.create_principal(name)  # raises ResourceAlreadyExistsException
        role_id = "AROA" + "".join(secrets.choice(_ALPHABET) for _ in range(17))
        created_at = time.time()
        try:
            with self._db.write() as tx:
                inserted = tx.execute(
                    "INSERT INTO roles (name, role_id, max_session_duration, description, created_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                    (name, role_id, max_session_duration, description, created_at),
                ).rowcount
                if not inserted:
                    raise ResourceAlreadyExistsException(f"role {name} already exists")
                for principal in dict.fromkeys(trust):
                    tx.execute(
                        "INSERT INTO role_trust (role, principal) VALUES (?, ?)", (name, principal)
                    )
        except BaseException:
            self.governance.delete_principal(name)
            raise
        self._ids.pop(name, None)
        return Role(
            name,
            role_id,
            max_session_duration,
            tuple(dict.fromkeys(trust)),
            description,
            created_at,
        )

    def get(self, name: str) -> Role | None:
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT name, role_id, max_session_duration, description, created_at FROM roles"
                " WHERE name = ?",
                (name,),
            ).fetchone()
            if row is None:
                return None
            trust = tuple(
                r[0]
                for r in tx.execute(
                    "SELECT principal FROM role_trust WHERE role = ? ORDER BY principal", (name,)
                )
            )
        return Role(row[0], row[1], int(row[2]), trust, row[3], float(row[4]))

    def require(self, name: str) -> Role:
        role = self.get(name)
        if role is None:
            raise ResourceNotFoundException(f"role {name} does not exist")
        return role

    def list(self) -> list[Role]:
        with self._db.read() as tx:
            names = [r[0] for r in tx.execute("SELECT name FROM roles ORDER BY name")]
        return [role for role in map(self.get, names) if role is not None]

    def delete(self, name: str) -> None:
        """Delete the role, its trust list and its principal (with its attachments): its
        sessions end at once (their role is gone).

        :raises ResourceNotFoundException: no such role.
        """
        with self._db.write() as tx:
            tx.execute("DELETE FROM role_trust WHERE role = ?", (name,))
            removed = tx.execute("DELETE FROM roles WHERE name = ?", (name,)).rowcount
        if not removed:
            raise ResourceNotFoundException(f"role {name} does not exist")
        self._ids.pop(name, None)
        self.governance.delete_principal(name)

    def role_id_of(self, name: str) -> str | None:
        """The role's unique id, or None when it does not exist; looked up at most once a
        second per role, so a deletion by the CLI or another server counts within a second."""
        now = time.monotonic()
        cached = self._ids.get(name)
        if cached and now - cached[0] < 1.0:
            return cached[1]
        with self._db.read() as tx:
            row = tx.execute("SELECT role_id FROM roles WHERE name = ?", (name,)).fetchone()
        found = row[0] if row else None
        self._ids[name] = (now, found)
        return found
