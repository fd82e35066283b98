"""agnosco.evaluation.report: the typed report survives JSON exactly, writes ``null`` and never
``"nan"``/``"inf"`` for what cannot be measured, and reads the reports older versions wrote."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.evaluation.json_fields import ReportFormatError
from agnosco.evaluation.records import read_report, save_evaluation
from agnosco.evaluation.report import WorstGroupPoint, format_report, parse_report
from agnosco.evaluation.report_html import render_html
from tests.evaluation.older_report import OLDER_REPORT

NON_FINITE_STRINGS = {"nan", "inf", "-inf", "NaN", "Infinity", "-Infinity"}


def _strings(value: object) -> Iterator[str]:
    """Every string value in a JSON document (object keys aside)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _strict_json(text: str) -> object:
    """JSON as the standard has it: ``NaN`` and ``Infinity`` literals refused."""

    def refuse(literal: str) -> object:
        raise AssertionError(f"{literal} in the report")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("kind", ["full", "impostor-only", "empty-group", "folds", "empty"])
def test_report_round_trips_through_json(synthetic, kind) -> None:  # type: ignore[no-untyped-def]
    report = synthetic(kind).report
    assert parse_report(format_report(report)) == report


@pytest.mark.parametrize("name", ["utkface_evaluation", "deepface_evaluation"])
def test_real_reports_round_trip_through_json(request, name) -> None:  # type: ignore[no-untyped-def]
    report = request.getfixturevalue(name).report
    assert parse_report(format_report(report)) == report


def test_no_nan_or_inf_string_in_a_report_with_an_empty_group(synthetic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    evaluation = synthetic("empty-group")
    report = evaluation.report
    # What older reports wrote as strings is in this one: a rate without trials and a ratio
    # without bound (the "light" group has no false match at 80, "dark" many).
    at_80 = report.groups["tone"].at_deployed
    assert at_80.groups["medium"].fmr.trials == 0 and at_80.groups["medium"].fmr.rate is None
    assert at_80.fmr.ratio == math.inf and at_80.fmr.flagged
    assert report.groups["tone"].at_99.fmr.ratio is None  # no false match in any group at 99
    assert report.identification is not None and report.identification.result.rank1 is None

    folder = save_evaluation(tmp_path, report, render_html(evaluation))
    stored = _strict_json((folder / "report.json").read_text())
    assert not NON_FINITE_STRINGS & set(_strings(stored))
    assert isinstance(stored, dict)
    tone = stored["groups"]["tone"]["at_deployed"]
    assert tone["groups"]["medium"]["fmr"]["rate"] is None
    assert (tone["fmr"]["ratio"], tone["fmr"]["unbounded"]) == (None, True)
    assert stored["verification"]["det"] is None and stored["verification"]["eer"] is None
    assert read_report(folder) == report


def test_a_report_written_with_nan_strings_loads() -> None:
    report = parse_report(OLDER_REPORT)
    v = report.verification
    assert v.impostor_pairs == 820 and v.at_similarity[0].fmr.errors == 55
    assert v.at_similarity[0].fnmr.rate is None  # "nan"
    assert v.det is None and v.eer is None and v.auc is None  # left out: no genuine pairs
    assert [t.fnmr for t in v.at_target_fmr] == [None, None]  # left out
    assert report.identification is not None
    result = report.identification.result
    assert result.rank1 is None and result.cmc == ()  # "nan", ["nan", "nan", "nan"]
    assert result.points[0].fnir.rate is None and result.points[0].fpir.rate == 0.25
    tone = report.groups["tone"]
    assert tone.at_deployed.fmr.ratio == math.inf and tone.at_deployed.fmr.flagged  # "inf"
    assert tone.at_deployed.fnmr.ratio is None and tone.at_99.fmr.ratio is None  # "nan"
    assert tone.at_deployed.groups["medium"].fmr.rate is None
    assert report.enrolment.by_group["tone"]["medium"].trials == 1
    assert report.worst_group_fmr == (
        WorstGroupPoint(80.0, 0.2894736842105263, "tone", "dark"),
        WorstGroupPoint(99.0, 0.0, "tone", "dark"),
    )
    assert report.flags[0].startswith("FMR differs across tone groups by without bound")
    # Written again, it is in today's form, and reads back the same.
    rewritten = format_report(report)
    assert not NON_FINITE_STRINGS & set(_strings(_strict_json(rewritten)))
    assert parse_report(rewritten) == report


def test_a_damaged_report_names_its_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "evaluation"
    folder.mkdir()
    damaged = json.loads(OLDER_REPORT)
    damaged["verification"]["at_similarity"][0]["fmr"]["errors"] = "55"
    (folder / "report.json").write_text(json.dumps(damaged))
    with pytest.raises(ReportFormatError) as raised:
        read_report(folder)
    assert str(folder / "report.json") in str(raised.value)
    assert "report.verification.at_similarity[0].fmr.errors: expected an integer" in str(
        raised.value
    )
    (folder / "report.json").write_text(OLDER_REPORT[:100])
    with pytest.raises(ReportFormatError, match="report.json"):
        read_report(folder)
