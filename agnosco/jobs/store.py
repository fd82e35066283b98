"""Asynchronous jobs (stored-video analysis) in the deployment's database.

A job is one ``Start<Kind>`` call: its request, who made it, and its state.  ``IN_PROGRESS``
jobs are claimed by workers with a *lease* (an owner and an expiry the worker renews while it
works); a job whose lease ran out — its worker's process crashed, was killed or restarted — is
claimed again, from the start, by any worker of any replica, at most :data:`MAX_ATTEMPTS`
times, then ``FAILED`` with a message saying so: no job is left ``IN_PROGRESS`` for ever.  A
claim locks its row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's writer is one at a
time), so two replicas never run one job at once.

Results are *items* (a FaceDetection, a PersonMatch, a segment...), stored in batches as the
worker produces them, with the columns a Get sorts by, and read back a page at a time.  A
finished job and its items expire :data:`RESULT_DAYS` after completion, as Rekognition keeps
results for 7 days; :meth:`JobStore.purge` removes expired jobs and whatever a retention limit
says.

``ClientRequestToken`` makes Start idempotent: the same token for the same kind of job, with
the same request, is the same job; with another request it is
``IdempotentParameterMismatchException``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agnosco.errors import IdempotentParameterMismatchException, ResourceNotFoundException
from agnosco.storage.database import Database, Tables, Transaction

IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"
#: Claims of one job before it is failed (the first run and one retry after a crash).
MAX_ATTEMPTS = 2
#: How long a finished job's results are kept, as Rekognition keeps them.
RESULT_DAYS = 7
_DAY = 86400.0

#: The ``jobs`` component's migrations (:meth:`Database.migrate`).
MIGRATIONS = [
    [
        """CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            status_message TEXT,
            request TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            client_token TEXT,
            job_tag TEXT,
            principal TEXT,
            access_key_id TEXT,
            created_at REAL NOT NULL,
            completed_at REAL,
            lease_owner TEXT,
            lease_expires REAL,
            attempts INTEGER NOT NULL,
            result TEXT
        )""",
        "CREATE UNIQUE INDEX jobs_by_token ON jobs (kind, client_token)",
        "CREATE INDEX jobs_to_claim ON jobs (status, lease_expires, created_at)",
        """CREATE TABLE job_items (
            job_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            timestamp_ms INTEGER NOT NULL,
            sort_key INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (job_id, seq)
        )""",
        "CREATE INDEX job_items_by_time ON job_items (job_id, timestamp_ms, seq)",
        "CREATE INDEX job_items_by_key ON job_items (job_id, sort_key, timestamp_ms, seq)",
    ],
]
#: The ``job_usage`` component's migrations: the video each job that succeeded analysed, kept
#: after the job expires (video minutes are metered from it; ``agnosco.governance.usage``).
USAGE_MIGRATIONS = [
    [
        """CREATE TABLE job_usage (
            job_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            principal TEXT,
            collection_id TEXT,
            completed_at REAL NOT NULL,
            duration_ms INTEGER NOT NULL
        )""",
        "CREATE INDEX job_usage_by_time ON job_usage (completed_at)",
    ],
]


@dataclass(frozen=True)
class VideoUsage:
    """Video a principal's jobs of one kind analysed (of one collection, if they searched one)."""

    principal: str | None
    kind: str
    collection_id: str | None
    jobs: int
    duration_ms: int


def video_duration_ms(result: dict[str, Any] | None) -> int:
    """How long the analysed video is, from a job's ``VideoMetadata`` (one, or a list of them)."""
    metadata = (result or {}).get("VideoMetadata")
    shapes = metadata if isinstance(metadata, list) else [metadata]
    durations = [
        int(m["DurationMillis"])
        for m in shapes
        if isinstance(m, dict) and isinstance(m.get("DurationMillis"), int | float)
    ]
    return max(durations, default=0)


_COLUMNS = (
    "job_id, kind, status, status_message, request, fingerprint, client_token, job_tag,"
    " principal, access_key_id, created_at, completed_at, lease_owner, lease_expires, attempts,"
    " result"
)


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    status: str
    status_message: str | None
    request: dict[str, Any]
    fingerprint: str
    client_token: str | None
    job_tag: str | None
    principal: str | None
    access_key_id: str | None
    created_at: float
    completed_at: float | None
    lease_owner: str | None
    lease_expires: float | None
    attempts: int
    #: What the job found besides its items (e.g. ``VideoMetadata``), as the Get answers it.
    result: dict[str, Any] | None

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> Job:
        values = list(row)
        values[4] = json.loads(values[4])
        values[15] = json.loads(values[15]) if values[15] is not None else None
        return cls(*values)


@dataclass(frozen=True)
class Item:
    """One result of a job: ``body`` is its Rekognition shape (a FaceDetection, ...)."""

    timestamp_ms: int
    body: dict[str, Any]
    #: What a Get may sort by besides the timestamp (a person's index); 0 when nothing.
    sort_key: int = 0


def fingerprint(request: dict[str, Any]) -> str:
    """What makes two Start requests the same request (the token aside)."""
    same = {k: v for k, v in request.items() if k != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(same, sort_keys=True, default=str).encode()).hexdigest()


class JobStore(Tables):
    """Jobs and their items in ``database`` (closed by :meth:`close` only when ``owned``) or a
    SQLite file at that path."""

    def __init__(
        self,
        database: Path | Database,
        *,
        owned: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._attach(
            database,
            owned,
            lambda db: (db.migrate("jobs", MIGRATIONS), db.migrate("job_usage", USAGE_MIGRATIONS)),
        )
        self._clock = clock or time.time
        #: Called after each new job is stored (a runtime in this process wakes a worker).
        self.on_submit: list[Callable[[], None]] = []

    # starting -----------------------------------------------------------------------------------

    def submit(
        self,
        kind: str,
        request: dict[str, Any],
        *,
        principal: str | None = None,
        access_key_id: str | None = None,
    ) -> Job:
        """A new ``IN_PROGRESS`` job for ``request``, or the job its ClientRequestToken already
        started.

        :raises IdempotentParameterMismatchException: the token started another request."""
        token = request.get("ClientRequestToken")
        digest = fingerprint(request)
        with self._db.write() as tx:
            tx.serialize(f"jobs/{kind}")
            if token:
                known = self._by_token(tx, kind, token)
                if known is not None:
                    if known.fingerprint != digest:
                        raise IdempotentParameterMismatchException(
                            f"The ClientRequestToken: {token} you have supplied is already in use."
                        )
                    return known
            job = Job(
                job_id=uuid.uuid4().hex,
                kind=kind,
                status=IN_PROGRESS,
                status_message=None,
                request=request,
                fingerprint=digest,
                client_token=token or None,
                job_tag=request.get("JobTag"),
                principal=principal,
                access_key_id=access_key_id,
                created_at=self._clock(),
                completed_at=None,
                lease_owner=None,
                lease_expires=None,
                attempts=0,
                result=None,
            )
            tx.execute(
                f"INSERT INTO jobs ({_COLUMNS}) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.job_id,
                    job.kind,
                    job.status,
                    None,
                    json.dumps(request, default=str),
                    digest,
                    job.client_token,
                    job.job_tag,
                    principal,
                    access_key_id,
                    job.created_at,
                    None,
                    None,
                    None,
                    0,
                    None,
                ),
            )
        for listener in self.on_submit:
            listener()
        return job

    @staticmethod
    def _by_token(tx: Transaction, kind: str, token: str) -> Job | None:
        row = tx.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? AND client_token = ?", (kind, token)
        ).fetchone()
        return Job._from_row(row) if row is not None else None

    # working ------------------------------------------------------------------------------------

    def claim(
        self, owner: str, lease_seconds: float, kinds: Sequence[str], *, job_id: str | None = None
    ) -> Job | None:
        """The oldest ``IN_PROGRESS`` job of ``kinds`` nobody holds (never leased, or its lease
        ran out), now leased to ``owner``; None if there is none.  A job claimed
        :data:`MAX_ATTEMPTS` times already is failed instead, and the next one is looked at.
        With ``job_id``, that job only (the command line runs the job it just submitted)."""
        if not kinds:
            return None
        marks = ", ".join("?" for _ in kinds)
        only = " AND job_id = ?" if job_id is not None else ""
        while True:
            now = self._clock()
            with self._db.write() as tx:
                row = tx.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE status = ? AND kind IN ({marks})"
                    " AND (lease_expires IS NULL OR lease_expires < ?)"
                    + only
                    + " ORDER BY created_at, job_id LIMIT 1"
                    + tx.locking("UPDATE SKIP LOCKED"),
                    (IN_PROGRESS, *kinds, now, *([job_id] if job_id is not None else [])),
                ).fetchone()
                if row is None:
                    return None
                job = Job._from_row(row)
                if job.attempts >= MAX_ATTEMPTS:
                    self._finish(
                        tx,
                        job.job_id,
                        FAILED,
                        f"The job was interrupted {job.attempts} times (its server stopped "
                        "while it ran) and was abandoned; start it again.",
                        None,
                        now,
                    )
                    continue
                tx.execute(
                    "UPDATE jobs SET lease_owner = ?, lease_expires = ?, attempts = attempts + 1"
                    " WHERE job_id = ?",
                    (owner, now + lease_seconds, job.job_id),
                )
                # A retried job starts again from nothing: no item of an interrupted run stays.
                tx.execute("DELETE FROM job_items WHERE job_id = ?", (job.job_id,))
            return self.get(job.job_id)

    def renew(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        """Extend ``owner``'s lease; False when the job is no longer its own (its lease ran out
        and another worker claimed it, or it was purged): the worker must stop."""
        with self._db.write() as tx:
            cursor = tx.execute(
                "UPDATE jobs SET lease_expires = ? WHERE job_id = ? AND lease_owner = ?"
                " AND status = ?",
                (self._clock() + lease_seconds, job_id, owner, IN_PROGRESS),
            )
            return bool(cursor.rowcount)

    def release(self, job_id: str, owner: str) -> None:
        """Hand back a job ``owner`` holds but did not finish (its server is stopping): claimable
        at once, and this run not counted as an attempt."""
        with self._db.write() as tx:
            tx.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL,"
                " attempts = attempts - 1 WHERE job_id = ? AND lease_owner = ? AND status = ?",
                (job_id, owner, IN_PROGRESS),
            )

    def add_items(self, job_id: str, owner: str, items: Sequence[Item]) -> bool:
        """Store a batch of results of the run ``owner`` holds; False (nothing stored) when the
        job is no longer its own."""
        with self._db.write() as tx:
            if not self._holds(tx, job_id, owner):
                return False
            last = tx.execute(
                "SELECT MAX(seq) FROM job_items WHERE job_id = ?", (job_id,)
            ).fetchone()[0]
            start = 0 if last is None else int(last) + 1
            tx.executemany(
                "INSERT INTO job_items (job_id, seq, timestamp_ms, sort_key, body)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (job_id, start + i, item.timestamp_ms, item.sort_key, json.dumps(item.body))
                    for i, item in enumerate(items)
                ],
            )
        return True

    def complete(
        self,
        job_id: str,
        owner: str,
        status: str,
        message: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        """Finish the run ``owner`` holds as SUCCEEDED or FAILED; False when it is not its own."""
        with self._db.write() as tx:
            if not self._holds(tx, job_id, owner):
                return False
            self._finish(tx, job_id, status, message, result, self._clock())
        return True

    @staticmethod
    def _holds(tx: Transaction, job_id: str, owner: str) -> bool:
        """Whether ``owner`` holds the running job (its row locked until the transaction ends)."""
        row = tx.execute(
            "SELECT lease_owner FROM jobs WHERE job_id = ? AND status = ?" + tx.for_update,
            (job_id, IN_PROGRESS),
        ).fetchone()
        return row is not None and row[0] == owner

    @staticmethod
    def _finish(
        tx: Transaction,
        job_id: str,
        status: str,
        message: str | None,
        result: dict[str, Any] | None,
        now: float,
    ) -> None:
        tx.execute(
            "UPDATE jobs SET status = ?, status_message = ?, result = ?, completed_at = ?,"
            " lease_owner = NULL, lease_expires = NULL WHERE job_id = ?",
            (status, message, json.dumps(result) if result is not None else None, now, job_id),
        )
        if status == SUCCEEDED:  # metered in the transaction that records the success
            row = tx.execute(
                "SELECT kind, principal, request FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
            collection = json.loads(row[2]).get("CollectionId")
            tx.execute(
                "INSERT INTO job_usage (job_id, kind, principal, collection_id, completed_at, duration_ms)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
                (
                    job_id,
                    row[0],
                    row[1],
                    collection if isinstance(collection, str) else None,
                    now,
                    video_duration_ms(result),
                ),
            )

    def video_usage(self, since: float, until: float) -> list[VideoUsage]:
        """Video analysed by the jobs that succeeded in ``[since, until)``, per principal, kind
        and collection (expired jobs' included)."""
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT principal, kind, collection_id, COUNT(*), SUM(duration_ms) FROM job_usage"
                " WHERE completed_at >= ? AND completed_at < ?"
                " GROUP BY principal, kind, collection_id ORDER BY principal, kind, collection_id",
                (since, until),
            ).fetchall()
        return [VideoUsage(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    # reading ------------------------------------------------------------------------------------

    def get(self, job_id: str, kind: str | None = None) -> Job:
        """:raises ResourceNotFoundException: no such job (of ``kind``), or its results expired."""
        with self._db.read() as tx:
            row = tx.execute(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        job = Job._from_row(row) if row is not None else None
        if job is None or (kind is not None and job.kind != kind) or self._expired(job):
            raise ResourceNotFoundException(f"The job {job_id[:64]} does not exist.")
        return job

    def list_jobs(
        self, *, kind: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Job]:
        """The latest ``limit`` jobs (of ``kind``, in ``status``), newest first, expired ones
        left out."""
        where, params = ["1 = 1"], []
        for column, value in (("kind", kind), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        with self._db.read() as tx:
            rows = tx.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE {' AND '.join(where)}"
                " ORDER BY created_at DESC, job_id LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [job for job in map(Job._from_row, rows) if not self._expired(job)]

    def items(
        self, job_id: str, after: int | None, limit: int, *, by_key: bool = False
    ) -> tuple[list[Item], int | None]:
        """Up to ``limit`` items after position ``after`` (None: from the first), in time order
        (``by_key``: by sort key, then time), and the position to continue from (None: no more)."""
        order = "sort_key, timestamp_ms, seq" if by_key else "timestamp_ms, seq"
        offset = after or 0
        with self._db.read() as tx:
            rows = tx.execute(
                f"SELECT timestamp_ms, sort_key, body FROM job_items WHERE job_id = ?"
                f" ORDER BY {order} LIMIT ? OFFSET ?",
                (job_id, limit + 1, offset),
            ).fetchall()
        more = len(rows) > limit
        found = [Item(int(t), json.loads(b), int(k)) for t, k, b in rows[:limit]]
        return found, (offset + limit if more else None)

    def _expired(self, job: Job) -> bool:
        return job.completed_at is not None and (
            self._clock() - job.completed_at > RESULT_DAYS * _DAY
        )

    # forgetting ---------------------------------------------------------------------------------

    def purge(self, older_than_days: float | None = None) -> int:
        """Delete finished jobs past :data:`RESULT_DAYS` (or ``older_than_days`` since they
        were started, if fewer: a retention limit), with their items; returns how many."""
        now = self._clock()
        where, params = "completed_at IS NOT NULL AND completed_at < ?", [now - RESULT_DAYS * _DAY]
        if older_than_days is not None:
            where += " OR created_at < ?"
            params.append(now - older_than_days * _DAY)
        with self._db.write() as tx:
            rows = tx.execute(f"SELECT job_id FROM jobs WHERE {where}", params).fetchall()
            ids = [r[0] for r in rows]
            for job_id in ids:
                tx.execute("DELETE FROM job_items WHERE job_id = ?", (job_id,))
                tx.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))
        return len(ids)
