"""Restart and crash: state survives, and a kill -9 leaves no half-written IndexFaces."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.server.conftest import start_server


@pytest.mark.slow
def test_restart_keeps_collections_faces_and_search(tmp_path: Path, deepface_images: Path) -> None:
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        client = server.client()
        client.create_collection(CollectionId="kept")
        client.create_user(CollectionId="kept", UserId="alice")
        face_id = client.index_faces(
            CollectionId="kept", Image={"Bytes": (deepface_images / "img1.jpg").read_bytes()}
        )["FaceRecords"][0]["Face"]["FaceId"]
        client.associate_faces(CollectionId="kept", UserId="alice", FaceIds=[face_id])
        token = client.list_collections(MaxResults=1).get("NextToken")
    finally:
        server.stop()
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        client = server.client()
        described = client.describe_collection(CollectionId="kept")
        assert described["FaceCount"] == 1 and described["UserCount"] == 1
        matches = client.search_faces_by_image(
            CollectionId="kept", Image={"Bytes": (deepface_images / "img2.jpg").read_bytes()}
        )["FaceMatches"]
        assert [m["Face"]["FaceId"] for m in matches] == [face_id]
        assert matches[0]["Face"]["UserId"] == "alice"
        assert token is None or "CollectionIds" in client.list_collections(NextToken=token)
    finally:
        server.stop()


@pytest.mark.slow
def test_kill_9_during_index_faces_leaves_no_partial_write(
    tmp_path: Path, deepface_images: Path
) -> None:
    images = [
        "couple.jpg",
        "img1.jpg",
        "img3.jpg",
        "img12.jpg",
        "img25.jpg",
        "img10.jpg",
        "img14.jpg",
    ]
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    client = server.client()
    client.create_collection(CollectionId="crash")
    acknowledged: dict[str, list[str]] = {}
    stop = threading.Event()

    def index_forever() -> None:
        worker = server.client()
        for round_ in range(1000):
            for name in images:
                if stop.is_set():
                    return
                try:
                    result = worker.index_faces(
                        CollectionId="crash",
                        ExternalImageId=f"r{round_}-{name.split('.')[0]}",
                        Image={"Bytes": (deepface_images / name).read_bytes()},
                    )
                except Exception:  # noqa: BLE001 - whatever it raises, the server is gone
                    return
                acknowledged[f"r{round_}-{name}"] = [
                    r["Face"]["FaceId"] for r in result["FaceRecords"]
                ]

    thread = threading.Thread(target=index_forever)
    thread.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.37)  # land somewhere inside a request
    server.stop(signal.SIGKILL)
    stop.set()
    thread.join(timeout=60)
    assert len(acknowledged) >= 5, (tmp_path / "server.log").read_text()

    database = tmp_path / "data" / "agnosco.db"
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT face_id, image_id, external_image_id FROM faces").fetchall()
    per_image: dict[str, set[str]] = {}
    for face_id, _image_id, external in rows:
        per_image.setdefault(external, set()).add(face_id)
    # Every acknowledged face survived; no image has only part of its faces.
    for key, face_ids in acknowledged.items():
        external = key.rsplit(".", 1)[0]
        assert per_image.get(external) == set(face_ids), key
    for external, face_ids in per_image.items():
        expected = 2 if external.endswith("couple") else 1
        assert len(face_ids) == expected, external

    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        client = server.client()
        listed = client.list_faces(CollectionId="crash", MaxResults=4096)["Faces"]
        assert {f["FaceId"] for f in listed} == {r[0] for r in rows}
        # The rebuilt index agrees with SQLite: every stored face is found by its own descriptor.
        for face in listed[:10]:
            found = client.search_faces(
                CollectionId="crash", FaceId=face["FaceId"], FaceMatchThreshold=0, MaxFaces=4096
            )
            assert {m["Face"]["FaceId"] for m in found["FaceMatches"]} == {
                f["FaceId"] for f in listed
            } - {face["FaceId"]}
    finally:
        server.stop()
