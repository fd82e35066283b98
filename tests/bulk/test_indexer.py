"""The coordinator in process: already-indexed images never reach the models, the ledger
remembers images with nothing to index (per QualityFilter), one run per collection at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.bulk.indexer import BulkIndexingError, Coordinator, IndexingOptions, _collection_lock
from agnosco.bulk.runners import InProcessRunner
from agnosco.bulk.sources import FolderSource
from agnosco.bulk.worker import Analysis, Job
from agnosco.deployment import open_deployment
from agnosco.operations import invoke
from agnosco.settings import Settings
from tests.bulk.conftest import COLLECTION, EXPECTED_FACES, assert_no_duplicates


class RecordingRunner:
    """The in-process runner, remembering which images reached the models."""

    description = "recording"

    def __init__(self) -> None:
        self.keys: list[str] = []

    def run(self, jobs: Iterator[Job]) -> Iterator[Analysis]:
        def recorded() -> Iterator[Job]:
            for job in jobs:
                self.keys.append(job.key)
                yield job

        return InProcessRunner().run(recorded())


@pytest.mark.slow
def test_only_new_images_reach_the_models(image_folder: Path, tmp_path: Path) -> None:
    service = open_deployment(Settings(data_dir=tmp_path))
    try:
        invoke("CreateCollection", {"CollectionId": COLLECTION}, service.context)
        source = FolderSource(image_folder)
        reports = []
        first = RecordingRunner()
        summary = Coordinator(
            service.context, tmp_path, IndexingOptions(COLLECTION), report=reports.append
        ).run(source, first)
        assert len(first.keys) == 14
        assert summary.counts.faces_indexed == sum(EXPECTED_FACES.values())
        assert sum(r.faces_indexed for r in reports) == summary.counts.faces_indexed
        assert_no_duplicates(tmp_path)

        again = RecordingRunner()
        summary = Coordinator(service.context, tmp_path, IndexingOptions(COLLECTION)).run(
            source, again
        )
        assert again.keys == ["img47.jpg"]  # only the failed image is tried again
        assert summary.counts.images_skipped == 13 and summary.counts.faces_indexed == 0

        # brick.png held nothing for AUTO; with another QualityFilter it is analysed again.
        other = RecordingRunner()
        Coordinator(
            service.context, tmp_path, IndexingOptions(COLLECTION, quality_filter="NONE")
        ).run(source, other)
        assert other.keys == ["img47.jpg", "sub/brick.png"]
    finally:
        service.close()


def test_one_bulk_run_per_collection_at_a_time(tmp_path: Path) -> None:
    with _collection_lock(tmp_path, "c"):
        with (
            pytest.raises(BulkIndexingError, match="another bulk run"),
            _collection_lock(tmp_path, "c"),
        ):
            pass
        with _collection_lock(tmp_path, "other"):
            pass
    with _collection_lock(tmp_path, "c"):
        pass
