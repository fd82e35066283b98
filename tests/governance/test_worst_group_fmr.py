"""Policies can require a measured, good enough evaluation before identification."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from agnosco.errors import AccessDeniedException
from agnosco.evaluation.records import EvaluationIndex, list_evaluations, save_evaluation
from agnosco.evaluation.report import EvaluationReport, WorstGroupPoint
from agnosco.governance.actions import Caller
from agnosco.governance.gate import Gate
from tests.evaluation.conftest import synthetic_evaluation
from tests.evaluation.older_report import OLDER_REPORT
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
    measured = synthetic_evaluation("impostor-only", tmp_path / "images").report

    def report(created: str, calibration: str, fmr_at_90: float) -> EvaluationReport:
        curve = tuple(
            WorstGroupPoint(float(t), 0.5 if t < 90 else fmr_at_90, "race", "A")
            for t in range(50, 101)
        )
        return replace(
            measured,
            created=created,
            dataset=replace(measured.dataset, fingerprint=created.replace(":", "") + "f" * 12),
            model=replace(
                measured.model, face_model_version="1.0", calibration_version=calibration
            ),
            worst_group_fmr=curve,
        )

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


def test_index_reads_a_report_stored_by_an_older_version(tmp_path: Path) -> None:
    """A report with "nan"/"inf" strings, as versions before null wrote them, still counts."""
    folder = tmp_path / "evaluations" / "20261201T100000Z-ca8d93be8d2a"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(OLDER_REPORT)
    index = EvaluationIndex(tmp_path, "1.0", "test-calibration")
    assert index.worst_group_fmr(85.0) == 0.2894736842105263  # the point at 80: never optimistic
    assert index.worst_group_fmr(99.0) == 0.0
    assert index.worst_group_fmr(79.0) is None  # below the lowest stored point
    (record,) = list_evaluations(tmp_path)
    assert (record.record_id, record.samples, len(record.flags)) == (folder.name, 41, 2)


def test_an_evaluation_without_impostor_pairs_measures_no_fmr(tmp_path: Path) -> None:
    """FMR over no impostor pair is not 0: a policy's Null condition must see no value."""
    report = synthetic_evaluation("empty", tmp_path / "images").report
    assert report.verification.impostor_pairs == 0 and report.worst_group_fmr == ()
    save_evaluation(tmp_path / "now", report, "<!DOCTYPE html>")
    model = report.model
    index = EvaluationIndex(tmp_path / "now", model.face_model_version, model.calibration_version)
    assert index.worst_group_fmr(90.0) is None
    # Older versions wrote FMR 0 at every threshold for such a set: that is no measurement either.
    older = json.loads(OLDER_REPORT)
    older["verification"]["impostor_pairs"] = 0
    older["groups"]["worst_group_fmr"] = [
        {"threshold": float(t), "fmr": 0.0, "column": "all", "group": "all"} for t in range(50, 101)
    ]
    folder = tmp_path / "older" / "evaluations" / "20261201T100000Z-ca8d93be8d2a"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(older))
    assert (
        EvaluationIndex(tmp_path / "older", "1.0", "test-calibration").worst_group_fmr(90.0) is None
    )
