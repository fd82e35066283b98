"""Evaluations are records: stored in the data directory, listed, and consulted by policy.

Each evaluation is a folder ``DATA_DIR/evaluations/<time>-<fingerprint>/`` holding
``report.json`` (the :class:`~.report.EvaluationReport`: every number, the model and calibration
versions, the data set fingerprint, date and thresholds) and ``report.html``, written atomically
(a temporary folder renamed into place).  Stored reports are read back as typed records
(:func:`read_report`), those written by older versions included.  :class:`EvaluationIndex`
answers, for the model and calibration the server runs, the worst-group FMR of the latest
evaluation at a given threshold: the value governance policies see as ``agnosco:WorstGroupFMR``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from agnosco.evaluation.json_fields import ReportFormatError
from agnosco.evaluation.report import (
    EvaluationReport,
    WorstGroupPoint,
    format_report,
    parse_report,
)

FOLDER = "evaluations"
REPORT = "report.json"


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
    flags: tuple[str, ...]


def save_evaluation(data_dir: Path, report: EvaluationReport, html: str) -> Path:
    root = data_dir / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    stamp = report.created.replace(":", "").replace("-", "").replace("+0000", "Z")
    record_id = f"{stamp}-{report.dataset.fingerprint[:12]}"
    target = root / record_id
    temp = Path(tempfile.mkdtemp(dir=root, prefix=".incoming-"))
    try:
        (temp / REPORT).write_text(format_report(report))
        (temp / "report.html").write_text(html)
        if target.exists():
            shutil.rmtree(target)
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return target


def read_report(folder: Path) -> EvaluationReport:
    """The report stored in an evaluation's ``folder``.

    :raises ReportFormatError: the file is not JSON or not a report; the message names the
        file and the field.
    """
    path = folder / REPORT
    try:
        return parse_report(path.read_text())
    except ValueError as exc:  # json.JSONDecodeError included
        raise ReportFormatError(f"{path}: {exc}") from exc


def list_evaluations(data_dir: Path) -> list[EvaluationRecord]:
    root = data_dir / FOLDER
    records = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name.startswith(".") or not (folder / REPORT).is_file():
            continue
        report = read_report(folder)
        records.append(
            EvaluationRecord(
                record_id=folder.name,
                path=folder,
                created=report.created,
                source=report.dataset.source,
                fingerprint=report.dataset.fingerprint,
                face_model_version=report.model.face_model_version,
                calibration_version=report.model.calibration_version,
                samples=report.dataset.samples,
                flags=report.flags,
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
        self._curve: tuple[WorstGroupPoint, ...] | None = None

    def worst_group_fmr(self, threshold: float) -> float | None:
        """Worst-group FMR at ``threshold`` (rounded down to a whole Similarity, so the
        estimate is never optimistic), or None when no evaluation of this model exists or the
        latest had no impostor pairs to measure it on."""
        curve = self._latest_curve()
        if not curve:
            return None
        eligible = [p for p in curve if p.threshold <= threshold]
        return eligible[-1].fmr if eligible else None

    def _latest_curve(self) -> tuple[WorstGroupPoint, ...] | None:
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
                    report = read_report(matching[-1].path)
                    # Versions before an empty curve wrote FMR 0 at every threshold when there
                    # was no impostor pair to measure it on.
                    measured = report.verification.impostor_pairs > 0
                    self._curve = report.worst_group_fmr if measured else ()
            return self._curve
