"""Human review of identification results, and of moderation results a caller asks a person to
decide (DetectModerationLabels' HumanLoopConfig: :func:`human_loops`).

When policy requires it, an identification's candidate matches are not returned to the
caller: they are queued here as a *pending* review, and the caller gets an empty match list
plus the review's id (see :mod:`agnosco.governance.gate`).  Reviewers record a decision
(``confirm`` or ``reject``) with their name and a reason; a review that needs two reviewers
(EU AI Act Art. 14(5) style) is confirmed only by two *different* people, and any rejection
rejects it.  Nothing about a pending review is a confirmed identification.

Reviews live in a :class:`~agnosco.storage.database.Database` (the data directory's
``agnosco.db``, or the store's PostgreSQL database), so a review queued by one server can be
decided from any: a decision locks its review's row, so two reviewers deciding at once never
lose one another's decision.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agnosco.errors import ConflictException, InvalidParameterException, ResourceNotFoundException
from agnosco.storage.database import Database, Tables

if TYPE_CHECKING:  # the operations (and their models) are not imported by governance commands
    from agnosco.operations.context import HumanLoopRequest, HumanLoops

#: The ``reviews`` component's migrations (:meth:`Database.migrate`).  Version 1 adopts the table
#: of data directories made before versions were recorded.
MIGRATIONS = [
    [
        """CREATE TABLE IF NOT EXISTS reviews (
            review_id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            principal TEXT NOT NULL,
            access_key_id TEXT,
            operation TEXT NOT NULL,
            collection_id TEXT,
            purpose TEXT,
            threshold REAL,
            required_reviewers INTEGER NOT NULL,
            candidates TEXT NOT NULL,
            status TEXT NOT NULL,
            decisions TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS reviews_by_status ON reviews (status, created_at)",
    ],
]
_COLUMNS = (
    "review_id, created_at, principal, access_key_id, operation, collection_id, purpose, threshold,"
    " required_reviewers, candidates, status, decisions"
)
PENDING, CONFIRMED, REJECTED = "PENDING", "CONFIRMED", "REJECTED"


@dataclass(frozen=True)
class Review:
    review_id: str
    created_at: float
    principal: str
    access_key_id: str | None
    operation: str
    collection_id: str | None
    purpose: str | None
    threshold: float | None
    required_reviewers: int
    candidates: list[dict[str, Any]]
    status: str
    decisions: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class ReviewQueue(Tables):
    """Reviews in a database; safe to share between threads and processes.

    ``database`` is a :class:`~agnosco.storage.database.Database` (closed by :meth:`close` only
    when ``owned``) or the path of a SQLite file (opened here and closed by :meth:`close`).
    """

    def __init__(self, database: Path | Database, clock=time.time, *, owned: bool = False) -> None:  # type: ignore[no-untyped-def]
        self._attach(database, owned, lambda db: db.migrate("reviews", MIGRATIONS))
        self._clock = clock

    def submit(
        self,
        *,
        principal: str,
        access_key_id: str | None,
        operation: str,
        collection_id: str | None,
        purpose: str | None,
        threshold: float | None,
        required_reviewers: int,
        candidates: list[dict[str, Any]],
    ) -> Review:
        review = Review(
            str(uuid.uuid4()),
            self._clock(),
            principal,
            access_key_id,
            operation,
            collection_id,
            purpose,
            threshold,
            max(1, required_reviewers),
            candidates,
            PENDING,
            [],
        )
        with self._db.write() as tx:
            tx.execute(
                f"INSERT INTO reviews ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    review.review_id,
                    review.created_at,
                    principal,
                    access_key_id,
                    operation,
                    collection_id,
                    purpose,
                    threshold,
                    review.required_reviewers,
                    json.dumps(candidates),
                    PENDING,
                    "[]",
                ),
            )
        return review

    def get(self, review_id: str) -> Review:
        with self._db.read() as tx:
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM reviews WHERE review_id = ?", (review_id,)
            ).fetchone()
        if row is None:
            raise ResourceNotFoundException(f"review {review_id} does not exist")
        return _review(row)

    def list(self, status: str | None = None) -> list[Review]:
        """Reviews in the order they were queued; only those with ``status`` when given."""
        where, params = ("WHERE status = ?", (status,)) if status is not None else ("", ())
        with self._db.read() as tx:
            rows = tx.execute(
                f"SELECT {_COLUMNS} FROM reviews {where} ORDER BY created_at, review_id", params
            ).fetchall()
        return [_review(r) for r in rows]

    def decide(self, review_id: str, reviewer: str, decision: str, reason: str) -> Review:
        """Record one reviewer's decision.

        :raises InvalidParameterException: an unknown decision, or no reviewer name or reason.
        :raises ConflictException: the review is already decided, or this reviewer decided it.
        """
        if decision not in ("confirm", "reject"):
            raise InvalidParameterException("decision must be 'confirm' or 'reject'")
        if not reviewer.strip() or not reason.strip():
            raise InvalidParameterException("a decision needs the reviewer's name and a reason")
        with self._db.write() as tx:
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM reviews WHERE review_id = ?{tx.for_update}", (review_id,)
            ).fetchone()
            if row is None:
                raise ResourceNotFoundException(f"review {review_id} does not exist")
            review = _review(row)
            if review.status != PENDING:
                raise ConflictException(f"review {review_id} is already {review.status}")
            if any(d["reviewer"] == reviewer for d in review.decisions):
                raise ConflictException(
                    f"{reviewer} already decided review {review_id}; it needs a different reviewer"
                )
            decisions = [
                *review.decisions,
                {
                    "reviewer": reviewer,
                    "decision": decision,
                    "reason": reason,
                    "time": self._clock(),
                },
            ]
            confirms = sum(d["decision"] == "confirm" for d in decisions)
            status = (
                REJECTED
                if decision == "reject"
                else CONFIRMED
                if confirms >= review.required_reviewers
                else PENDING
            )
            tx.execute(
                "UPDATE reviews SET status = ?, decisions = ? WHERE review_id = ?",
                (status, json.dumps(decisions), review_id),
            )
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM reviews WHERE review_id = ?", (review_id,)
            ).fetchone()
        return _review(row)


def _review(row: tuple) -> Review:  # type: ignore[type-arg]
    return Review(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        json.loads(row[9]),
        row[10],
        json.loads(row[11]),
    )


def human_loops(queue: ReviewQueue) -> HumanLoops:
    """DetectModerationLabels' HumanLoopConfig on this queue: each loop a review for one person
    to confirm (the labels say what the image shows) or reject (they do not).  The review keeps
    the labels, the loop's name, flow definition and content classifiers, and the image's
    SHA-256 (and S3 location): never the image; the reviewer looks at it where the caller
    keeps it."""

    def start(loop: HumanLoopRequest) -> str:
        requester = loop.requester
        review = queue.submit(
            principal=requester.principal if requester and requester.principal else "-",
            access_key_id=requester.access_key_id if requester else None,
            operation=loop.operation,
            collection_id=None,
            purpose=requester.purpose if requester else None,
            threshold=loop.min_confidence,
            required_reviewers=1,
            candidates=[
                {
                    "HumanLoopName": loop.name,
                    "FlowDefinitionArn": loop.flow_definition_arn,
                    "ContentClassifiers": list(loop.content_classifiers),
                    "Image": loop.image,
                    "ModerationLabels": loop.labels,
                }
            ],
        )
        return review.review_id

    return start


def candidate_summary(candidate: dict[str, Any]) -> dict[str, Any]:
    """What a decision's audit record keeps of a candidate: a match's face id, user id and
    similarity; a moderation result's loop name, image SHA-256 and label names."""
    if "ModerationLabels" in candidate:
        return {
            "HumanLoopName": candidate.get("HumanLoopName"),
            "ImageSHA256": (candidate.get("Image") or {}).get("SHA256"),
            "ModerationLabels": [m.get("Name") for m in candidate["ModerationLabels"]],
        }
    return {
        "FaceId": candidate.get("Face", {}).get("FaceId"),
        "UserId": candidate.get("User", {}).get("UserId"),
        "Similarity": candidate.get("Similarity"),
    }
