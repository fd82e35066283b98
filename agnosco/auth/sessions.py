"""Temporary credentials: ``ASIA...`` access keys with a secret and a session token, that expire.

STS (:mod:`agnosco.governance.sts`) issues them: GetSessionToken for the caller's own principal,
AssumeRole for a role.  Each session is a row of the ``sessions`` table (component ``sessions``,
:meth:`~agnosco.storage.database.Database.migrate`) in the deployment's database, beside the
access keys: its secret encrypted with the master key's Fernet, as access-key secrets are, and
its session token kept only as a SHA-256 (the server compares tokens, it never needs one back).
A copy of the database reveals neither.

:class:`Credentials` is what the server checks every signature with: a long-term key's secret
when the request carries no session token; a temporary key's only with its own token, while its
session lasts (``ExpiredTokenException`` after it) and while the long-term key it descends from
is active (revoking a key ends the sessions made from it, including those of roles it assumed)
and, for a role's session, while the role exists as it was when the session began.  A
long-term key whose principal is a role (made with ``agnosco keys create --principal ROLE``)
signs nothing: a role is only assumed, by the principals its trust list names.  The
signature of an expired session's request is checked first, then the request is refused
(``ExpiredTokenException``) and audited under the session's role and principal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import InvalidToken

from agnosco.auth.keys import KeyOwner, KeyStore, MasterKey
from agnosco.errors import ExpiredTokenException
from agnosco.storage.database import Database, Migrations, Tables

#: The ``sessions`` component's migrations.
MIGRATIONS: Migrations = [
    [
        """CREATE TABLE IF NOT EXISTS sessions (
            access_key_id TEXT PRIMARY KEY,
            secret BLOB NOT NULL,
            token_sha256 TEXT NOT NULL,
            kind TEXT NOT NULL,
            principal TEXT NOT NULL,
            source_access_key_id TEXT NOT NULL,
            assumed_by TEXT,
            role TEXT,
            role_id TEXT,
            session_name TEXT,
            source_identity TEXT,
            chained INTEGER NOT NULL,
            default_purpose TEXT,
            issued_at REAL NOT NULL,
            expires_at REAL NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at)",
    ],
]

#: Kinds of session: GetSessionToken's (the caller's own principal) and AssumeRole's.
SESSION_TOKEN, ASSUMED_ROLE = "SessionToken", "AssumedRole"
#: Expired sessions are kept this long (so their key is still told expired, not unknown), then
#: deleted when a new one is issued.
KEEP_EXPIRED_SECONDS = 24 * 3600
EXPIRED_TOKEN = "The security token included in the request is expired"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Session:
    """One set of temporary credentials (never its token)."""

    access_key_id: str
    secret: str = field(repr=False)
    token_sha256: str = field(repr=False)
    kind: str
    #: Whose policies decide its calls: the caller's own for a SessionToken, the role's.
    principal: str
    #: The long-term access key it descends from (through any chain of roles).
    source_access_key_id: str
    #: The principal that assumed the role (a role, when chained); None for a SessionToken.
    assumed_by: str | None
    role: str | None
    role_id: str | None
    session_name: str | None
    source_identity: str | None
    #: Made with temporary credentials (role chaining: at most an hour).
    chained: bool
    default_purpose: str | None
    issued_at: float
    expires_at: float


@dataclass(frozen=True)
class NewSession:
    """What the caller receives, once: the key, its secret and its session token."""

    session: Session
    session_token: str = field(repr=False)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class SessionStore(Tables):
    """Temporary credentials in a database (``database`` as for
    :class:`~agnosco.auth.keys.KeyStore`, whose master key it encrypts secrets with)."""

    def __init__(
        self, master: MasterKey, database: Path | Database, *, owned: bool = False
    ) -> None:
        self._fernet = master.fernet()
        self._attach(database, owned, lambda db: db.migrate("sessions", MIGRATIONS))

    def issue(
        self,
        *,
        kind: str,
        principal: str,
        source_access_key_id: str,
        issued_at: float,
        duration: int,
        assumed_by: str | None = None,
        role: str | None = None,
        role_id: str | None = None,
        session_name: str | None = None,
        source_identity: str | None = None,
        chained: bool = False,
        default_purpose: str | None = None,
    ) -> NewSession:
        """New temporary credentials valid for ``duration`` seconds from ``issued_at``, to the
        whole second before (the ``Expiration`` the caller is told, which has no fraction)."""
        key_id = "ASIA" + "".join(secrets.choice(_ALPHABET) for _ in range(16))
        secret = base64.b64encode(secrets.token_bytes(30)).decode()
        token = base64.b64encode(secrets.token_bytes(96)).decode()
        session = Session(
            access_key_id=key_id,
            secret=secret,
            token_sha256=token_digest(token),
            kind=kind,
            principal=principal,
            source_access_key_id=source_access_key_id,
            assumed_by=assumed_by,
            role=role,
            role_id=role_id,
            session_name=session_name,
            source_identity=source_identity,
            chained=chained,
            default_purpose=default_purpose,
            issued_at=issued_at,
            expires_at=float(math.floor(issued_at + duration)),
        )
        with self._db.write() as tx:
            tx.execute(
                "DELETE FROM sessions WHERE expires_at < ?", (issued_at - KEEP_EXPIRED_SECONDS,)
            )
            tx.execute(
                "INSERT INTO sessions (access_key_id, secret, token_sha256, kind, principal,"
                " source_access_key_id, assumed_by, role, role_id, session_name, source_identity,"
                " chained, default_purpose, issued_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    self._fernet.encrypt(secret.encode()),
                    session.token_sha256,
                    kind,
                    principal,
                    source_access_key_id,
                    assumed_by,
                    role,
                    role_id,
                    session_name,
                    source_identity,
                    int(chained),
                    default_purpose,
                    issued_at,
                    session.expires_at,
                ),
            )
        return NewSession(session, token)

    def get(self, access_key_id: str) -> Session | None:
        """The session of a temporary key, expired or not; None when unknown or undecryptable."""
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT access_key_id, secret, token_sha256, kind, principal, source_access_key_id,"
                " assumed_by, role, role_id, session_name, source_identity, chained,"
                " default_purpose, issued_at, expires_at FROM sessions WHERE access_key_id = ?",
                (access_key_id,),
            ).fetchone()
        if row is None:
            return None
        try:
            secret = self._fernet.decrypt(bytes(row[1])).decode()
        except InvalidToken:
            return None
        return Session(
            access_key_id=row[0],
            secret=secret,
            token_sha256=row[2],
            kind=row[3],
            principal=row[4],
            source_access_key_id=row[5],
            assumed_by=row[6],
            role=row[7],
            role_id=row[8],
            session_name=row[9],
            source_identity=row[10],
            chained=bool(row[11]),
            default_purpose=row[12],
            issued_at=float(row[13]),
            expires_at=float(row[14]),
        )


@dataclass(frozen=True)
class Signer:
    """Who an access key (long-term or temporary) speaks for."""

    owner: KeyOwner
    #: The temporary credentials' session; None for a long-term key.
    session: Session | None = None


class Credentials:
    """Long-term keys and temporary credentials together, as the server checks signatures.

    ``role_id_of(role)`` is the role's current unique id (None when it no longer exists): a
    role deleted, or deleted and made again, ends its sessions.  ``now`` is the server's clock
    (epoch seconds), which sessions expire by.
    """

    def __init__(
        self,
        keys: KeyStore,
        sessions: SessionStore,
        role_id_of: Callable[[str], str | None],
    ) -> None:
        self.keys, self.sessions = keys, sessions
        self._role_id_of = role_id_of

    def secret_for(self, access_key_id: str, session_token: str | None) -> str | None:
        """The secret to verify a signature with (:data:`agnosco.protocol.sigv4.SecretSource`):
        an expired session's too, so that its refusal (:meth:`signer`) is of a caller proven to
        hold its secret and token, and can be audited as such."""
        if not access_key_id.startswith("ASIA"):
            # A long-term key signs alone: any session token with it is one nobody issued.
            return self._long_term_secret(access_key_id) if session_token is None else None
        session = self._session(access_key_id, session_token)
        return session.secret if session else None

    def signer(
        self,
        access_key_id: str,
        session_token: str | None,
        now: float,
        *,
        expired_ok: bool = False,
    ) -> Signer | None:
        """Who a verified request's key speaks for, or None (revoked or ended since).

        :raises ExpiredTokenException: a temporary key past its expiry (unless ``expired_ok``,
            for the record of the refusal).
        """
        if not access_key_id.startswith("ASIA"):
            if session_token is not None or self._long_term_secret(access_key_id) is None:
                return None
            owner = self.keys.owner(access_key_id)
            return Signer(owner) if owner else None
        session = self._session(access_key_id, session_token)
        if session is None:
            return None
        if now >= session.expires_at and not expired_ok:
            raise ExpiredTokenException(EXPIRED_TOKEN)
        return Signer(KeyOwner(session.principal, session.default_purpose), session)

    def _long_term_secret(self, access_key_id: str) -> str | None:
        """A long-term key's secret, unless its principal is a role: a role is assumed, through
        its trust list, never signed for with a key of its own."""
        owner = self.keys.owner(access_key_id)
        if owner is None or self._role_id_of(owner.principal) is not None:
            return None
        return self.keys.secret_for(access_key_id)

    def _session(self, access_key_id: str, session_token: str | None) -> Session | None:
        """The session of a temporary key used with its own token, expired or not, while the
        key it descends from and its role last."""
        if session_token is None:
            return None
        session = self.sessions.get(access_key_id)
        if session is None or not hmac.compare_digest(
            session.token_sha256, token_digest(session_token)
        ):
            return None
        return session if self._ended(session) is None else None

    def standing(self, access_key_id: str, now: float) -> str | None:
        """Why a key that was verified once no longer speaks for anyone at ``now`` (revoked,
        expired, its role gone), or None while it does: for work that outlives the request
        that started it, such as a running stream processor's session."""
        if not access_key_id.startswith("ASIA"):
            if self.keys.owner(access_key_id) is None:
                return f"the access key {access_key_id} was revoked"
            return None
        session = self.sessions.get(access_key_id)
        if session is None:
            return f"the temporary credentials {access_key_id} are unknown"
        if now >= session.expires_at:
            return f"the temporary credentials {access_key_id} expired"
        return self._ended(session)

    def _ended(self, session: Session) -> str | None:
        """Why a session ended before its expiry, or None."""
        if self.keys.owner(session.source_access_key_id) is None:
            return (
                f"the access key {session.source_access_key_id} that the temporary credentials"
                f" {session.access_key_id} descend from was revoked"
            )
        if session.role is not None and self._role_id_of(session.role) != session.role_id:
            # the role is gone (or is another role of the same name)
            return f"the role {session.role} of the temporary credentials no longer exists"
        return None
