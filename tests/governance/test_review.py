"""The human review queue (``ReviewQueue``) on both backends (``store_url``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.errors import ConflictException, InvalidParameterException, ResourceNotFoundException
from agnosco.governance.review import CONFIRMED, PENDING, REJECTED, ReviewQueue
from agnosco.storage.database import Database, open_database
from tests.conftest import run_threads

CANDIDATES = [
    {"Similarity": 99.5, "Face": {"FaceId": "f1"}},
    {"Similarity": 91.0, "Face": {"FaceId": "f2"}},
]


@pytest.fixture
def database(tmp_path: Path, store_url: str | None) -> Iterator[Database]:
    with open_database(store_url, tmp_path / "agnosco.db") as db:
        yield db


@pytest.fixture
def queue(database: Database) -> ReviewQueue:
    return ReviewQueue(database, clock=iter(range(1000, 2000)).__next__)


def submit(queue: ReviewQueue, reviewers: int = 1, **kwargs):  # type: ignore[no-untyped-def]
    return queue.submit(
        **{
            "principal": "ngo",
            "access_key_id": "AKIA",
            "operation": "SearchFacesByImage",
            "collection_id": "missing",
            "purpose": "missing_persons",
            "threshold": 99.0,
            "required_reviewers": reviewers,
            "candidates": CANDIDATES,
        }
        | kwargs
    )


def test_submit_get_list(queue: ReviewQueue) -> None:
    first, second = submit(queue), submit(queue, 2, threshold=None, collection_id=None)
    assert queue.get(first.review_id) == first
    assert first.status == PENDING and first.decisions == [] and first.candidates == CANDIDATES
    assert (second.required_reviewers, second.threshold, second.collection_id) == (2, None, None)
    assert [r.review_id for r in queue.list()] == [first.review_id, second.review_id]
    assert [r.review_id for r in queue.list(PENDING)] == [first.review_id, second.review_id]
    assert queue.list(CONFIRMED) == []
    with pytest.raises(ResourceNotFoundException):
        queue.get("no-such-review")


def test_decisions(queue: ReviewQueue) -> None:
    one, two, three = submit(queue), submit(queue, 2), submit(queue, 2)
    assert queue.decide(one.review_id, "ann", "confirm", "same person").status == CONFIRMED
    with pytest.raises(ConflictException, match="already CONFIRMED"):
        queue.decide(one.review_id, "bob", "reject", "no")

    assert queue.decide(two.review_id, "ann", "confirm", "same").status == PENDING
    with pytest.raises(ConflictException, match="needs a different reviewer"):
        queue.decide(two.review_id, "ann", "confirm", "still the same")
    decided = queue.decide(two.review_id, "bob", "confirm", "agreed")
    assert decided.status == CONFIRMED
    assert [(d["reviewer"], d["decision"]) for d in decided.decisions] == [
        ("ann", "confirm"),
        ("bob", "confirm"),
    ]

    assert queue.decide(three.review_id, "ann", "reject", "different people").status == REJECTED
    assert [r.review_id for r in queue.list(REJECTED)] == [three.review_id]
    for bad in (("maybe", "r"), ("confirm", "  ")):
        with pytest.raises(InvalidParameterException):
            queue.decide(three.review_id, "carl", *bad)
    with pytest.raises(ResourceNotFoundException):
        queue.decide("no-such-review", "ann", "confirm", "x")


def test_simultaneous_decisions_lose_nothing(
    database: Database, tmp_path: Path, store_url: str | None
) -> None:
    """Reviewers deciding the same review at once, through different openers (as from several
    servers or CLIs): each decision is recorded, none overwrites another."""
    queue = ReviewQueue(database)
    review = submit(queue, 5)
    reviewers = [f"reviewer-{i}" for i in range(5)]
    openers = [
        ReviewQueue(open_database(store_url, tmp_path / "agnosco.db"), owned=True)
        for _ in reviewers
    ]
    go = threading.Barrier(len(reviewers))

    def decide(opener: ReviewQueue, reviewer: str) -> None:
        go.wait(timeout=30)
        opener.decide(review.review_id, reviewer, "confirm", "checked")

    run_threads(decide, zip(openers, reviewers, strict=True))
    for opener in openers:
        opener.close()
    decided = queue.get(review.review_id)
    assert sorted(d["reviewer"] for d in decided.decisions) == reviewers
    assert decided.status == CONFIRMED
