"""Usage metering and quotas: images processed, faces stored (face-months), video minutes.

What is metered comes from records the work itself commits, so the figures cannot drift from
what was done, survive restarts, and are the same on every replica sharing a database:

* **Images** — from the audit log: each record of a call that analysed images
  (``Traits.analyses_images``, so an operation added to the registry is metered without an
  edit here), was allowed and succeeded counts the images of its request (``images``: two for
  CompareFaces).  :meth:`AuditLog.append` adds them to ``usage_images`` (per UTC day,
  principal, collection and operation) in the transaction that appends the record, so the
  meter holds exactly what the log does (``tests/governance/test_usage.py`` recounts the log).
* **Faces stored** — from the face store's intervals (``face_intervals``: stored at, deleted
  at, by whom, written in the transaction that stores or deletes the face, kept after it is
  gone): a month's face-months are the seconds each face was stored within the month, divided
  by the month's seconds (a face stored for half of a 30-day month is 0.5; one stored across a
  month boundary counts in each month for its part; a deleted face stops at its deletion).
* **Video** — from ``job_usage``: each job that SUCCEEDED, its video's duration, written in the
  transaction that records the success, kept after the job expires.

**Quotas** (``quotas``, per principal) bound the faces a principal may have stored and the
images it may have processed in a calendar month (UTC).  IndexFaces beyond the face quota is
refused by the store, in the transaction that would store the faces, after counting the
principal's stored faces under a lock of that principal (PostgreSQL: an advisory lock, so two
replicas never both pass): ServiceQuotaExceededException, nothing written.  An image call
beyond the monthly quota is refused by the gate before it runs: it *reserves* its images under
the same kind of lock (metered images of the month + reservations in flight + this call's must
fit), and the reservation is removed in the transaction that appends the call's outcome (and
meters it), so the quota is exact across replicas; a reservation a dead process left counts
until :data:`RESERVATION_SECONDS` have passed (never too few refusals, at worst a few too many
for that long).  The refusal is LimitExceededException, audited like any refusal.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agnosco.errors import InvalidParameterException, LimitExceededException, ServiceError
from agnosco.storage.database import Database, Migrations, Tables, Transaction

#: A reservation left by a process that died before the call's outcome was recorded stops
#: counting against the quota after this long (no call runs longer).
RESERVATION_SECONDS = 3600.0
_MONTH = re.compile(r"(\d{4})-(\d{2})")

#: The ``usage`` component's migrations, in the audit log's database (:class:`AuditLog`).
IMAGE_MIGRATIONS: Migrations = [
    [
        """CREATE TABLE usage_images (
            day TEXT NOT NULL,
            month TEXT NOT NULL,
            principal TEXT NOT NULL,
            collection TEXT NOT NULL,
            operation TEXT NOT NULL,
            images INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            PRIMARY KEY (day, principal, collection, operation)
        )""",
        "CREATE INDEX usage_images_by_month ON usage_images (month, principal)",
        """CREATE TABLE usage_reservations (
            id TEXT PRIMARY KEY,
            principal TEXT NOT NULL,
            month TEXT NOT NULL,
            images INTEGER NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX usage_reservations_by_principal ON usage_reservations (principal, month)",
    ]
]

#: The ``quotas`` component's migrations, in the deployment's database.
QUOTA_MIGRATIONS: Migrations = [
    [
        """CREATE TABLE quotas (
            principal TEXT PRIMARY KEY,
            faces INTEGER,
            images_per_month INTEGER,
            updated_at REAL NOT NULL
        )""",
    ]
]


# months ------------------------------------------------------------------------------------
def month_of(seconds: float) -> str:
    """The UTC calendar month (``YYYY-MM``) of a time."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m")


def day_of(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d")


def month_span(month: str) -> tuple[float, float]:
    """``[start, end)`` of a ``YYYY-MM`` month in epoch seconds (UTC).

    :raises InvalidParameterException: not a month written YYYY-MM.
    """
    match = _MONTH.fullmatch(month)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise InvalidParameterException(f"The month {month!r} is not a month (YYYY-MM).")
    year, number = int(match.group(1)), int(match.group(2))
    start = dt.datetime(year, number, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=dt.UTC)
    return start.timestamp(), end.timestamp()


# images, metered from the audit log ------------------------------------------------------------
def metered_images(record: Mapping[str, Any]) -> int:
    """The images an audit record meters: those of an allowed call, that succeeded, of an
    operation that analyses images (its outcome record; not its intent, not a refusal)."""
    images = record.get("images")
    operation = record.get("operation")
    if (
        not isinstance(images, list)
        or not images
        or record.get("decision") != "Allow"
        or "error" in record
        or "phase" in record
        or not isinstance(operation, str)
        or operation.startswith("agnosco:")
    ):
        return 0
    from agnosco.operations import traits_of  # only for a record with images

    try:
        if not traits_of(operation).analyses_images:
            return 0
    except ServiceError:  # not an operation of this Agnosco
        return 0
    return len(images)


def meter_record(tx: Transaction, record: Mapping[str, Any]) -> None:
    """Meter an audit record in the transaction that appends it (:meth:`AuditLog.append`)."""
    images = metered_images(record)
    if not images:
        return
    when = float(record["time"])
    tx.execute(
        "INSERT INTO usage_images (day, month, principal, collection, operation, images, calls)"
        " VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (day, principal, collection, operation)"
        " DO UPDATE SET images = usage_images.images + excluded.images,"
        " calls = usage_images.calls + 1",
        (
            day_of(when),
            month_of(when),
            _key(record.get("principal")),
            _key(record.get("collection")),
            str(record["operation"]),
            images,
        ),
    )


def _key(value: Any) -> str:
    """A nullable principal or collection as a key column ('' for none)."""
    return value if isinstance(value, str) else ""


def _unkey(value: str) -> str | None:
    return value or None


# quotas ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quota:
    principal: str
    #: The most faces the principal may have stored at once (None: no limit).
    faces: int | None
    #: The most images its calls may analyse in a calendar month, UTC (None: no limit).
    images_per_month: int | None


class Quotas(Tables):
    """Principals' quotas in the deployment's database (component ``quotas``)."""

    def __init__(self, database: Path | Database, *, owned: bool = False) -> None:
        self._attach(database, owned, lambda db: db.migrate("quotas", QUOTA_MIGRATIONS))

    def set(
        self,
        principal: str,
        *,
        faces: int | None,
        images_per_month: int | None,
        now: float,
    ) -> Quota:
        """Set (replace) a principal's quotas; both None removes them."""
        for name, value in (("faces", faces), ("images per month", images_per_month)):
            if value is not None and value < 0:
                raise InvalidParameterException(f"A quota of {name} cannot be negative: {value}.")
        with self._db.write() as tx:
            if faces is None and images_per_month is None:
                tx.execute("DELETE FROM quotas WHERE principal = ?", (principal,))
            else:
                tx.execute(
                    "INSERT INTO quotas (principal, faces, images_per_month, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (principal) DO UPDATE SET"
                    " faces = excluded.faces, images_per_month = excluded.images_per_month,"
                    " updated_at = excluded.updated_at",
                    (principal, faces, images_per_month, float(now)),
                )
        return Quota(principal, faces, images_per_month)

    def get(self, principal: str | None) -> Quota | None:
        if principal is None:
            return None
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT principal, faces, images_per_month FROM quotas WHERE principal = ?",
                (principal,),
            ).fetchone()
        return None if row is None else Quota(row[0], row[1], row[2])

    def list(self) -> list[Quota]:
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT principal, faces, images_per_month FROM quotas ORDER BY principal"
            ).fetchall()
        return [Quota(r[0], r[1], r[2]) for r in rows]


# the report ----------------------------------------------------------------------------------
@dataclass
class UsageRow:
    """One principal's usage in one collection (None: calls that named none)."""

    principal: str | None
    collection: str | None
    #: Images analysed, by operation.
    images: dict[str, int] = field(default_factory=dict)
    #: Faces stored, pro-rated by the time each was stored in the month.
    face_months: float = 0.0
    #: Faces stored at the end of the month (now, for the current month).
    faces_stored: int = 0
    #: Minutes of video analysed by jobs that succeeded, by operation (Start...).
    video_minutes: dict[str, float] = field(default_factory=dict)

    @property
    def total_images(self) -> int:
        return sum(self.images.values())

    @property
    def total_video_minutes(self) -> float:
        return sum(self.video_minutes.values())


@dataclass
class UsageReport:
    month: str
    since: float
    until: float
    #: The time the figures are up to (the month's end, or now for the current month).
    as_of: float
    rows: list[UsageRow]
    #: Images analysed per UTC day of the month (every day, zeros included).
    images_by_day: dict[str, int]
    quotas: list[Quota]

    def operations(self) -> list[str]:
        return sorted({op for row in self.rows for op in row.images})

    def video_operations(self) -> list[str]:
        return sorted({op for row in self.rows for op in row.video_minutes})

    def to_json(self) -> dict[str, Any]:
        return {
            "Month": self.month,
            "Since": self.since,
            "Until": self.until,
            "AsOf": self.as_of,
            "Usage": [
                {
                    "Principal": row.principal,
                    "CollectionId": row.collection,
                    "Images": dict(sorted(row.images.items())),
                    "TotalImages": row.total_images,
                    "FaceMonths": row.face_months,
                    "FacesStored": row.faces_stored,
                    "VideoMinutes": dict(sorted(row.video_minutes.items())),
                }
                for row in self.rows
            ],
            "ImagesByDay": self.images_by_day,
            "Quotas": [
                {
                    "Principal": q.principal,
                    "Faces": q.faces,
                    "ImagesPerMonth": q.images_per_month,
                }
                for q in self.quotas
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


class UsageMeter:
    """The meter and the quotas of a deployment: the audit log's database (images), the face
    store (faces), the job store (video), and the quotas table."""

    def __init__(
        self,
        images: Database,
        quotas: Quotas,
        *,
        store: Any = None,
        jobs: Any = None,
        clock: Callable[[], float],
    ) -> None:
        self.images_db, self.quotas, self.store, self.jobs = images, quotas, store, jobs
        self.clock = clock

    # quotas ------------------------------------------------------------------------------------
    def quota(self, principal: str | None) -> Quota | None:
        return self.quotas.get(principal)

    def images_used(self, principal: str, month: str, now: float) -> int:
        """Images metered for ``principal`` in ``month`` and reserved by its calls in flight."""
        with self.images_db.read() as tx:
            return self._used(tx, principal, month, now)

    @staticmethod
    def _used(tx: Transaction, principal: str, month: str, now: float) -> int:
        # One statement, so one snapshot even under READ COMMITTED: an outcome committed
        # between two reads (metered +n, reservation -n) would be missed by both.
        (used,) = tx.execute(
            "SELECT (SELECT COALESCE(SUM(images), 0) FROM usage_images"
            "        WHERE month = ? AND principal = ?)"
            " + (SELECT COALESCE(SUM(images), 0) FROM usage_reservations"
            "    WHERE month = ? AND principal = ? AND created_at > ?)",
            (month, principal, month, principal, now - RESERVATION_SECONDS),
        ).fetchone()
        return int(used)

    def reserve_images(self, principal: str, images: int, limit: int, now: float) -> str:
        """Reserve ``images`` of the principal's monthly quota for a call about to run; returns
        the reservation, which :meth:`releasing` removes with the call's outcome record.

        :raises LimitExceededException: the month's metered and reserved images and these
            would be more than ``limit``.
        """
        month = month_of(now)
        with self.images_db.write() as tx:
            tx.serialize(f"image_quota:{principal}")
            used = self._used(tx, principal, month, now)
            if used + images > limit:
                raise LimitExceededException(
                    f"A service limit was exceeded: principal {principal} may have {limit} "
                    f"images analysed in {month} (UTC), has had {used}, and this request has "
                    f"{images}."
                )
            reservation = str(uuid.uuid4())
            tx.execute(
                "INSERT INTO usage_reservations (id, principal, month, images, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (reservation, principal, month, images, float(now)),
            )
            tx.execute(  # what dead processes left, long past counting
                "DELETE FROM usage_reservations WHERE created_at < ?",
                (now - RESERVATION_SECONDS,),
            )
        return reservation

    @staticmethod
    def releasing(reservation: str) -> Callable[[Transaction], None]:
        """What removes a reservation, in the transaction appending the call's outcome."""

        def release(tx: Transaction) -> None:
            tx.execute("DELETE FROM usage_reservations WHERE id = ?", (reservation,))

        return release

    # the report --------------------------------------------------------------------------------
    def report(self, month: str | None = None, principal: str | None = None) -> UsageReport:
        """The usage of ``month`` (default: this one), of every principal or one.

        :raises InvalidParameterException: a month not written YYYY-MM.
        """
        now = self.clock()
        month = month or month_of(now)
        since, until = month_span(month)
        as_of = min(max(now, since), until)
        rows: dict[tuple[str | None, str | None], UsageRow] = {}

        def row(who: str | None, collection: str | None) -> UsageRow:
            return rows.setdefault((who, collection), UsageRow(who, collection))

        days = {day_of(t): 0 for t in _days(since, until)}
        with self.images_db.read() as tx:
            found = tx.execute(
                "SELECT day, principal, collection, operation, images FROM usage_images"
                " WHERE month = ?" + (" AND principal = ?" if principal else ""),
                (month, principal) if principal else (month,),
            ).fetchall()
        for day, who, collection, operation, images in found:
            entry = row(_unkey(who), _unkey(collection))
            entry.images[operation] = entry.images.get(operation, 0) + int(images)
            days[day] = days.get(day, 0) + int(images)
        if self.store is not None and as_of > since:
            for stored in self.store.face_storage(since, as_of):
                if principal and stored.principal != principal:
                    continue
                entry = row(stored.principal, stored.collection_id)
                entry.face_months = stored.face_seconds / (until - since)
                entry.faces_stored = stored.stored_at_end
        if self.jobs is not None:
            for video in self.jobs.video_usage(since, until):
                if principal and video.principal != principal:
                    continue
                entry = row(video.principal, video.collection_id)
                operation = f"Start{video.kind}"
                entry.video_minutes[operation] = (
                    entry.video_minutes.get(operation, 0.0) + video.duration_ms / 60000
                )
        quotas = [q for q in self.quotas.list() if not principal or q.principal == principal]
        ordered = sorted(rows.values(), key=lambda r: (r.principal or "", r.collection or ""))
        return UsageReport(month, since, until, as_of, ordered, days, quotas)


def _days(since: float, until: float) -> list[float]:
    return [since + 86400 * i for i in range(round((until - since) / 86400))]


__all__ = [
    "IMAGE_MIGRATIONS",
    "Quota",
    "Quotas",
    "UsageMeter",
    "UsageReport",
    "UsageRow",
    "meter_record",
    "month_of",
    "month_span",
]
