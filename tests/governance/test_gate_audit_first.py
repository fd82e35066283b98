"""No unrecorded change: a call that changes state is recorded before it runs.

When the audit log cannot be appended to (a forged head, a full disk), a change must not
happen; when it fails after the change (or the process dies there), the intent record written
before it names the change.  Runs on both backends (``store_url``).
"""

from __future__ import annotations

from typing import Any

import pytest

from agnosco.errors import InternalServerError, ResourceNotFoundException
from agnosco.governance.actions import Caller
from agnosco.governance.audit import AuditLog
from agnosco.governance.gate import Gate
from tests.governance.conftest import FACE

ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"}],
}
CALLER = Caller("curator", "AKIA", "127.0.0.1", "us-east-1", None, None, request_id="r-1")


class BreakingAudit:
    """The real log, whose appends fail from the ``fail_from``-th on (1-based)."""

    def __init__(self, log: AuditLog, fail_from: int) -> None:
        self.log, self.fail_from, self.appends = log, fail_from, 0

    def append(self, record: dict[str, Any]) -> Any:
        self.appends += 1
        if self.appends >= self.fail_from:
            raise OSError("audit head MAC does not verify")
        return self.log.append(record)


@pytest.fixture
def parts(gate_parts):  # type: ignore[no-untyped-def]
    made = gate_parts("curator", ALL)
    return made.governance, made.audit, made.reviews, made.context, made.store


def _records(audit: AuditLog) -> list[dict[str, Any]]:
    return list(audit.records())


CHANGES = [
    ("CreateCollection", {"CollectionId": "new"}),
    ("DeleteFaces", {"CollectionId": "c", "FaceIds": [FACE]}),
    ("DeleteCollection", {"CollectionId": "c"}),
    ("CreateUser", {"CollectionId": "c", "UserId": "u"}),
]


@pytest.mark.parametrize(("operation", "request_"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_does_not_happen_when_its_record_cannot_be_written(parts, operation, request_):  # type: ignore[no-untyped-def]
    governance, audit, reviews, context, store = parts
    gate = Gate(governance, BreakingAudit(audit, fail_from=1), reviews)  # type: ignore[arg-type]
    with pytest.raises(InternalServerError, match="audit log"):
        gate.call(operation, request_, CALLER, context)
    assert store.get_collection("c").face_count == 1  # nothing deleted
    with pytest.raises(ResourceNotFoundException):
        store.get_collection("new")  # nothing created
    assert store.list_users("c", None, 10).items == []
    assert _records(audit) == []


def test_index_faces_stores_nothing_when_its_record_cannot_be_written(parts, deepface_images):  # type: ignore[no-untyped-def]
    governance, audit, reviews, context, store = parts
    gate = Gate(governance, BreakingAudit(audit, fail_from=1), reviews)  # type: ignore[arg-type]
    image = {"Bytes": (deepface_images / "img1.jpg").read_bytes()}
    with pytest.raises(InternalServerError):
        gate.call("IndexFaces", {"CollectionId": "c", "Image": image}, CALLER, context)
    assert store.get_collection("c").face_count == 1


def test_a_change_whose_outcome_record_fails_is_named_by_its_intent(parts):  # type: ignore[no-untyped-def]
    governance, audit, reviews, context, store = parts
    gate = Gate(governance, BreakingAudit(audit, fail_from=2), reviews)  # type: ignore[arg-type]
    with pytest.raises(InternalServerError):  # not acknowledged...
        gate.call("DeleteFaces", {"CollectionId": "c", "FaceIds": [FACE]}, CALLER, context)
    assert store.get_collection("c").face_count == 0  # ...but done, and recorded as intended:
    (intent,) = _records(audit)
    assert intent["phase"] == "intent" and intent["operation"] == "DeleteFaces"
    assert intent["request_id"] == "r-1" and intent["decision"] == "Allow"
    assert intent["parameters"]["FaceIds"] == [FACE]


def test_reads_are_recorded_once_and_changes_twice(parts):  # type: ignore[no-untyped-def]
    governance, audit, reviews, context, _ = parts
    gate = Gate(governance, audit, reviews)
    gate.call("DescribeCollection", {"CollectionId": "c"}, CALLER, context)
    gate.call("CreateCollection", {"CollectionId": "other"}, CALLER, context)
    phases = [(r["operation"], r.get("phase")) for r in _records(audit)]
    assert phases == [
        ("DescribeCollection", None),
        ("CreateCollection", "intent"),
        ("CreateCollection", None),
    ]
