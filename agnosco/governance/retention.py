"""Retention: purge faces past their collection's retention, verify they are gone, and keep a receipt.

Retention is set per collection with tags, so it is reachable through the AWS API
(``TagResource``) as well as the CLI:

* ``agnosco:retention-days`` — delete a face this many days after it was indexed;
* ``agnosco:unmatched-retention-days`` — delete a face not matched by any search for this many
  days (counted from indexing if it was never matched).

The server also enforces a ceiling on every collection, ``max_retention_days`` (default 1095
days: the three years after which the Illinois Biometric Information Privacy Act requires
biometric identifiers to be destroyed at the latest).  A purge hard-deletes expired faces from
storage and the search index, deletes users left without faces, then *verifies*: each deleted
face can no longer be read, and a search with its own descriptor no longer returns it.  The
storage backend then compacts its files (SQLite: ``secure_delete`` zeroes deleted rows and the
WAL is truncated), and an ``agnosco:Purge`` record with the deleted ids and the verification is
appended to the audit log: the deletion receipt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agnosco.governance.audit import AuditEntry, AuditLog
from agnosco.settings import DEFAULT_MAX_RETENTION_DAYS
from agnosco.storage.base import Store

DAY = 86_400.0
RETENTION_TAG = "agnosco:retention-days"
UNMATCHED_RETENTION_TAG = "agnosco:unmatched-retention-days"


@dataclass
class CollectionPurge:
    collection_id: str
    indexed_before: float | None
    unmatched_before: float | None
    deleted_faces: list[str] = field(default_factory=list)
    deleted_users: list[str] = field(default_factory=list)
    verified: bool = True
    problems: list[str] = field(default_factory=list)


@dataclass
class PurgeReceipt:
    now: float
    collections: list[CollectionPurge]

    @property
    def deleted_faces(self) -> int:
        return sum(len(c.deleted_faces) for c in self.collections)

    @property
    def verified(self) -> bool:
        return all(c.verified for c in self.collections)


def _days(tags: dict[str, str], key: str) -> float | None:
    try:
        value = float(tags[key])
    except (KeyError, ValueError):
        return None
    return value if value >= 0 else None


def purge(
    store: Store,
    audit: AuditLog | None,
    now: float,
    *,
    max_retention_days: float = DEFAULT_MAX_RETENTION_DAYS,
    dry_run: bool = False,
    actor: str = "agnosco:retention",
) -> PurgeReceipt:
    """Delete every face past its retention as of ``now`` (epoch seconds), verify, and record it."""
    results = []
    after = None
    while True:
        page = store.list_collections(after, 1000)
        for collection in page.items:
            tags = store.list_tags(collection.arn)
            retention = min(
                d for d in (_days(tags, RETENTION_TAG), max_retention_days) if d is not None
            )
            unmatched = _days(tags, UNMATCHED_RETENTION_TAG)
            result = CollectionPurge(
                collection.collection_id,
                indexed_before=now - retention * DAY,
                unmatched_before=now - unmatched * DAY if unmatched is not None else None,
            )
            expired = store.expired_faces(
                collection.collection_id, result.indexed_before, result.unmatched_before
            )
            result.deleted_faces = [f.face_id for f in expired]
            if expired and not dry_run:
                if audit is not None:  # before the deletion, as every change is (gate.py)
                    intent: AuditEntry = {
                        "time": now,
                        "principal": actor,
                        "operation": "agnosco:Purge",
                        "phase": "intent",
                        "collection": collection.collection_id,
                        "decision": "Allow",
                        "reason": f"retention (ceiling {max_retention_days:g} days)",
                        "parameters": {"FaceIds": result.deleted_faces},
                    }
                    audit.append(intent)
                store.delete_faces(collection.collection_id, result.deleted_faces, when=now)
                result.deleted_users = store.delete_empty_users(collection.collection_id, now)
                _verify(store, collection.collection_id, expired, result)
            if expired:
                results.append(result)
        if page.next_key is None:
            break
        after = page.next_key
    receipt = PurgeReceipt(now, results)
    if results and not dry_run:
        store.compact()
    if audit is not None and not dry_run:
        outcome: AuditEntry = {
            "time": now,
            "principal": actor,
            "operation": "agnosco:Purge",
            "decision": "Allow",
            "reason": f"retention (ceiling {max_retention_days:g} days)",
            "result": {
                "deleted_faces": receipt.deleted_faces,
                "verified": receipt.verified,
                "collections": [_receipt_entry(c) for c in results],
            },
        }
        audit.append(outcome)
    return receipt


def _verify(store: Store, collection_id: str, expired: list[Any], result: CollectionPurge) -> None:
    ids = [f.face_id for f in expired]
    still_there = [f.face_id for f in store.get_faces(collection_id, ids)]
    if still_there:
        result.problems.append(f"still readable after deletion: {still_there}")
    gone = set(ids)
    for face in expired:
        hits = store.search(collection_id, face.descriptor, 10, float("inf"))
        found = [h.face.face_id for h in hits if h.face.face_id in gone]
        if found:
            result.problems.append(f"still found by search with its own descriptor: {found}")
    result.verified = not result.problems


def _receipt_entry(c: CollectionPurge) -> dict[str, Any]:
    return {
        "collection": c.collection_id,
        "indexed_before": c.indexed_before,
        "unmatched_before": c.unmatched_before,
        "deleted_faces": c.deleted_faces,
        "deleted_users": c.deleted_users,
        "verified": c.verified,
        "problems": c.problems,
    }
