"""Evaluations are records: stored in the data directory, listed, and consulted by policy.

Each evaluation is a folder ``DATA_DIR/evaluations/<time>-<fingerprint>/`` holding
``report.json`` (every number, the model and calibration versions, the data set fingerprint,
date and thresholds) and ``report.html``, written atomically (a temporary folder renamed into
place).  :class:`EvaluationIndex` answers, for the model and calibration the server runs, the
worst-group FMR of the latest evaluation at a given threshold: the value governance policies see
as ``agnosco:WorstGroupFMR``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

FOLDER = "evaluations"
#: How reports written before numbers that cannot be measured were ``null`` spelled them.
_LEGACY_NUMBERS: dict[str, float | None] = {"nan": None, "inf": None, "-inf": None}
#: Report members that hold names, never numbers (a group may be called "nan").
_NAME_MEMBERS = {"worst_group", "best_group", "group", "column", "source", "note", "name"}


class ModelInfo(TypedDict):
    descriptor: str
    face_model_version: str
    calibration_version: str


class DatasetInfo(TypedDict):
    source: str
    fingerprint: str
    samples: int
    identities: int
    group_columns: list[str]
    pairs_source: str


class Thresholds(TypedDict):
    deployed: float
    similarity_points: list[float]
    ratio_limit: float


class WorstGroupPoint(TypedDict):
    """The highest FMR of any group at one whole Similarity (``agnosco:WorstGroupFMR``)."""

    threshold: float
    fmr: float | None
    column: str
    group: str


class EvaluationReport(TypedDict):
    """``report.json``: what :func:`agnosco.evaluation.evaluate.evaluate` measured.  A number
    that cannot be measured (a rate without trials) is ``None``; the metric sections keep the
    shapes of :mod:`agnosco.evaluation.metrics`' records (``Rate``, ``RateDisparity``, ...)."""

    agnosco_version: str
    created: str
    mode: str
    model: ModelInfo
    dataset: DatasetInfo
    thresholds: Thresholds
    enrolment: dict[str, Any]
    verification: dict[str, Any]
    identification: dict[str, Any] | None
    groups: dict[str, Any]
    flags: list[str]


def load_report(path: Path) -> EvaluationReport:
    """A stored ``report.json``; one written by older versions (``"nan"``/``"inf"`` strings for
    numbers that cannot be measured or are unbounded) is read in today's form."""
    report: EvaluationReport = json.loads(path.read_text())
    return _modernise(report)  # type: ignore[no-any-return]


def _modernise(value: Any, member: str = "") -> Any:
    if isinstance(value, str) and member not in _NAME_MEMBERS:
        return _LEGACY_NUMBERS.get(value, value)
    if isinstance(value, list):
        return [_modernise(v, member) for v in value]
    if isinstance(value, dict):
        out = {k: _modernise(v, k) for k, v in value.items()}
        if "ratio" in value and "flagged" in value and "unbounded" not in value:
            out["unbounded"] = value["ratio"] == "inf"  # a RateDisparity of an older report
        return out
    return value


@dataclass(frozen=True)
class EvaluationRecord:
    record_id: str
    path: Path
    created: str
    source: str
    fingerprint: str
    face_model_version: str
    calibration_version: str
    samples: int
    flags: list[str]


def save_evaluation(data_dir: Path, report: EvaluationReport, html: str) -> Path:
    root = data_dir / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    stamp = report["created"].replace(":", "").replace("-", "").replace("+0000", "Z")
    record_id = f"{stamp}-{report['dataset']['fingerprint'][:12]}"
    target = root / record_id
    temp = Path(tempfile.mkdtemp(dir=root, prefix=".incoming-"))
    try:
        (temp / "report.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
        (temp / "report.html").write_text(html)
        if target.exists():
            shutil.rmtree(target)
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return target


def list_evaluations(data_dir: Path) -> list[EvaluationRecord]:
    root = data_dir / FOLDER
    records = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        report_path = folder / "report.json"
        if folder.name.startswith(".") or not report_path.is_file():
            continue
        report = load_report(report_path)
        records.append(
            EvaluationRecord(
                folder.name,
                folder,
                report["created"],
                report["dataset"]["source"],
                report["dataset"]["fingerprint"],
                report["model"]["face_model_version"],
                report["model"]["calibration_version"],
                report["dataset"]["samples"],
                report.get("flags", []),
            )
        )
    return records


class EvaluationIndex:
    """The latest evaluation of one model + calibration version, re-read when the folder changes."""

    def __init__(self, data_dir: Path, face_model_version: str, calibration_version: str) -> None:
        self.root = data_dir / FOLDER
        self.face_model_version = face_model_version
        self.calibration_version = calibration_version
        self._lock = threading.Lock()
        self._seen: float | None = None
        self._curve: list[WorstGroupPoint] | None = None

    def worst_group_fmr(self, threshold: float) -> float | None:
        """Worst-group FMR at ``threshold`` (rounded down to a whole Similarity, so the
        estimate is never optimistic), or None when no evaluation of this model exists."""
        curve = self._latest_curve()
        if not curve:
            return None
        eligible = [p for p in curve if p["threshold"] <= threshold]
        if not eligible:
            return None
        return eligible[-1]["fmr"]

    def _latest_curve(self) -> list[WorstGroupPoint] | None:
        try:
            mtime = self.root.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            if self._seen != mtime:
                self._seen = mtime
                matching = [
                    r
                    for r in list_evaluations(self.root.parent)
                    if r.face_model_version == self.face_model_version
                    and r.calibration_version == self.calibration_version
                ]
                self._curve = None
                if matching:
                    report = load_report(matching[-1].path / "report.json")
                    self._curve = report["groups"].get("worst_group_fmr")
            return self._curve
