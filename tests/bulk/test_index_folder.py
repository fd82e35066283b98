"""``agnosco index-folder`` end to end on real images: what is stored, re-runs, kill -9 and
resume, 1 vs 2 workers, the audit log, and a server on the same data directory."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from agnosco.deployment import open_audit
from agnosco.settings import Settings
from tests.bulk.conftest import (
    COLLECTION,
    EXPECTED_FACES,
    ROOT,
    assert_no_duplicates,
    cli_argv,
    faces_per_external_id,
    run_cli,
    stored_faces,
    summary_of,
)
from tests.server.conftest import start_server

pytestmark = pytest.mark.slow


def test_every_face_is_indexed_under_an_external_image_id_from_its_path(
    indexed: tuple[Path, dict],
) -> None:
    data_dir, summary = indexed
    assert faces_per_external_id(data_dir) == EXPECTED_FACES
    assert_no_duplicates(data_dir)
    assert summary["Runner"] == "2 worker processes"
    assert {
        k: summary[k]
        for k in (
            "FilesSeen",
            "ImagesIndexed",
            "ImagesWithoutIndexableFaces",
            "ImagesSkipped",
            "ImagesFailed",
            "FacesIndexed",
            "UnindexedFaces",
            "UnindexedFacesByReason",
        )
    } == {
        "FilesSeen": 14,
        "ImagesIndexed": 12,
        "ImagesWithoutIndexableFaces": 1,
        "ImagesSkipped": 0,
        "ImagesFailed": {"InvalidImageFormatException": 1},
        "FacesIndexed": 13,
        "UnindexedFaces": 1,
        "UnindexedFacesByReason": {"LOW_SHARPNESS": 1},
    }
    assert summary["FailureExamples"][0]["Key"] == "img47.jpg"
    assert summary["ImagesPerSecond"] > 0


def test_the_run_is_audited_as_index_folder(indexed: tuple[Path, dict]) -> None:
    data_dir, summary = indexed
    with open_audit(Settings(data_dir=data_dir)) as log:
        assert log.verify().ok
        records = [r for r in log.records() if r["operation"] == "agnosco:IndexFolder"]
    first_run = [
        r["parameters"]
        for r in records
        if r["parameters"]["RunId"] == records[0]["parameters"]["RunId"]
    ]
    assert [p["Phase"] for p in first_run] == ["started", "batch", "finished"]
    assert first_run[0]["CreatedCollection"] is True
    assert {p["CollectionId"] for p in first_run} == {COLLECTION}
    assert first_run[-1]["FacesIndexed"] == first_run[1]["FacesIndexed"] == summary["FacesIndexed"]
    assert all(r["principal"].startswith("cli:") for r in records)


def test_a_second_run_indexes_nothing_new_and_says_so(
    indexed: tuple[Path, dict], image_folder: Path
) -> None:
    data_dir, _ = indexed
    before = {face.face_id for face in stored_faces(data_dir)}
    result = run_cli(
        "index-folder",
        str(image_folder),
        "--collection",
        COLLECTION,
        "--workers",
        "2",
        "--data-dir",
        str(data_dir),
    )
    summary = summary_of(result)
    assert "nothing new indexed" in result.stderr
    assert (
        summary["FacesIndexed"]
        == summary["ImagesIndexed"]
        == summary["ImagesWithoutIndexableFaces"]
        == 0
    )
    assert summary["ImagesSkipped"] == 13  # 12 with faces, and brick.png from the ledger
    assert summary["ImagesFailed"] == {"InvalidImageFormatException": 1}  # failures are retried
    assert {face.face_id for face in stored_faces(data_dir)} == before


def test_one_worker_gives_the_same_faces_as_two(
    indexed: tuple[Path, dict], image_folder: Path, tmp_path: Path
) -> None:
    data_dir, parallel = indexed
    result = run_cli(
        "index-folder",
        str(image_folder),
        "--collection",
        COLLECTION,
        "--create-collection",
        "--workers",
        "1",
        "--consent-ref",
        "enrolment-form-7",
        "--data-dir",
        str(tmp_path / "data"),
    )
    sequential = summary_of(result)
    assert faces_per_external_id(tmp_path / "data") == faces_per_external_id(data_dir)
    assert {face.consent_ref for face in stored_faces(tmp_path / "data")} == {"enrolment-form-7"}
    for key in ("ImagesIndexed", "FacesIndexed", "UnindexedFacesByReason", "ImagesFailed"):
        assert sequential[key] == parallel[key]


def _face_count(data_dir: Path) -> int:
    try:
        with sqlite3.connect(f"file:{data_dir / 'agnosco.db'}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM faces").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_run_killed_midway_resumes_without_duplicates(image_folder: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        cli_argv(
            "index-folder",
            str(image_folder),
            "--collection",
            COLLECTION,
            "--create-collection",
            "--workers",
            "1",
            "--data-dir",
            str(data_dir),
        ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _face_count(data_dir) < 3 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    killed_at = _face_count(data_dir)
    assert 3 <= killed_at < sum(EXPECTED_FACES.values())

    resumed = summary_of(
        run_cli(
            "index-folder",
            str(image_folder),
            "--collection",
            COLLECTION,
            "--workers",
            "1",
            "--data-dir",
            str(data_dir),
        )
    )
    assert resumed["ImagesSkipped"] >= 2
    assert resumed["FacesIndexed"] == sum(EXPECTED_FACES.values()) - killed_at
    assert_no_duplicates(data_dir)


def test_a_server_running_on_the_data_directory_finds_bulk_indexed_faces(
    image_folder: Path,
    read_image,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, tmp_path / "server.log")
    try:
        client = server.client()
        client.create_collection(CollectionId="live")
        image = {"Bytes": read_image("img9.jpg")}
        assert (
            client.search_faces_by_image(CollectionId="live", Image=image)["FaceMatches"] == []
        )  # cached, empty

        summary_of(
            run_cli(
                "index-folder",
                str(image_folder / "sub"),
                "--collection",
                "live",
                "--workers",
                "1",
                "--data-dir",
                str(data_dir),
            )
        )
        assert client.describe_collection(CollectionId="live")["FaceCount"] == 1
        matches = client.search_faces_by_image(
            CollectionId="live", Image=image, FaceMatchThreshold=90
        )["FaceMatches"]
        assert [m["Face"]["ExternalImageId"] for m in matches] == ["my_photo.jpg"]
        assert matches[0]["Similarity"] > 99
    finally:
        server.stop()
    with open_audit(
        Settings(data_dir=data_dir)
    ) as log:  # the server's records and the CLI's share one chain
        assert log.verify().ok
        operations = [r["operation"] for r in log.records()]
    assert "SearchFacesByImage" in operations and "agnosco:IndexFolder" in operations


def test_a_missing_collection_is_an_error_unless_asked_to_create_it(
    image_folder: Path, tmp_path: Path
) -> None:
    result = run_cli(
        "index-folder", str(image_folder), "--collection", "nope", "--data-dir", str(tmp_path / "d")
    )
    assert result.returncode == 1
    assert "ResourceNotFoundException" in result.stderr
    result = run_cli(
        "index-folder",
        str(image_folder),
        "--collection",
        "c",
        "--max-faces",
        "0",
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert result.returncode == 1
    assert "InvalidParameterException" in result.stderr and "maxFaces" in result.stderr
    result = run_cli(
        "index-folder",
        str(tmp_path / "missing"),
        "--collection",
        "c",
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert result.returncode == 1
    assert "is not a folder" in result.stderr
