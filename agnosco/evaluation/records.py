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
from typing import Any

FOLDER = "evaluations"


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


def save_evaluation(data_dir: Path, report: dict[str, Any], html: str) -> Path:
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
        report = json.loads(report_path.read_text())
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
        self._curve: list[dict[str, Any]] | None = None

    def worst_group_fmr(self, threshold: float) -> float | None:
        """Worst-group FMR at ``threshold`` (rounded down to a whole Similarity, so the
        estimate is never optimistic), or None when no evaluation of this model exists."""
        curve = self._latest_curve()
        if not curve:
            return None
        eligible = [p for p in curve if p["threshold"] <= threshold]
        if not eligible:
            return None
        value = eligible[-1]["fmr"]
        return float(value) if value not in ("nan", None) else None

    def _latest_curve(self) -> list[dict[str, Any]] | None:
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
                    report = json.loads((matching[-1].path / "report.json").read_text())
                    self._curve = report["groups"].get("worst_group_fmr")
            return self._curve
