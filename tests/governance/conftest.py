"""The gate's parts in process, on either backend (``store_url``: governance, reviews and the
audit log in one PostgreSQL database, or in a data directory's agnosco.db and audit.db)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agnosco.governance.audit import AuditLog
from agnosco.governance.principals import GovernanceStore
from agnosco.governance.review import ReviewQueue
from agnosco.operations.context import OperationContext
from agnosco.storage.base import Collection, FaceRecord
from agnosco.storage.database import open_database
from agnosco.storage.sql_store import SQLStore

#: The one face of collection "c" in :func:`gate_parts`.
FACE = "00000000-0000-4000-8000-000000000001"


@dataclass
class GateParts:
    governance: GovernanceStore
    audit: AuditLog
    reviews: ReviewQueue
    context: OperationContext
    store: SQLStore


@pytest.fixture
def gate_parts(
    tmp_path: Path, store_url: str | None
) -> Iterator[Callable[[str, dict[str, Any]], GateParts]]:
    """``make(principal, policy)``: the parts, with ``principal`` holding ``policy`` and a
    collection "c" holding one face, :data:`FACE`."""
    opened: list[GateParts] = []

    def make(principal: str, policy: dict[str, Any]) -> GateParts:
        store = SQLStore.sqlite(tmp_path / "agnosco.db")
        database = open_database(store_url, tmp_path / "agnosco.db")
        governance = GovernanceStore(database, owned=True)
        governance.ensure_principal(principal)
        governance.put_policy("P", json.dumps(policy))
        governance.attach("P", principal)
        audit = AuditLog(database if store_url else tmp_path / "audit.db", b"k" * 32)
        parts = GateParts(
            governance, audit, ReviewQueue(database), OperationContext(store=store), store
        )
        store.create_collection(
            Collection("c", parts.context.collection_arn("c"), "1.0", 0.0, 128), {}
        )
        store.add_faces(
            "c", [FaceRecord(FACE, "i", None, 0, 0, 1, 1, 99.0, np.zeros(128, np.float32), 1.0)]
        )
        opened.append(parts)
        return parts

    yield make
    for parts in opened:
        for part in (parts.store, parts.reviews, parts.audit, parts.governance):
            part.close()
