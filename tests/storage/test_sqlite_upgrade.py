"""Opening a database written by an earlier Agnosco brings it up to the current schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from agnosco.storage.sql_store import SQLStore
from tests.storage.test_store import face

#: The collections and faces tables as the first release wrote them (no face counts, consent
#: references or match times).
FIRST_SCHEMA = """
CREATE TABLE collections (
    collection_id TEXT PRIMARY KEY, arn TEXT NOT NULL, face_model_version TEXT NOT NULL,
    created_at REAL NOT NULL, generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE faces (
    collection_id TEXT NOT NULL REFERENCES collections (collection_id) ON DELETE CASCADE,
    face_id TEXT NOT NULL, image_id TEXT NOT NULL, external_image_id TEXT,
    left_ REAL NOT NULL, top REAL NOT NULL, width REAL NOT NULL, height REAL NOT NULL,
    confidence REAL NOT NULL, descriptor BLOB NOT NULL, indexed_at REAL NOT NULL, user_id TEXT,
    PRIMARY KEY (collection_id, face_id)
);
"""


def test_an_old_database_gets_its_face_counts_and_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "agnosco.db"
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_SCHEMA)
        for cid, n in (("three", 3), ("none", 0)):
            db.execute("INSERT INTO collections VALUES (?, ?, 'v1', 1.0, 0)", (cid, "arn:" + cid))
            for i in range(n):
                db.execute(
                    "INSERT INTO faces VALUES (?, ?, 'img', NULL, 0, 0, 1, 1, 99, ?, 1.0, NULL)",
                    (cid, f"f{i}", np.zeros(128, np.float32).tobytes()),
                )
    store = SQLStore.sqlite(path)
    try:
        assert store.get_collection("three").face_count == 3
        assert store.get_collection("none").face_count == 0
        assert store.delete_faces("three", ["f0"]) == ["f0"]
        store.add_faces("none", [face("new")])
        assert (
            store.get_collection("three").face_count,
            store.get_collection("none").face_count,
        ) == (2, 1)
        assert store.get_faces("three", ["f1"])[0].last_matched_at is None
    finally:
        store.close()
    SQLStore.sqlite(path).close()  # a second open finds nothing to upgrade
