"""Bulk indexing into the shared PostgreSQL store (``--store postgresql://...``), as a fleet of
servers would see it: the same faces as into SQLite, and a re-run indexes nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bulk.conftest import COLLECTION, assert_no_duplicates, run_cli, summary_of

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres_url() -> Iterator[str]:
    from tests.storage.embedded import EmbeddedPostgres

    server = EmbeddedPostgres()
    try:
        with server.database("bulk") as dsn:
            yield dsn
    finally:
        server.stop()


def test_bulk_indexing_writes_to_the_shared_postgresql_store(
    postgres_url: str,
    image_folder: Path,
    tmp_path: Path,
    indexed: tuple[Path, dict],
) -> None:
    args = (
        "index-folder",
        str(image_folder),
        "--collection",
        COLLECTION,
        "--workers",
        "2",
        "--store",
        postgres_url,
        "--data-dir",
        str(tmp_path / "data"),
    )
    summary = summary_of(run_cli(*args, "--create-collection"))
    assert summary["FacesIndexed"] == indexed[1]["FacesIndexed"]
    assert_no_duplicates(tmp_path / "data", store_url=postgres_url)
    again = summary_of(run_cli(*args))
    assert again["FacesIndexed"] == 0 and again["ImagesSkipped"] == 13
    assert_no_duplicates(tmp_path / "data", store_url=postgres_url)
