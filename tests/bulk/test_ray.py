"""Bulk indexing on Ray: a local instance analyses the images, the coordinator writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bulk.conftest import (
    COLLECTION,
    assert_no_duplicates,
    faces_per_external_id,
    run_cli,
    summary_of,
)

pytestmark = pytest.mark.slow


def test_ray_indexes_the_same_faces_as_worker_processes(
    indexed: tuple[Path, dict],
    image_folder: Path,
    tmp_path: Path,
) -> None:
    data_dir, parallel = indexed
    summary = summary_of(
        run_cli(
            "index-folder",
            str(image_folder),
            "--collection",
            COLLECTION,
            "--create-collection",
            "--ray-address",
            "local",
            "--workers",
            "2",
            "--data-dir",
            str(tmp_path / "data"),
        )
    )
    assert summary["Runner"] == "Ray (local instance)"
    assert faces_per_external_id(tmp_path / "data") == faces_per_external_id(data_dir)
    assert_no_duplicates(tmp_path / "data")
    for key in (
        "ImagesIndexed",
        "FacesIndexed",
        "UnindexedFacesByReason",
        "ImagesFailed",
        "ImagesWithoutIndexableFaces",
    ):
        assert summary[key] == parallel[key]
