"""Access keys, with secrets encrypted at rest, and the master key that encrypts them.

SigV4 needs each secret in clear to recompute signatures, so secrets cannot be hashed: they
are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under the *master key*
(:class:`MasterKey`): the one configured (``AGNOSCO_MASTER_KEY``, a Fernet key's text, read into
:class:`agnosco.settings.Settings`) when there is one, else ``<data-dir>/master.key`` (created with
mode 0600 on first use).  A copy of the database alone reveals no secret.  Secrets
are printed once, at creation, and never logged.

The master key also derives the key that signs pagination tokens and the audit log's head key,
so every server and CLI sharing a database (``--store postgresql://...``) needs the same one:
give each replica ``AGNOSCO_MASTER_KEY`` rather than sharing a directory.  The database holds a
check value, a Fernet token made with the first key that used it; :func:`check_master_key`
refuses any other key (:class:`MasterKeyError`) instead of letting replicas split into states
that cannot read each other's secrets or extend each other's audit chain.

Keys live in the ``access_keys`` table of a :class:`~agnosco.storage.database.Database`: the data
directory's ``agnosco.db``, or the store's PostgreSQL database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from agnosco.storage.data_dir import prepare_data_dir
from agnosco.storage.database import Database, Migrations, Tables, Transaction

#: The environment variable that supplies the master key (it takes precedence over the file).
MASTER_KEY_ENV = "AGNOSCO_MASTER_KEY"
#: The master key's file in a data directory, used when none is configured.
MASTER_KEY_FILE = "master.key"
_CHECK_PLAINTEXT = b"agnosco master key check"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _adopt_keys_without_purpose(tx: Transaction) -> None:
    """A data directory from before default purposes existed has no default_purpose column."""
    if "default_purpose" not in tx.columns("access_keys"):
        tx.execute(tx.ddl("ALTER TABLE access_keys ADD COLUMN default_purpose TEXT"))


#: The ``keys`` component's migrations (:meth:`Database.migrate`).  Version 1 adopts the tables of
#: data directories made before versions were recorded.
MIGRATIONS: Migrations = [
    [
        """CREATE TABLE IF NOT EXISTS access_keys (
            access_key_id TEXT PRIMARY KEY,
            secret BLOB NOT NULL,
            principal TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            default_purpose TEXT
        )""",
        _adopt_keys_without_purpose,
        """CREATE TABLE IF NOT EXISTS master_key_check (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            token BLOB NOT NULL,
            created_at REAL NOT NULL
        )""",
    ],
]


class MasterKeyError(RuntimeError):
    """The master key is malformed, or is not the one the database was made with."""


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    principal: str
    status: str  # "Active" or "Inactive"
    created_at: float
    default_purpose: str | None = None


@dataclass(frozen=True)
class NewKey:
    access_key_id: str
    secret_access_key: str
    principal: str


@dataclass(frozen=True)
class KeyOwner:
    """Who an active access key belongs to, and the purpose its calls declare by default."""

    principal: str
    default_purpose: str | None = None


@dataclass(frozen=True)
class MasterKey:
    """The deployment's master key (a Fernet key) and where it came from, for messages."""

    secret: bytes = field(repr=False)
    #: ``AGNOSCO_MASTER_KEY`` or the key file's path.
    source: str

    @classmethod
    def load(cls, data_dir: Path, configured: str | None = None) -> MasterKey:
        """The configured key (``$AGNOSCO_MASTER_KEY``, through the settings) when there is one,
        else the data directory's ``master.key``, created with mode 0600 on first use.

        The file is written to a temporary file and linked into place, so a process starting
        at the same moment sees either no key or the whole key, never an empty file.

        :raises MasterKeyError: the configured key is not a Fernet key.
        """
        text = (configured or "").strip()
        if text:
            try:
                Fernet(text)
            except (ValueError, TypeError):
                raise MasterKeyError(
                    f"{MASTER_KEY_ENV} is not a Fernet key (44 characters of URL-safe base64 encoding 32 bytes); "
                    "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
                ) from None
            return cls(text.encode("ascii"), MASTER_KEY_ENV)
        path = data_dir / MASTER_KEY_FILE
        return cls(_key_file(data_dir, path), str(path))

    def fernet(self) -> Fernet:
        return Fernet(self.secret)

    def derive(self, purpose: bytes) -> bytes:
        """A key for one purpose (pagination tokens, the audit head), derived from this one."""
        return hmac.new(self.secret, purpose, hashlib.sha256).digest()


def _key_file(data_dir: Path, path: Path) -> bytes:
    """The key in ``path``, made first if there is none."""
    prepare_data_dir(data_dir)
    if not path.exists():
        fd, temp = tempfile.mkstemp(dir=data_dir, prefix=".master.key.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                pass  # another process won the race; use its key
        finally:
            os.unlink(temp)
    return path.read_bytes().strip()


def _decrypts(fernet: Fernet, token: bytes) -> bool:
    try:
        fernet.decrypt(bytes(token))
    except InvalidToken:
        return False
    return True


def check_master_key(database: Database, fernet: Fernet, source: str = "the master key") -> None:
    """Refuse a master key other than the one ``database``'s secrets are encrypted with.

    The first key to use a database leaves a check value there (in a data directory from
    before check values, only if it decrypts the stored secrets); every later one must decrypt
    it.  ``source`` says where the key came from, for the message.

    :raises MasterKeyError: a different key.
    """
    database.migrate("keys", MIGRATIONS)
    with database.read() as tx:
        row = tx.execute("SELECT token FROM master_key_check WHERE id = 1").fetchone()
    if row is None:
        with database.write() as tx:
            stored = [
                r[0]
                for r in tx.execute("SELECT secret FROM access_keys ORDER BY created_at LIMIT 20")
            ]
            if stored and not any(_decrypts(fernet, secret) for secret in stored):
                raise MasterKeyError(
                    f"{source} decrypts none of the access keys in {database.name}: it is not the key "
                    "they were made with; use that key (every server and CLI sharing the database needs it)"
                )
            tx.execute(  # whoever comes first sets it; the rest are checked against theirs
                "INSERT INTO master_key_check (id, token, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
                (fernet.encrypt(_CHECK_PLAINTEXT), time.time()),
            )
            row = tx.execute("SELECT token FROM master_key_check WHERE id = 1").fetchone()
    if not _decrypts(fernet, row[0]):
        raise MasterKeyError(
            f"{source} is not the master key {database.name} was made with: every server and CLI "
            f"sharing the database needs the same key (set {MASTER_KEY_ENV} to it); refusing to start "
            "rather than write secrets and audit records the others cannot read or verify"
        )


@dataclass(frozen=True)
class _ActiveKey:
    secret: str = field(repr=False)
    owner: KeyOwner


class KeyStore(Tables):
    """Access keys in a database; safe to share between threads, processes and (on PostgreSQL)
    machines.

    ``database`` is a :class:`~agnosco.storage.database.Database` (closed by :meth:`close` only
    when ``owned``) or the path of a SQLite file (opened here and closed by :meth:`close`).  The
    master key must be the database's (:func:`check_master_key`).
    """

    def __init__(
        self, master: MasterKey, database: Path | Database, *, owned: bool = False
    ) -> None:
        self._fernet = master.fernet()
        self._attach(database, owned, lambda db: check_master_key(db, self._fernet, master.source))
        self._cache: dict[str, tuple[float, _ActiveKey | None]] = {}

    def create(
        self,
        principal: str = "admin",
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        default_purpose: str | None = None,
    ) -> NewKey:
        """A new active key (or the given pair, e.g. from the environment; replaced if it exists)."""
        key_id = access_key_id or "AKIA" + "".join(secrets.choice(_ALPHABET) for _ in range(16))
        secret = secret_access_key or base64.b64encode(secrets.token_bytes(30)).decode()
        with self._db.write() as tx:
            tx.execute(
                "INSERT INTO access_keys (access_key_id, secret, principal, status, created_at, default_purpose)"
                " VALUES (?, ?, ?, 'Active', ?, ?) ON CONFLICT (access_key_id) DO UPDATE SET"
                " secret = excluded.secret, principal = excluded.principal, status = excluded.status,"
                " created_at = excluded.created_at, default_purpose = excluded.default_purpose",
                (
                    key_id,
                    self._fernet.encrypt(secret.encode()),
                    principal,
                    time.time(),
                    default_purpose,
                ),
            )
        self._cache.pop(key_id, None)
        return NewKey(key_id, secret, principal)

    def list(self) -> list[AccessKey]:
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT access_key_id, principal, status, created_at, default_purpose FROM access_keys"
                " ORDER BY created_at, access_key_id"
            ).fetchall()
        return [AccessKey(*row) for row in rows]

    def revoke(self, access_key_id: str) -> bool:
        """Deactivate a key; False when there is no such key."""
        with self._db.write() as tx:
            changed = tx.execute(
                "UPDATE access_keys SET status = 'Inactive' WHERE access_key_id = ?",
                (access_key_id,),
            ).rowcount
        self._cache.pop(access_key_id, None)
        return bool(changed)

    def owner(self, access_key_id: str) -> KeyOwner | None:
        """Who an active key belongs to, or None."""
        key = self._lookup(access_key_id)
        return key.owner if key else None

    def secret_for(self, access_key_id: str) -> str | None:
        """The secret of an active key, or None (unknown, revoked, or undecryptable)."""
        key = self._lookup(access_key_id)
        return key.secret if key else None

    def _lookup(self, access_key_id: str) -> _ActiveKey | None:
        """An active key's secret and owner.

        Looked up at most once a second per key, so a revocation made by the CLI or by another
        server takes effect within a second.
        """
        now = time.monotonic()
        cached = self._cache.get(access_key_id)
        if cached and now - cached[0] < 1.0:
            return cached[1]
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT secret, principal, default_purpose FROM access_keys"
                " WHERE access_key_id = ? AND status = 'Active'",
                (access_key_id,),
            ).fetchone()
        found = None
        if row:
            try:
                found = _ActiveKey(
                    self._fernet.decrypt(bytes(row[0])).decode(), KeyOwner(row[1], row[2])
                )
            except InvalidToken:
                found = None
        self._cache[access_key_id] = (now, found)
        return found
