"""Stream processors, and where their streams come from and go, in the deployment's database.

A stream processor is a row: its name and ARN, its definition as CreateStreamProcessor gave it
(``Input``, ``Output``, ``Settings``, ``RoleArn``, ...), its status, and while it runs its
*session* (who started it, with which purpose, threshold and review obligation, when it must
stop).  Status moves as Rekognition's does::

    CreateStreamProcessor -> STOPPED
    StartStreamProcessor  STOPPED | FAILED -> STARTING -> RUNNING (its source opened)
    StopStreamProcessor   STARTING | RUNNING -> STOPPING -> STOPPED
    a source gone for good, or a policy that no longer allows it -> FAILED (StatusMessage says why)

A running processor is worked by one replica at a time, under a *lease* exactly as jobs are
(:mod:`agnosco.jobs.store`): a claim locks the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
the worker renews the lease while it runs, and a processor whose worker died is claimed again
by any replica, so ``RUNNING`` survives a restart and ``STOPPED`` stays stopped.

A self-hosted deployment has no Kinesis: the deployer maps ARNs to what they stand for.
A Kinesis Video Streams ARN is a *video source* (``agnosco video-sources add ARN URL``: an
``rtsp://`` or ``http(s)://`` stream, a file, or a camera device); a Kinesis Data Streams ARN is
a *data sink* (``agnosco data-sinks add ARN --jsonl PATH | --webhook URL``).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agnosco.errors import (
    InvalidParameterException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from agnosco.storage.database import Database, Tables, Transaction

STOPPED, STARTING, RUNNING, FAILED, STOPPING, UPDATING = (
    "STOPPED",
    "STARTING",
    "RUNNING",
    "FAILED",
    "STOPPING",
    "UPDATING",
)
#: Statuses in which a processor has a session a worker works (or should).
ACTIVE = (STARTING, RUNNING, STOPPING)

#: The ``streams`` component's migrations (:meth:`Database.migrate`).
MIGRATIONS = [
    [
        """CREATE TABLE stream_processors (
            name TEXT PRIMARY KEY,
            arn TEXT NOT NULL,
            status TEXT NOT NULL,
            status_message TEXT,
            definition TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            session TEXT,
            lease_owner TEXT,
            lease_expires REAL
        )""",
        "CREATE INDEX stream_processors_to_claim ON stream_processors (status, lease_expires)",
        """CREATE TABLE video_sources (
            arn TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE data_sinks (
            arn TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
    ],
]
_COLUMNS = (
    "name, arn, status, status_message, definition, created_at, updated_at, session,"
    " lease_owner, lease_expires"
)
_VIDEO_ARN = re.compile(r"^arn:([a-z\d-]+):kinesisvideo:([a-z\d-]+):\d{12}:.+$")
_DATA_ARN = re.compile(r"^arn:([a-z\d-]+):kinesis:([a-z\d-]+):\d{12}:.+$")
#: Data sink kinds: a JSON Lines file (one record a line) or an HTTP endpoint (a POST a record).
JSONL, WEBHOOK = "jsonl", "webhook"


@dataclass(frozen=True)
class Session:
    """One StartStreamProcessor: who started it and under which obligations it runs."""

    session_id: str
    principal: str | None
    access_key_id: str | None
    purpose: str | None
    #: The Start call's request id (its audit record), so stream matches point back to it.
    request_id: str | None
    #: The FaceMatchThreshold the gate allowed (None: the processor searches nothing).
    threshold: float | None
    #: Reviewers a policy requires before a match may be seen (0: none).
    reviewers: int
    started_at: float
    #: When StopSelector.MaxDurationInSeconds ends the session (None: when stopped).
    stop_at: float | None
    #: The consent or authorisation reference declared at Start (policies may require one).
    consent_reference: str | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> Session:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class StreamProcessor:
    name: str
    arn: str
    status: str
    status_message: str | None
    #: The CreateStreamProcessor members that define it (Input, Output, Settings, RoleArn...).
    definition: dict[str, Any]
    created_at: float
    updated_at: float
    session: Session | None
    lease_owner: str | None
    lease_expires: float | None

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> StreamProcessor:
        (name, arn, status, message, definition, created, updated, session, owner, expires) = row
        return cls(
            name,
            arn,
            status,
            message,
            json.loads(definition),
            float(created),
            float(updated),
            Session.from_json(session) if session else None,
            owner,
            float(expires) if expires is not None else None,
        )


@dataclass(frozen=True)
class VideoSourceMapping:
    arn: str
    url: str
    created_at: float


@dataclass(frozen=True)
class DataSinkMapping:
    arn: str
    kind: str
    target: str
    created_at: float


class StreamStore(Tables):
    """Stream processors, video sources and data sinks in ``database`` (closed by
    :meth:`close` only when ``owned``) or a SQLite file at that path."""

    def __init__(
        self,
        database: Path | Database,
        *,
        owned: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._attach(database, owned, lambda db: db.migrate("streams", MIGRATIONS))
        self._clock = clock or time.time
        #: Called after a processor is started (a runtime in this process claims it at once).
        self.on_start: list[Callable[[], None]] = []

    # processors ---------------------------------------------------------------------------------

    def create(self, name: str, arn: str, definition: dict[str, Any]) -> StreamProcessor:
        """A new ``STOPPED`` processor.

        :raises ResourceInUseException: a processor of that name exists."""
        now = self._clock()
        with self._db.write() as tx:
            if self._row(tx, name) is not None:
                raise ResourceInUseException(f"A stream processor named {name} already exists.")
            tx.execute(
                f"INSERT INTO stream_processors ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, arn, STOPPED, None, json.dumps(definition), now, now, None, None, None),
            )
        return self.get(name)

    def get(self, name: str) -> StreamProcessor:
        """:raises ResourceNotFoundException: no such processor."""
        with self._db.read() as tx:
            processor = self._row(tx, name)
        if processor is None:
            raise ResourceNotFoundException(f"The stream processor {name} does not exist.")
        return processor

    def find(self, name: str) -> StreamProcessor | None:
        with self._db.read() as tx:
            return self._row(tx, name)

    def page(self, after: str | None, limit: int) -> tuple[list[StreamProcessor], str | None]:
        """Up to ``limit`` processors by name after ``after``, and the last name if more follow."""
        with self._db.read() as tx:
            rows = tx.execute(
                f"SELECT {_COLUMNS} FROM stream_processors WHERE name > ? ORDER BY name LIMIT ?",
                (after or "", limit + 1),
            ).fetchall()
        found = [StreamProcessor._from_row(r) for r in rows[:limit]]
        return found, (found[-1].name if len(rows) > limit else None)

    def update(self, name: str, definition: dict[str, Any]) -> StreamProcessor:
        """Replace a stopped processor's definition.

        :raises ResourceNotFoundException, ResourceInUseException: missing, or running."""
        with self._db.write() as tx:
            processor = self._locked(tx, name)
            if processor.status in ACTIVE:
                raise ResourceInUseException(
                    f"The stream processor {name} is {processor.status}; stop it to update it."
                )
            tx.execute(
                "UPDATE stream_processors SET definition = ?, updated_at = ? WHERE name = ?",
                (json.dumps(definition), self._clock(), name),
            )
        return self.get(name)

    def delete(self, name: str) -> None:
        """:raises ResourceNotFoundException, ResourceInUseException: missing, or running."""
        with self._db.write() as tx:
            processor = self._locked(tx, name)
            if processor.status in ACTIVE:
                raise ResourceInUseException(
                    f"The stream processor {name} is {processor.status}; stop it to delete it."
                )
            tx.execute("DELETE FROM stream_processors WHERE name = ?", (name,))

    def start(self, name: str, session: Session) -> StreamProcessor:
        """``STARTING`` with ``session``, for a runtime to claim.

        :raises ResourceNotFoundException, ResourceInUseException: missing, or already active."""
        with self._db.write() as tx:
            processor = self._locked(tx, name)
            if processor.status in ACTIVE:
                raise ResourceInUseException(
                    f"The stream processor {name} is already {processor.status}."
                )
            tx.execute(
                "UPDATE stream_processors SET status = ?, status_message = NULL, session = ?,"
                " lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE name = ?",
                (STARTING, session.to_json(), self._clock(), name),
            )
        for listener in self.on_start:
            listener()
        return self.get(name)

    def stop(self, name: str) -> StreamProcessor:
        """Ask the worker of a running processor to stop (``STOPPING``); a processor no worker
        holds (its lease ran out) is ``STOPPED`` at once.

        :raises ResourceNotFoundException, ResourceInUseException: missing, or not running."""
        now = self._clock()
        with self._db.write() as tx:
            processor = self._locked(tx, name)
            if processor.status not in ACTIVE:
                raise ResourceInUseException(
                    f"The stream processor {name} is {processor.status}, not running."
                )
            held = processor.lease_expires is not None and processor.lease_expires >= now
            tx.execute(
                "UPDATE stream_processors SET status = ?, updated_at = ? WHERE name = ?",
                (STOPPING if held else STOPPED, now, name),
            )
            if not held:
                tx.execute(
                    "UPDATE stream_processors SET session = NULL, lease_owner = NULL,"
                    " lease_expires = NULL WHERE name = ?",
                    (name,),
                )
        return self.get(name)

    # working ------------------------------------------------------------------------------------

    def claim(self, owner: str, lease_seconds: float) -> StreamProcessor | None:
        """An active processor no worker holds (never claimed, or its lease ran out), now leased
        to ``owner``; None if there is none."""
        now = self._clock()
        with self._db.write() as tx:
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM stream_processors WHERE status IN (?, ?, ?)"
                " AND (lease_expires IS NULL OR lease_expires < ?)"
                " ORDER BY updated_at, name LIMIT 1" + tx.locking("UPDATE SKIP LOCKED"),
                (*ACTIVE, now),
            ).fetchone()
            if row is None:
                return None
            processor = StreamProcessor._from_row(row)
            if processor.status == STOPPING:  # its worker died while stopping it
                self._end(tx, processor.name, STOPPED, None, now)
                return None
            tx.execute(
                "UPDATE stream_processors SET lease_owner = ?, lease_expires = ? WHERE name = ?",
                (owner, now + lease_seconds, processor.name),
            )
        return self.get(processor.name)

    def renew(self, name: str, owner: str, lease_seconds: float) -> str | None:
        """Extend ``owner``'s lease; the processor's status (``STOPPING``: stop now), or None
        when it is no longer ``owner``'s (it was stopped and restarted, deleted, or claimed by
        another worker after this one's lease ran out): the worker must stop at once."""
        with self._db.write() as tx:
            row = tx.execute(
                "SELECT status, lease_owner FROM stream_processors WHERE name = ?" + tx.for_update,
                (name,),
            ).fetchone()
            if row is None or row[1] != owner or row[0] not in ACTIVE:
                return None
            tx.execute(
                "UPDATE stream_processors SET lease_expires = ? WHERE name = ?",
                (self._clock() + lease_seconds, name),
            )
            return str(row[0])

    def mark_running(self, name: str, owner: str) -> bool:
        """``STARTING`` -> ``RUNNING`` once the worker has opened the source."""
        with self._db.write() as tx:
            cursor = tx.execute(
                "UPDATE stream_processors SET status = ?, status_message = NULL, updated_at = ?"
                " WHERE name = ? AND lease_owner = ? AND status = ?",
                (RUNNING, self._clock(), name, owner, STARTING),
            )
            return bool(cursor.rowcount)

    def set_message(self, name: str, owner: str, message: str | None) -> None:
        """What the worker is going through (reconnecting to a dropped source...)."""
        with self._db.write() as tx:
            tx.execute(
                "UPDATE stream_processors SET status_message = ? WHERE name = ? AND lease_owner = ?",
                (message, name, owner),
            )

    def finish(self, name: str, owner: str, status: str, message: str | None) -> bool:
        """End the session ``owner`` works: ``STOPPED`` or ``FAILED`` with ``message``."""
        with self._db.write() as tx:
            row = tx.execute(
                "SELECT lease_owner FROM stream_processors WHERE name = ?" + tx.for_update,
                (name,),
            ).fetchone()
            if row is None or row[0] != owner:
                return False
            self._end(tx, name, status, message, self._clock())
        return True

    def release(self, name: str, owner: str) -> None:
        """Hand back a processor ``owner`` works but did not end (its server is stopping): it
        stays active, and the next runtime to look resumes it."""
        with self._db.write() as tx:
            tx.execute(
                "UPDATE stream_processors SET lease_owner = NULL, lease_expires = NULL"
                " WHERE name = ? AND lease_owner = ?",
                (name, owner),
            )

    def _end(
        self, tx: Transaction, name: str, status: str, message: str | None, now: float
    ) -> None:
        tx.execute(
            "UPDATE stream_processors SET status = ?, status_message = ?, session = NULL,"
            " lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE name = ?",
            (status, message, now, name),
        )

    @staticmethod
    def _row(tx: Transaction, name: str) -> StreamProcessor | None:
        row = tx.execute(
            f"SELECT {_COLUMNS} FROM stream_processors WHERE name = ?", (name,)
        ).fetchone()
        return StreamProcessor._from_row(row) if row is not None else None

    def _locked(self, tx: Transaction, name: str) -> StreamProcessor:
        row = tx.execute(
            f"SELECT {_COLUMNS} FROM stream_processors WHERE name = ?" + tx.for_update, (name,)
        ).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"The stream processor {name} does not exist.")
        return StreamProcessor._from_row(row)

    # mappings -----------------------------------------------------------------------------------

    def add_video_source(self, arn: str, url: str) -> VideoSourceMapping:
        """Map (or re-map) a Kinesis video stream ARN to what it stands for.

        :raises InvalidParameterException: not such an ARN, or not a source Agnosco reads."""
        if not _VIDEO_ARN.match(arn):
            raise InvalidParameterException(
                f"{arn!r} is not a Kinesis video stream ARN"
                " (arn:aws:kinesisvideo:REGION:ACCOUNT:stream/NAME/...)."
            )
        if not re.match(r"^(rtsp|rtsps|http|https|file)://\S+$|^/\S*$", url):
            raise InvalidParameterException(
                f"{url!r} is not a source Agnosco reads: rtsp://, http(s)://, file:// or an"
                " absolute path (a video file or a camera device such as /dev/video0)."
            )
        mapping = VideoSourceMapping(arn, url, self._clock())
        with self._db.write() as tx:
            tx.execute("DELETE FROM video_sources WHERE arn = ?", (arn,))
            tx.execute(
                "INSERT INTO video_sources (arn, url, created_at) VALUES (?, ?, ?)",
                (arn, url, mapping.created_at),
            )
        return mapping

    def add_data_sink(self, arn: str, kind: str, target: str) -> DataSinkMapping:
        """Map (or re-map) a Kinesis data stream ARN to a JSON Lines file or an HTTP endpoint.

        :raises InvalidParameterException: not such an ARN, kind or target."""
        if not _DATA_ARN.match(arn):
            raise InvalidParameterException(
                f"{arn!r} is not a Kinesis data stream ARN"
                " (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
            )
        if kind == JSONL:
            if not Path(target).is_absolute():
                raise InvalidParameterException(f"{target!r} is not an absolute file path.")
        elif kind == WEBHOOK:
            if not re.match(r"^https?://[^\s/]+", target):
                raise InvalidParameterException(f"{target!r} is not an http:// or https:// URL.")
        else:
            raise InvalidParameterException(f"A data sink is {JSONL} or {WEBHOOK}, not {kind!r}.")
        mapping = DataSinkMapping(arn, kind, target, self._clock())
        with self._db.write() as tx:
            tx.execute("DELETE FROM data_sinks WHERE arn = ?", (arn,))
            tx.execute(
                "INSERT INTO data_sinks (arn, kind, target, created_at) VALUES (?, ?, ?, ?)",
                (arn, kind, target, mapping.created_at),
            )
        return mapping

    def remove_video_source(self, arn: str) -> None:
        """:raises ResourceNotFoundException: the ARN is not mapped."""
        self._remove("video_sources", arn)

    def remove_data_sink(self, arn: str) -> None:
        """:raises ResourceNotFoundException: the ARN is not mapped."""
        self._remove("data_sinks", arn)

    def _remove(self, table: str, arn: str) -> None:
        with self._db.write() as tx:
            if not tx.execute(f"DELETE FROM {table} WHERE arn = ?", (arn,)).rowcount:
                raise ResourceNotFoundException(f"Nothing is mapped to {arn}.")

    def video_sources(self) -> list[VideoSourceMapping]:
        with self._db.read() as tx:
            rows = tx.execute("SELECT arn, url, created_at FROM video_sources ORDER BY arn")
            return [VideoSourceMapping(a, u, float(c)) for a, u, c in rows.fetchall()]

    def data_sinks(self) -> list[DataSinkMapping]:
        with self._db.read() as tx:
            rows = tx.execute("SELECT arn, kind, target, created_at FROM data_sinks ORDER BY arn")
            return [DataSinkMapping(a, k, t, float(c)) for a, k, t, c in rows.fetchall()]

    def video_source(self, arn: str) -> VideoSourceMapping | None:
        return next((m for m in self.video_sources() if m.arn == arn), None)

    def data_sink(self, arn: str) -> DataSinkMapping | None:
        return next((m for m in self.data_sinks() if m.arn == arn), None)


def new_session_id() -> str:
    return str(uuid.uuid4())
