"""Console sign-in sessions: signed in with an access key, kept server-side, ended with the key.

A session is created when someone signs in to the web console with an access key id and its
secret (checked against the key store, the same secrets SigV4 verifies).  The browser holds
only the session's token, in a cookie; the database holds its SHA-256 (a copy of the
database opens no session), the access key it was opened with, its CSRF token and when it
expires.  A session is valid while it has not expired *and* its access key is still active:
revoking the key (``agnosco keys revoke``, from any server or the CLI) ends every session
opened with it at the next request (the key store re-reads a key at most a second later), and
the rows are deleted then.

Sessions live in the deployment's database (component ``console_sessions``), so with
PostgreSQL a session opened on one replica is valid on every other.  They are not the STS
temporary-credential sessions of :mod:`agnosco.auth.sessions` (component ``sessions``): a
console session is a browser's sign-in, never a credential that signs API calls.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agnosco.storage.database import Database, Migrations, Tables

#: The ``console_sessions`` component's migrations (:meth:`Database.migrate`).
MIGRATIONS: Migrations = [
    [
        """CREATE TABLE IF NOT EXISTS console_sessions (
            token_hash TEXT PRIMARY KEY,
            access_key_id TEXT NOT NULL,
            csrf_token TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS console_sessions_by_key ON console_sessions (access_key_id)",
        "CREATE INDEX IF NOT EXISTS console_sessions_by_expiry ON console_sessions (expires_at)",
    ],
]
#: How long a session lasts from sign-in.
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    access_key_id: str
    csrf_token: str = field(repr=False)
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class NewSession:
    #: What the browser's cookie carries (only its hash is stored).
    token: str = field(repr=False)
    session: Session


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def verify_secret(expected: str | None, given: str) -> bool:
    """Does ``given`` equal the key's secret (``None``: no such active key)?  In constant time,
    so the comparison tells nothing of how much of a guess was right."""
    if expected is None:
        hmac.compare_digest(given.encode(), given.encode())  # as long either way
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


class ConsoleSessions(Tables):
    """Console sessions in a database; safe to share between threads, processes and replicas."""

    def __init__(
        self,
        database: Path | Database,
        *,
        clock: Callable[[], float] = time.time,
        lifetime: float = SESSION_SECONDS,
        owned: bool = False,
    ) -> None:
        self._attach(database, owned, lambda db: db.migrate("console_sessions", MIGRATIONS))
        self._clock = clock
        self.lifetime = lifetime

    def open(self, access_key_id: str) -> NewSession:
        """A new session for ``access_key_id`` (whose secret the caller has checked); expired
        sessions are deleted on the way."""
        now = self._clock()
        token = secrets.token_urlsafe(32)
        session = Session(access_key_id, secrets.token_urlsafe(32), now, now + self.lifetime)
        with self._db.write() as tx:
            tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?", (now,))
            tx.execute(
                "INSERT INTO console_sessions (token_hash, access_key_id, csrf_token, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (_hash(token), access_key_id, session.csrf_token, now, session.expires_at),
            )
        return NewSession(token, session)

    def get(self, token: str) -> Session | None:
        """The unexpired session of ``token``, or None.  Whether its key is still active is the
        caller's check (:meth:`end_key` when it is not)."""
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT access_key_id, csrf_token, created_at, expires_at FROM console_sessions"
                " WHERE token_hash = ?",
                (_hash(token),),
            ).fetchone()
        if row is None or row[3] <= self._clock():
            return None
        return Session(row[0], row[1], row[2], row[3])

    def end(self, token: str) -> None:
        """End ``token``'s session (signing out)."""
        with self._db.write() as tx:
            tx.execute("DELETE FROM console_sessions WHERE token_hash = ?", (_hash(token),))

    def end_key(self, access_key_id: str) -> int:
        """End every session opened with ``access_key_id`` (revoked); returns how many."""
        with self._db.write() as tx:
            return int(
                tx.execute(
                    "DELETE FROM console_sessions WHERE access_key_id = ?", (access_key_id,)
                ).rowcount
            )
