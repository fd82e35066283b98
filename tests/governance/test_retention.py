"""Retention and purge, with a controllable clock, on the store and end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agnosco.governance.audit import AuditLog
from agnosco.governance.retention import DAY, RETENTION_TAG, UNMATCHED_RETENTION_TAG, purge
from agnosco.storage.base import Collection, FaceRecord, UserRecord
from agnosco.storage.database import open_database
from agnosco.storage.sql_store import SQLStore

T0 = 1_800_000_000.0
ARN = "arn:aws:rekognition:us-east-1:000000000000:collection/"
rng = np.random.default_rng(5)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = SQLStore.sqlite(tmp_path / "agnosco.db")
    yield s
    s.close()


@pytest.fixture
def audit(tmp_path: Path, store_url: str | None):  # type: ignore[no-untyped-def]
    """The receipts' log, on either backend."""
    log = AuditLog(open_database(store_url, tmp_path / "audit.db"), b"k" * 32, owned=True)
    yield log
    log.close()


def add_collection(store: SQLStore, cid: str, tags: dict[str, str] | None = None) -> None:
    store.create_collection(Collection(cid, ARN + cid, "1.0", T0, 128), tags or {})


def add_face(store: SQLStore, cid: str, face_id: str, indexed_at: float) -> np.ndarray:
    v = rng.normal(size=128).astype(np.float32)
    store.add_faces(
        cid, [FaceRecord(face_id, "img", None, 0, 0, 1, 1, 99.0, v, indexed_at=indexed_at)]
    )
    return v


def ids(store: SQLStore, cid: str) -> list[str]:
    return [f.face_id for f in store.list_faces(cid, None, 100).items]


def test_retention_days_since_indexing(store: SQLStore, audit: AuditLog) -> None:
    add_collection(store, "c", {RETENTION_TAG: "30"})
    old = add_face(store, "c", "old", T0)
    add_face(store, "c", "new", T0 + 20 * DAY)
    store.create_user("c", UserRecord("u", "CREATED", T0, T0))
    store.set_face_user("c", ["old"], "u")

    assert purge(store, audit, T0 + 29 * DAY).deleted_faces == 0
    receipt = purge(store, audit, T0 + 31 * DAY)
    assert receipt.deleted_faces == 1 and receipt.verified
    assert ids(store, "c") == ["new"]
    assert receipt.collections[0].deleted_users == ["u"]  # left without faces
    assert all(h.face.face_id != "old" for h in store.search("c", old, 10, float("inf")))
    records = [r for r in audit.records() if r["operation"] == "agnosco:Purge"]
    assert records[-1]["result"]["collections"][0]["deleted_faces"] == ["old"]
    assert records[-1]["result"]["verified"] is True
    assert audit.verify().ok


def test_unmatched_retention_counts_from_the_last_match(store: SQLStore, audit: AuditLog) -> None:
    add_collection(store, "c", {UNMATCHED_RETENTION_TAG: "10"})
    add_face(store, "c", "never-matched", T0)
    add_face(store, "c", "matched", T0)
    store.touch_faces("c", ["matched"], T0 + 5 * DAY)
    purge(store, audit, T0 + 11 * DAY)
    assert ids(store, "c") == ["matched"]
    purge(store, audit, T0 + 16 * DAY)
    assert ids(store, "c") == []


def test_server_ceiling_applies_without_tags(store: SQLStore, audit: AuditLog) -> None:
    add_collection(store, "untagged")
    add_collection(store, "long", {RETENTION_TAG: "5000"})  # a tag cannot exceed the ceiling
    add_face(store, "untagged", "a", T0)
    add_face(store, "long", "b", T0)
    assert purge(store, audit, T0 + 1094 * DAY).deleted_faces == 0
    assert purge(store, audit, T0 + 1096 * DAY).deleted_faces == 2


def test_dry_run_deletes_nothing(store: SQLStore, audit: AuditLog) -> None:
    add_collection(store, "c", {RETENTION_TAG: "1"})
    add_face(store, "c", "a", T0)
    receipt = purge(store, audit, T0 + 2 * DAY, dry_run=True)
    assert receipt.collections[0].deleted_faces == ["a"] and ids(store, "c") == ["a"]


@pytest.mark.slow
def test_purged_face_is_not_found_by_any_search(deepface_images: Path, tmp_path: Path) -> None:
    from tests.server.conftest import start_server

    server = start_server(tmp_path / "data", tmp_path / "server.log", "--purge-interval", "0")
    try:
        client = server.client()
        arn = client.create_collection(CollectionId="retained")["CollectionArn"]
        image = {"Bytes": (deepface_images / "img1.jpg").read_bytes()}
        face_id = client.index_faces(CollectionId="retained", Image=image)["FaceRecords"][0][
            "Face"
        ]["FaceId"]
        client.create_user(CollectionId="retained", UserId="alice")
        client.associate_faces(CollectionId="retained", UserId="alice", FaceIds=[face_id])
        client.tag_resource(ResourceArn=arn, Tags={RETENTION_TAG: "1"})
        assert client.search_faces_by_image(CollectionId="retained", Image=image)["FaceMatches"]

        import time

        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "agnosco.cli.main",
                "purge",
                "--now",
                str(time.time() + 2 * DAY),
                "--data-dir",
                str(server.data_dir),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        printed = json.loads(result.stdout)
        assert printed["DeletedFaces"] == 1 and printed["Verified"] is True

        assert (
            client.search_faces_by_image(CollectionId="retained", Image=image)["FaceMatches"] == []
        )
        assert (
            client.search_users_by_image(CollectionId="retained", Image=image)["UserMatches"] == []
        )
        assert client.list_faces(CollectionId="retained")["Faces"] == []
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.search_faces(CollectionId="retained", FaceId=face_id)
        assert client.list_users(CollectionId="retained")["Users"] == []
        verify = subprocess.run(
            [
                sys.executable,
                "-m",
                "agnosco.cli.main",
                "audit",
                "verify",
                "--data-dir",
                str(server.data_dir),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        server.stop()


def test_purged_descriptor_bytes_leave_the_database_files(
    store: SQLStore, audit: AuditLog, tmp_path: Path
) -> None:
    add_collection(store, "c", {RETENTION_TAG: "1"})
    vector = add_face(store, "c", "gone", T0)
    add_face(store, "c", "kept", T0 + 10 * DAY)
    needle = vector.tobytes()

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("agnosco.db*"))

    assert needle in on_disk()
    purge(store, audit, T0 + 5 * DAY)
    assert ids(store, "c") == ["kept"]
    assert needle not in on_disk()


def test_nothing_is_purged_when_its_record_cannot_be_written(
    store: SQLStore, audit: AuditLog
) -> None:
    """A deletion is recorded before it happens: with the log broken, the faces stay."""
    add_collection(store, "c", {RETENTION_TAG: "1"})
    add_face(store, "c", "old", T0)

    class Broken:
        def append(self, record: dict) -> None:  # type: ignore[type-arg]
            raise OSError("the audit head does not verify")

    with pytest.raises(OSError):
        purge(store, Broken(), T0 + 2 * DAY)  # type: ignore[arg-type]
    assert ids(store, "c") == ["old"]
    purge(store, audit, T0 + 2 * DAY)
    intents = [r for r in audit.records() if r.get("phase") == "intent"]
    assert [(r["operation"], r["parameters"]["FaceIds"]) for r in intents] == [
        ("agnosco:Purge", ["old"])
    ]
