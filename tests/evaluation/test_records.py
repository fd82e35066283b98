"""Stored evaluation reports: a number that cannot be measured is JSON null, never a "nan"
string; a report stored by an older version (with "nan"/"inf" strings) reads in today's form."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agnosco.evaluation.evaluate import Evaluation
from agnosco.evaluation.records import EvaluationIndex, load_report, save_evaluation


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("kind", ["impostor-only", "empty", "full"])
def test_a_written_report_has_no_nan_or_inf_strings(
    synthetic: Callable[[str], Evaluation], tmp_path: Path, kind: str
) -> None:
    evaluation = synthetic(kind)
    folder = save_evaluation(tmp_path, evaluation.report, "<html></html>")
    text = (folder / "report.json").read_text()
    stored = json.loads(text)  # strict JSON: no NaN/Infinity literals either
    assert not {"nan", "inf", "-inf", "NaN", "Infinity"} & set(_strings(stored))
    assert "NaN" not in text and "Infinity" not in text
    assert load_report(folder / "report.json") == evaluation.report  # a round trip


def test_an_unmeasurable_rate_is_null(synthetic: Callable[[str], Evaluation]) -> None:
    report = synthetic("impostor-only").report
    at_80 = next(p for p in report["verification"]["at_similarity"] if p["threshold"] == 80.0)
    assert at_80["fnmr"]["trials"] == 0 and at_80["fnmr"]["rate"] is None


OLD_REPORT = {
    "agnosco_version": "0.1.0",
    "created": "2026-11-30T10:00:00+00:00",
    "mode": "in-process",
    "model": {"descriptor": "dlib", "face_model_version": "1.0", "calibration_version": "c1"},
    "dataset": {
        "source": "nan",  # a name, not a number: kept
        "fingerprint": "f" * 64,
        "samples": 4,
        "identities": 2,
        "group_columns": ["tone"],
        "pairs_source": "labelled pairs",
    },
    "thresholds": {"deployed": 80.0, "similarity_points": [80.0], "ratio_limit": 2.0},
    "enrolment": {},
    "verification": {
        "at_similarity": [
            {
                "threshold": 80.0,
                "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0},
            }
        ],
        "eer": "nan",
    },
    "identification": None,
    "groups": {
        "tone": {
            "at_deployed": {
                "fmr": {"ratio": "inf", "flagged": True, "worst_group": "inf", "note": ""},
                "fnmr": {"ratio": "nan", "flagged": False, "worst_group": None, "note": ""},
            }
        },
        "worst_group_fmr": [
            {"threshold": 80.0, "fmr": "nan", "column": "all", "group": "all"},
            {"threshold": 81.0, "fmr": 0.01, "column": "tone", "group": "dark"},
        ],
    },
    "flags": [],
}


def test_a_report_of_an_older_version_reads_in_todays_form(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(OLD_REPORT))
    report = load_report(path)
    assert report["verification"]["at_similarity"][0]["fnmr"]["rate"] is None
    assert report["verification"]["eer"] is None
    fmr, fnmr = (report["groups"]["tone"]["at_deployed"][k] for k in ("fmr", "fnmr"))
    assert (fmr["ratio"], fmr["unbounded"], fmr["worst_group"]) == (None, True, "inf")
    assert (fnmr["ratio"], fnmr["unbounded"]) == (None, False)
    assert report["dataset"]["source"] == "nan"


def test_policy_reads_an_older_reports_curve(tmp_path: Path) -> None:
    folder = tmp_path / "evaluations" / "20261130T100000Z-ffffffffffff"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(OLD_REPORT))
    index = EvaluationIndex(tmp_path, "1.0", "c1")
    assert index.worst_group_fmr(80.5) is None  # "nan" then: not measured
    assert index.worst_group_fmr(81.0) == 0.01
