"""The audit log: an append-only, hash-chained record of every call, with a keyed head.

Design
------
The log is two tables in a :class:`~agnosco.storage.database.Database`: by default a SQLite
file of its own (``<data-dir>/audit.db``, WAL); with ``--store postgresql://...`` the store's
PostgreSQL database, so every server using that database appends to one chain.

``audit_records``
    One row per record.  ``body`` holds the record's canonical JSON (keys sorted, compact
    separators, UTF-8 rather than ``\\u`` escapes) *exactly as it was hashed*, so verification
    never depends on re-serialising anything; ``hash`` its SHA-256.  ``seq``, ``time``,
    ``operation`` and ``principal`` are copies of fields of the body, kept as columns (and
    indexed) so that records can be filtered; :meth:`AuditLog.verify` checks they agree with
    the body.

``audit_head``
    One row: the ``seq``, ``hash`` and ``time`` of the last record, and ``mac``, an
    HMAC-SHA256 of those three values under a key derived from the master key
    (:data:`AUDIT_KEY_PURPOSE`).  A fresh log starts with a keyed *genesis head* (seq 0), written once,
    when the tables are created.

Each record gets ``seq`` (1, 2, 3, ... without gaps), ``time`` (the clock's, unless the record
brings its own) and ``prev_hash`` (the previous record's ``hash``; 64 zeros for record 1), and
``hash = sha256(prev_hash + canonical_json(record without "hash"))``.  The record and the new
head are written in one transaction that first locks the head (SQLite: ``BEGIN IMMEDIATE``, the
database's write lock; PostgreSQL: ``SELECT ... FOR UPDATE`` on the head row), so appends from
several threads, processes and servers (and the CLI) are serialised into one chain, and a
record never exists without its head or the reverse.  :meth:`AuditLog.verify` and
:meth:`AuditLog.export` read one consistent snapshot (a SQLite read transaction; PostgreSQL
``REPEATABLE READ``) without blocking appends.

What :meth:`AuditLog.verify` detects
------------------------------------
Without the key, an attacker who can write the file cannot:

- edit a record (its hash no longer matches its content; rewriting the hash too breaks the
  next record's ``prev_hash``, and for the last record, the head);
- delete or insert records in the middle (a ``seq`` gap and a ``prev_hash`` mismatch);
- reorder records (``seq`` columns disagree with the content, ``prev_hash`` mismatches);
- delete records at the end (the head still names the old last record; rewriting the head
  needs the key, so a forged head fails its MAC);
- empty the log (the head, which exists from creation on, is missing, or names records that
  are gone).

What it cannot detect
---------------------
- Anyone holding the master key (``AGNOSCO_MASTER_KEY`` or ``<data-dir>/master.key``) can
  rewrite the whole log
  consistently: the chain proves integrity relative to the key, not to the world.  Keep the
  key apart from the database (and its backups) where possible, and anchor the head
  elsewhere (e.g. copy ``head()`` to another system periodically) for stronger guarantees.
- Rolling the whole database back to an earlier copy (an older, genuine head and chain), or
  cutting off its end and putting back an older, genuine head row saved before, looks like a
  valid, shorter log; so does a deleted file, or dropped tables (a new, empty log is then
  created) — *unless* signed checkpoints were kept elsewhere: :meth:`AuditLog.checkpoint`
  (``agnosco audit checkpoint``, e.g. every few minutes from cron to another machine) and
  ``agnosco audit verify --checkpoints FILE`` then names every checkpointed record the log no
  longer holds.  What was appended after the last checkpoint kept elsewhere can still be cut
  off unnoticed: checkpoint as often as that window must be short.
- Durability on SQLite is ``synchronous=NORMAL``: a committed record survives the process
  being killed (even ``kill -9``), but an operating-system crash or power loss may lose the
  last committed records *together with their head* (same transaction), leaving a shorter log
  that still verifies.  On PostgreSQL it is the server's (``synchronous_commit``).  A record is
  never left half-written.

After an incident the log refuses appends (:class:`AuditLogError`) rather than re-keying a
forged head: move ``audit.db`` aside (on PostgreSQL: rename the two tables and delete the
``audit`` row of ``agnosco_schema``), keeping it as evidence, to start a new log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Required, Self, TextIO, TypedDict

from agnosco.governance.usage import IMAGE_MIGRATIONS, meter_record
from agnosco.storage.database import Database, Tables, Transaction


class AuditEntry(TypedDict, total=False):
    """What governance records for one call or change: the one shape the gate, the command
    line and retention write (``docs/responsible-use.md`` describes each field).  The log itself
    takes any JSON object; :meth:`AuditLog.append` adds ``seq``, ``prev_hash`` and ``hash``."""

    time: Required[float]
    operation: Required[str]
    principal: Required[str | None]
    decision: Required[Literal["Allow", "Deny"]]
    reason: Required[str]
    request_id: str | None
    access_key_id: str | None
    #: The client's address, or ``"cli"`` for the command line.
    source: str | None
    #: ``"console"`` for a call made from the web console (absent for the API).
    channel: str
    region: str
    purpose: str | None
    consent_reference: str | None
    collection: str | None
    resource: str
    parameters: dict[str, Any]
    images: list[dict[str, Any]]
    #: ``"intent"`` for the record written before a change (its outcome record follows);
    #: ``"match"`` and ``"end"`` for a running stream processor's matches and its session's end.
    phase: Literal["intent", "match", "end"]
    error: str
    message: str
    result: dict[str, Any]
    review: dict[str, Any]
    #: The temporary credentials a call was signed with: their kind, the long-term key they
    #: descend from, and for a role's session the role, who assumed it and the session's name.
    session: dict[str, Any]


#: The audit database's file name inside a data directory.
AUDIT_DATABASE = "audit.db"
#: ``prev_hash`` of record 1 (and ``hash`` of the genesis head).
GENESIS_HASH = "0" * 64
#: Fields :meth:`AuditLog.append` sets; a record must not bring its own.
RESERVED_FIELDS = frozenset({"seq", "prev_hash", "hash"})

#: How the SQLite log is synced: a committed record survives a killed process (see above).
SQLITE_SYNCHRONOUS = "NORMAL"
#: ``PRAGMA user_version`` of a SQLite log (what Agnosco versions before per-component schema
#: versions read, so that they never write a second genesis head).
_SQLITE_USER_VERSION = 1
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_records (
        seq INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        operation TEXT,
        principal TEXT,
        body TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_records_by_time ON audit_records (time)",
    "CREATE INDEX IF NOT EXISTS audit_records_by_operation ON audit_records (operation, seq)",
    "CREATE INDEX IF NOT EXISTS audit_records_by_principal ON audit_records (principal, seq)",
    """CREATE TABLE IF NOT EXISTS audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        time REAL NOT NULL,
        mac TEXT NOT NULL
    )""",
)
_PAGE = 1000


class AuditLogError(RuntimeError):
    """The log cannot be appended to safely (its head is missing or forged): run ``agnosco audit verify``."""


class AuditLogMissing(AuditLogError):
    """There is no audit log where one was expected (and none was created)."""


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    count: int
    problems: list[str]


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, compact, non-ASCII kept, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def record_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


#: What the head's HMAC key is derived from the master key for (:meth:`MasterKey.derive`).
AUDIT_KEY_PURPOSE = b"agnosco audit head"


def _span(first: int, last: int) -> str:
    return f"record {first}" if first == last else f"records {first}..{last}"


def _filters(
    principal: str | None,
    operation: str | None,
    since: float | None = None,
    until: float | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (and its values) of records of ``principal`` and ``operation``, timed
    in ``[since, until)``."""
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("principal = ?", principal),
        ("operation = ?", operation),
        ("time >= ?", since),
        ("time < ?", until),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class AuditLog(Tables):
    """An append-only hash-chained log; safe to share between threads and to append to from
    several processes (and, on PostgreSQL, servers) at once.

    ``database`` is a :class:`~agnosco.storage.database.Database` (closed by :meth:`close` only
    when ``owned``) or the path of a SQLite file (opened here and closed by :meth:`close`).
    """

    def __init__(
        self,
        database: Path | Database,
        key: bytes,
        *,
        clock: Callable[[], float] = time.time,
        owned: bool = False,
    ) -> None:
        self._key = bytes(key)
        self._clock = clock
        self._attach(
            database,
            owned,
            lambda db: (
                db.migrate("audit", [[self._create]]),
                db.migrate("usage", IMAGE_MIGRATIONS),
            ),
            synchronous=SQLITE_SYNCHRONOUS,
        )
        #: The SQLite file, or None on PostgreSQL.
        self.path: Path | None = getattr(self._db, "path", None)

    def _create(self, tx: Transaction) -> None:
        """Migration 1: the tables, and the genesis head of a new log.

        Tables that exist already (a SQLite log made before schema versions were recorded) had
        their genesis then: writing another could hide an emptied log.
        """
        new = not tx.table_exists("audit_head")
        for statement in _SCHEMA:
            tx.execute(tx.ddl(statement))
        if new:  # a new log: its genesis head, keyed like any other
            self._write_head(tx, 0, GENESIS_HASH, float(self._clock()))
        if tx.dialect == "sqlite":
            tx.execute(f"PRAGMA user_version = {_SQLITE_USER_VERSION}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # the head ------------------------------------------------------------------------------
    def _mac(self, seq: int, hash_: str, time_: float) -> str:
        message = canonical_json([int(seq), hash_, float(time_)]).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _write_head(self, tx: Transaction, seq: int, hash_: str, time_: float) -> None:
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash, time, mac) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id)"
            " DO UPDATE SET seq = excluded.seq, hash = excluded.hash, time = excluded.time, mac = excluded.mac",
            (seq, hash_, time_, self._mac(seq, hash_, time_)),
        )

    @staticmethod
    def _read_head(tx: Transaction, lock: str = "") -> dict[str, Any] | None:
        row = tx.execute(
            f"SELECT seq, hash, time, mac FROM audit_head WHERE id = 1{lock}"
        ).fetchone()
        return (
            None if row is None else {"seq": row[0], "hash": row[1], "time": row[2], "mac": row[3]}
        )

    def _head_mac_ok(self, head: dict[str, Any]) -> bool:
        try:
            expected = self._mac(head["seq"], head["hash"], head["time"])
        except (TypeError, ValueError):
            return False
        return isinstance(head["mac"], str) and hmac.compare_digest(expected, head["mac"])

    def head(self) -> dict[str, Any] | None:
        """``{"seq", "hash", "time", "mac"}`` of the head row (seq 0 for an empty log), or None."""
        with self._db.read() as tx:
            return self._read_head(tx)

    # writing --------------------------------------------------------------------------------
    @property
    def database(self) -> Database:
        """The database the log is in (usage metered from it is there too)."""
        return self._db

    def append(
        self,
        record: Mapping[str, Any],
        *,
        then: Callable[[Transaction], None] | None = None,
    ) -> dict[str, Any]:
        """Chain ``record`` to the log and return it as stored (with seq, time, prev_hash, hash).

        In the same transaction the images a call's record shows it analysed are metered
        (:func:`agnosco.governance.usage.meter_record`), and ``then`` runs (the gate removes the
        call's quota reservation with it), so neither exists without the other.

        ``record`` is any JSON object (string keys; strings, numbers, lists, dicts, None) not
        containing ``seq``, ``prev_hash`` or ``hash``; ``time``, if present, must be a finite
        number of seconds since the epoch.  ``operation`` and ``principal``, when strings, are
        also stored as columns for filtering.  Raises :class:`AuditLogError` when the log's
        head is missing or forged (appending would hide the tampering).
        """
        if not isinstance(record, dict):
            raise TypeError(f"an audit record is a dict, not {type(record).__name__}")
        reserved = RESERVED_FIELDS.intersection(record)
        if reserved:
            raise ValueError(
                f"audit records may not set {', '.join(sorted(reserved))}: append() does"
            )
        if "time" in record:
            given = record["time"]
            if (
                isinstance(given, bool)
                or not isinstance(given, (int, float))
                or not math.isfinite(given)
            ):
                raise ValueError(f"an audit record's time must be a finite number, not {given!r}")
        canonical_json(record)  # fail on unserialisable content before taking the write lock
        with self._db.write() as tx:
            # Locking the head serialises appends: the next one reads the head this one writes.
            head = self._read_head(tx, tx.for_update)
            where = self._db.name
            if head is None:
                raise AuditLogError(
                    f"the audit log in {where} has no head: it was emptied or tampered with"
                )
            if not self._head_mac_ok(head):
                raise AuditLogError(
                    f"the audit log in {where} has a forged head (record {head['seq']}), or the master key is wrong"
                )
            last = tx.execute("SELECT MAX(seq) FROM audit_records").fetchone()[0]
            if last is not None and last > head["seq"]:
                raise AuditLogError(
                    f"the audit log in {where} has records after its head (record {head['seq']})"
                )
            stored = dict(record)
            stored["seq"] = seq = int(head["seq"]) + 1
            if "time" not in stored:
                stored["time"] = float(self._clock())
            stored["prev_hash"] = prev_hash = head["hash"]
            body = canonical_json(stored)
            digest = record_hash(prev_hash, body)
            tx.execute(
                "INSERT INTO audit_records (seq, time, operation, principal, body, hash) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    float(stored["time"]),
                    _text_or_none(stored.get("operation")),
                    _text_or_none(stored.get("principal")),
                    body,
                    digest,
                ),
            )
            self._write_head(tx, seq, digest, float(stored["time"]))
            meter_record(tx, stored)
            if then is not None:
                then(tx)
        result: dict[str, Any] = json.loads(body)
        result["hash"] = digest
        return result

    # reading --------------------------------------------------------------------------------
    def records(self, after: int = 0) -> Iterator[dict[str, Any]]:
        """Records with ``seq > after``, in seq order (read page by page; new appends may show)."""
        return self._pages(" WHERE seq > ?", (), after)

    def _pages(
        self, where: str, params: tuple[Any, ...], after: int, *extra: Any
    ) -> Iterator[dict[str, Any]]:
        """The records ``where`` selects (its last placeholders: ``seq > ?``, then ``extra``'s),
        with their hash, in seq order from ``seq > after``, read a page at a time, each page in a
        read of its own that ends before its records are given out."""
        while True:
            with self._db.read() as tx:
                rows = tx.execute(
                    f"SELECT seq, body, hash FROM audit_records{where} ORDER BY seq LIMIT ?",
                    (*params, after, *extra, _PAGE),
                ).fetchall()
            for seq, body, digest in rows:
                record = json.loads(body)
                record["hash"] = digest
                yield record
                after = seq
            if len(rows) < _PAGE:
                return

    def export(
        self,
        fh: TextIO,
        *,
        principal: str | None = None,
        operation: str | None = None,
        collection: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """Write every record (those of ``principal``, ``operation`` and ``collection``, timed
        in ``[since, until)``, when given) as one line of canonical JSON (JSON Lines), in seq
        order, up to the last record when it starts (:meth:`export_lines`); return how many
        were written."""
        count = 0
        for line in self.export_lines(
            principal=principal,
            operation=operation,
            collection=collection,
            since=since,
            until=until,
        ):
            fh.write(line)
            count += 1
        return count

    def last_seq(self) -> int:
        """The ``seq`` of the last record (0 for an empty log)."""
        with self._db.read() as tx:
            return int(tx.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_records").fetchone()[0])

    def export_lines(
        self,
        *,
        principal: str | None = None,
        operation: str | None = None,
        collection: str | None = None,
        since: float | None = None,
        until: float | None = None,
        up_to: int | None = None,
    ) -> Iterator[str]:
        """The records :meth:`export` writes, each a line of canonical JSON ending in a
        newline, in seq order, up to record ``up_to`` (the last record when reading starts,
        when None).

        Read page by page, each page in a read of its own that ends before its lines are
        given out: a slow reader of a long log holds no transaction open, and the generator
        may be resumed from any thread.  The log is append-only, so records up to ``up_to``
        read page by page are the ones a single snapshot would have given.
        """
        where, params = _filters(principal, operation, since, until)
        where += (" AND" if where else " WHERE") + " seq > ? AND seq <= ?"
        if up_to is None:
            up_to = self.last_seq()
        for record in self._pages(where, tuple(params), 0, up_to):
            if collection is None or record.get("collection") == collection:
                yield canonical_json(record) + "\n"

    def count(
        self,
        *,
        principal: str | None = None,
        operation: str | None = None,
        collection: str | None = None,
        since: float | None = None,
        until: float | None = None,
        up_to: int | None = None,
    ) -> int:
        """How many records :meth:`export_lines` gives for the same filters (counted in the
        database, but for ``collection``, which is read from each record)."""
        if collection is not None:
            return sum(
                1
                for _ in self.export_lines(
                    principal=principal,
                    operation=operation,
                    collection=collection,
                    since=since,
                    until=until,
                    up_to=up_to,
                )
            )
        where, params = _filters(principal, operation, since, until)
        if up_to is not None:
            where += (" AND" if where else " WHERE") + " seq <= ?"
            params = (*params, up_to)
        with self._db.read() as tx:
            return int(
                tx.execute(f"SELECT COUNT(*) FROM audit_records{where}", params).fetchone()[0]
            )

    def search(
        self,
        *,
        principal: str | None = None,
        operation: str | None = None,
        collection: str | None = None,
        since: float | None = None,
        until: float | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` records with ``seq < before`` (all when None) of ``principal``,
        ``operation`` and ``collection``, timed in ``[since, until)``, when given, newest
        first."""
        where, params = _filters(principal, operation, since, until)
        if before is not None:
            where += (" AND" if where else " WHERE") + " seq < ?"
            params = (*params, before)
        if collection is None:  # else records are read until ``limit`` of them match
            where += " ORDER BY seq DESC LIMIT ?"
            params = (*params, limit)
        else:
            where += " ORDER BY seq DESC"
        found: list[dict[str, Any]] = []
        with self._db.snapshot() as tx:
            for body, digest in tx.stream(f"SELECT body, hash FROM audit_records{where}", params):
                record = json.loads(body)
                if collection is not None and record.get("collection") != collection:
                    continue
                record["hash"] = digest
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    # verifying ------------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        """A signed checkpoint of the log as it is now: the head's ``seq``, ``hash`` and ``time``
        and their ``mac``.  Kept *outside* the data directory (another machine, a write-once
        store), it lets :meth:`verify` detect what the head alone cannot: the end of the log cut
        off and an older, genuine head put back, or the whole log rolled back to an earlier copy.

        :raises AuditLogError: the head is missing or forged (verify the log first).
        """
        head = self.head()
        if head is None or not self._head_mac_ok(head):
            raise AuditLogError(
                "the audit log's head is missing or forged: run `agnosco audit verify`"
            )
        return {
            "checkpoint": "agnosco-audit",
            "seq": head["seq"],
            "hash": head["hash"],
            "time": head["time"],
            "mac": head["mac"],
        }

    def verify(self, checkpoints: Sequence[dict[str, Any]] = ()) -> VerifyReport:
        """Recompute the chain from the stored JSON and check the head against it and its MAC,
        and that the log still holds every given :meth:`checkpoint`."""
        problems: list[str] = []
        count = 0
        prev_hash = GENESIS_HASH  # the stored hash of the previous row
        prev_seq = 0
        with self._db.snapshot() as tx:
            rows = tx.stream(
                "SELECT seq, time, operation, principal, body, hash FROM audit_records ORDER BY seq"
            )
            wanted = {c.get("seq"): c for c in checkpoints if isinstance(c, dict)}
            found: dict[int, str] = {}
            for seq, time_, operation, principal, body, digest in rows:
                count += 1
                problems.extend(
                    self._check_record(
                        seq, time_, operation, principal, body, digest, prev_seq, prev_hash
                    )
                )
                prev_seq, prev_hash = seq, digest
                if seq in wanted:
                    found[seq] = digest
            head = self._read_head(tx)
        problems.extend(self._check_head(head, count, prev_seq, prev_hash))
        for checkpoint in checkpoints:
            problems.extend(self._check_checkpoint(checkpoint, found))
        return VerifyReport(ok=not problems, count=count, problems=problems)

    def _check_checkpoint(self, checkpoint: Any, found: dict[int, str]) -> list[str]:
        if not isinstance(checkpoint, dict) or not self._head_mac_ok(
            {k: checkpoint.get(k) for k in ("seq", "hash", "time", "mac")}
        ):
            return [
                f"checkpoint {checkpoint!r:.80}: its MAC does not verify (not made with this log's key)"
            ]
        seq = checkpoint["seq"]
        if seq == 0:
            return []
        if seq not in found:
            return [
                (
                    f"checkpoint at record {seq}: the log no longer holds record {seq} "
                    "(its end was cut off, or the log was rolled back to an earlier copy)"
                )
            ]
        if found[seq] != checkpoint["hash"]:
            return [
                (
                    f"checkpoint at record {seq}: the record's hash is not the one checkpointed "
                    "(the log was rewritten from there on)"
                )
            ]
        return []

    @staticmethod
    def _check_record(
        seq: Any,
        time_: Any,
        operation: Any,
        principal: Any,
        body: Any,
        digest: Any,
        prev_seq: int,
        prev_hash: str,
    ) -> list[str]:
        problems: list[str] = []
        where = f"record {seq}"
        if isinstance(seq, int) and seq != prev_seq + 1:
            if seq > prev_seq + 1:
                problems.append(
                    f"{where}: {_span(prev_seq + 1, seq - 1)} missing before it (seq gap)"
                )
            else:
                problems.append(f"{where}: out of sequence after record {prev_seq}")
        try:
            content = json.loads(body) if isinstance(body, str) else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            problems.append(f"{where}: stored content is not a JSON object")
            return problems
        if not isinstance(body, str) or record_hash(str(content.get("prev_hash")), body) != digest:
            problems.append(f"{where}: hash does not match its content (the record was edited)")
        if content.get("seq") != seq:
            problems.append(
                f"{where}: its content says seq {content.get('seq')!r} "
                "(records were reordered or renumbered)"
            )
        if content.get("prev_hash") != prev_hash:
            before = "the genesis value" if prev_seq == 0 else f"the hash of record {prev_seq}"
            problems.append(
                f"{where}: prev_hash does not match {before} "
                "(records were deleted, inserted or reordered, or the previous record was rewritten)"
            )
        content_time = content.get("time")
        columns_agree = (
            isinstance(content_time, (int, float))
            and not isinstance(content_time, bool)
            and time_ == float(content_time)
            and operation == _text_or_none(content.get("operation"))
            and principal == _text_or_none(content.get("principal"))
        )
        if not columns_agree:
            problems.append(
                f"{where}: its time/operation/principal columns do not match its content"
            )
        return problems

    def _check_head(
        self, head: dict[str, Any] | None, count: int, last_seq: int, last_hash: str
    ) -> list[str]:
        if head is None:
            if count:
                return [
                    f"the head is missing, but there are {count} records (the last is record {last_seq})"
                ]
            return ["the head is missing: the log was emptied (a new log always has a head)"]
        problems: list[str] = []
        head_seq = head["seq"]
        if not self._head_mac_ok(head):
            problems.append(
                f"head (record {head_seq}): MAC does not verify: the head was forged or edited without "
                "the key (records after it may have been deleted), or the key is wrong"
            )
        if not isinstance(head_seq, int):
            problems.append(f"head: seq {head_seq!r} is not an integer")
        elif count == 0:
            if head_seq > 0:
                problems.append(
                    f"head says the log ends at record {head_seq}, but there are no records "
                    f"({_span(1, head_seq)} deleted)"
                )
            elif head_seq < 0:
                problems.append(f"head: seq {head_seq} is out of range")
            elif head["hash"] != GENESIS_HASH:
                problems.append("head (record 0): its hash is not the genesis value")
        elif head_seq > last_seq:
            problems.append(
                f"head says the log ends at record {head_seq}, but the last record is "
                f"{last_seq}: {_span(last_seq + 1, head_seq)} deleted from the end"
            )
        elif head_seq < last_seq:
            problems.append(
                f"{_span(head_seq + 1, last_seq)} after the head (record {head_seq}): "
                "not appended through the log"
            )
        else:
            if head["hash"] != last_hash:
                problems.append(
                    f"head (record {head_seq}): its hash does not match record {last_seq}'s hash"
                )
        return problems
