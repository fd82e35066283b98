"""What a bulk run learnt that the faces table cannot tell: images with nothing to index.

An image whose faces are stored is recognised on the next run by its ImageId alone
(``faces_of_image``).  An image analysed without any face to store (no face found, or every
face filtered) leaves no trace there, so it is recorded here, in ``<data-dir>/bulk-ledger.db``,
and a resumed or repeated run does not analyse it again.

Entries are keyed by the collection (its id *and* creation time, so a deleted and re-created
collection starts afresh), the ImageId (the image's SHA-256 with its ExternalImageId) and the
QualityFilter (an image whose faces were all too poor for AUTO is analysed again with NONE).
Images that failed (an invalid file, an unreadable object) are not recorded: they are tried
again on every run.  Deleting the file only makes the next run analyse those images again.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from agnosco.storage.base import Collection

LEDGER = "bulk-ledger.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nothing_to_index (
    collection TEXT NOT NULL,
    image_id TEXT NOT NULL,
    quality_filter TEXT NOT NULL,
    unindexed_faces INTEGER NOT NULL,
    analysed_at REAL NOT NULL,
    PRIMARY KEY (collection, image_id, quality_filter)
)
"""


def collection_key(collection: Collection) -> str:
    return f"{collection.collection_id}@{collection.created_at!r}"


class Ledger:
    def __init__(self, data_dir: Path) -> None:
        self._db = sqlite3.connect(data_dir / LEDGER, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def known(self, collection: Collection, image_id: str, quality_filter: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM nothing_to_index WHERE collection = ? AND image_id = ? AND quality_filter = ?",
            (collection_key(collection), image_id, quality_filter),
        ).fetchone()
        return row is not None

    def record(
        self, collection: Collection, image_id: str, quality_filter: str, unindexed_faces: int
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO nothing_to_index VALUES (?, ?, ?, ?, ?)",
            (collection_key(collection), image_id, quality_filter, unindexed_faces, time.time()),
        )

    def close(self) -> None:
        self._db.close()
