"""Policies can require a measured, good enough evaluation before identification."""

from __future__ import annotations

from pathlib import Path

import pytest

from agnosco.errors import AccessDeniedException
from agnosco.evaluation.records import EvaluationIndex, save_evaluation
from agnosco.governance.actions import Caller
from agnosco.governance.gate import Gate
from tests.governance.conftest import FACE

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},
        {
            "Sid": "NeedsAnEvaluation",
            "Effect": "Deny",
            "Action": "rekognition:Search*",
            "Resource": "*",
            "Condition": {"Null": {"agnosco:WorstGroupFMR": "true"}},
        },
        {
            "Sid": "WorstGroupFMRAtMost1In1000",
            "Effect": "Deny",
            "Action": "rekognition:Search*",
            "Resource": "*",
            "Condition": {"NumericGreaterThan": {"agnosco:WorstGroupFMR": "0.001"}},
        },
    ],
}


class Fixed:
    def __init__(self, value: float | None) -> None:
        self.value = value

    def worst_group_fmr(self, threshold: float) -> float | None:
        return self.value


@pytest.fixture
def parts(gate_parts):  # type: ignore[no-untyped-def]
    made = gate_parts("analyst", POLICY)
    return made.governance, made.audit, made.reviews, made.context


CALLER = Caller("analyst", "AKIA", "127.0.0.1", "us-east-1", None, None)
REQUEST = {"CollectionId": "c", "FaceId": FACE, "FaceMatchThreshold": 90.0}


@pytest.mark.parametrize("value, allowed", [(None, False), (0.01, False), (0.0005, True)])
def test_search_needs_an_evaluation_with_low_worst_group_fmr(parts, value, allowed) -> None:  # type: ignore[no-untyped-def]
    governance, audit, reviews, context = parts
    gate = Gate(governance, audit, reviews, evaluations=Fixed(value))
    if allowed:
        assert gate.call("SearchFaces", REQUEST, CALLER, context).response["SearchedFaceId"] == FACE
    else:
        with pytest.raises(
            AccessDeniedException, match="with an explicit deny in an identity-based policy"
        ):
            gate.call("SearchFaces", REQUEST, CALLER, context)
        (record,) = [r for r in audit.records() if r["operation"] == "SearchFaces"][-1:]
        assert (
            "NeedsAnEvaluation" in record["reason"]
            or "WorstGroupFMRAtMost1In1000" in record["reason"]
        )
    # Operations other than identification are unaffected.
    gate.call("DescribeCollection", {"CollectionId": "c"}, CALLER, context)


def test_index_reads_the_latest_evaluation_of_the_running_model(tmp_path: Path) -> None:
    def report(created: str, calibration: str, fmr_at_90: float) -> dict:  # type: ignore[type-arg]
        curve = [
            {
                "threshold": float(t),
                "fmr": (0.5 if t < 90 else fmr_at_90),
                "column": "race",
                "group": "A",
            }
            for t in range(50, 101)
        ]
        return {
            "created": created,
            "dataset": {
                "fingerprint": created.replace(":", "") + "f" * 12,
                "source": "x",
                "samples": 1,
            },
            "model": {"face_model_version": "1.0", "calibration_version": calibration},
            "groups": {"worst_group_fmr": curve},
            "flags": [],
        }

    index = EvaluationIndex(tmp_path, "1.0", "cal-1")
    assert index.worst_group_fmr(90) is None
    save_evaluation(tmp_path, report("2026-01-01T00:00:00+00:00", "cal-1", 0.02), "<!DOCTYPE html>")
    assert index.worst_group_fmr(90) == 0.02
    assert (
        index.worst_group_fmr(89.5) == 0.5
    )  # rounded down to a measured threshold: never optimistic
    save_evaluation(
        tmp_path, report("2026-02-01T00:00:00+00:00", "cal-2", 0.0001), "<!DOCTYPE html>"
    )
    assert index.worst_group_fmr(90) == 0.02  # another calibration's evaluation does not count
    save_evaluation(
        tmp_path, report("2026-03-01T00:00:00+00:00", "cal-1", 0.0002), "<!DOCTYPE html>"
    )
    assert index.worst_group_fmr(90) == 0.0002
