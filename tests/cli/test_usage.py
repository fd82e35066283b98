"""``agnosco usage`` and ``agnosco quotas``: the month's table or JSON, quotas set and shown,
every mistake one line, reads and changes audited."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agnosco.cli.main import main
from agnosco.deployment import open_governance
from agnosco.governance.usage import month_of
from agnosco.settings import Settings
from agnosco.storage import open_store
from agnosco.storage.base import Collection, FaceRecord


def agnosco(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    status = main([*args, "--data-dir", str(data)])
    out = capsys.readouterr()
    return status, out.out, out.err


def _metered_deployment(data: Path) -> None:
    """A deployment where alice ran two DetectFaces and one IndexFaces that stored a face."""
    settings = Settings.load({"data_dir": str(data)}, {})
    parts = open_governance(settings)
    store = open_store(None, data, database=parts.database)
    try:
        now = time.time()
        store.create_collection(Collection("family", "arn:family", "6.0", now, 128), {})
        face = FaceRecord(
            "f1", "i1", None, 0.1, 0.1, 0.2, 0.2, 99.0, np.zeros(128, np.float32), now
        )
        store.add_faces("family", [face], principal="alice")
        image = [{"member": "Image", "sha256": "0" * 64, "bytes": 10}]
        for operation, collection in (
            ("DetectFaces", None),
            ("DetectFaces", None),
            ("IndexFaces", "family"),
        ):
            parts.audit.append(
                {
                    "time": now,
                    "principal": "alice",
                    "operation": operation,
                    "collection": collection,
                    "decision": "Allow",
                    "reason": "test",
                    "images": image,
                }
            )
    finally:
        store.close()
        parts.close()


def _audited(data: Path, operation: str) -> list[dict[str, Any]]:
    parts = open_governance(Settings.load({"data_dir": str(data)}, {}))
    try:
        return [r for r in parts.audit.records() if r["operation"] == operation]
    finally:
        parts.close()


def test_usage_prints_a_table_by_principal_and_collection_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    _metered_deployment(data)
    status, out, err = agnosco(capsys, data, "usage")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == f"Usage in {month_of(time.time())} (UTC)"
    assert lines[1].split() == [
        "Principal",
        "Collection",
        "DetectFaces",
        "IndexFaces",
        "Images",
        "Face-months",
        "Faces",
        "stored",
    ]
    rows = [line.split() for line in lines[3:]]
    assert [r[:5] for r in rows] == [
        ["alice", "-", "2", "0", "2"],
        ["alice", "family", "0", "1", "1"],
    ]
    assert rows[1][6] == "1"  # the face stored now

    status, out, _ = agnosco(capsys, data, "usage", "--json", "--principal", "alice")
    report = json.loads(out)
    assert report["Month"] == month_of(time.time())
    assert [(u["CollectionId"], u["Images"], u["FacesStored"]) for u in report["Usage"]] == [
        (None, {"DetectFaces": 2}, 0),
        ("family", {"IndexFaces": 1}, 1),
    ]
    assert sum(report["ImagesByDay"].values()) == 3
    status, out, _ = agnosco(capsys, data, "usage", "--principal", "nobody")
    assert status == 0 and "nothing metered" in out
    status, out, _ = agnosco(capsys, data, "usage", "--month", "1999-01", "--json")
    assert json.loads(out)["Usage"] == []

    reads = _audited(data, "agnosco:ReadUsage")
    assert len(reads) == 4 and reads[1]["parameters"]["Principal"] == "alice"


def test_a_bad_month_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = agnosco(capsys, tmp_path / "data", "usage", "--month", "2026-13")
    assert status == 1 and out == ""
    assert err == "error: The month '2026-13' is not a month (YYYY-MM).\n"


def test_quotas_are_set_kept_shown_and_cleared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert agnosco(capsys, data, "principals", "create", "tenant")[0] == 0
    status, _, err = agnosco(capsys, data, "quotas", "set", "nobody", "--faces", "3")
    assert status == 1 and err == "error: no principal named nobody\n"
    status, out, _ = agnosco(
        capsys, data, "quotas", "set", "tenant", "--faces", "10", "--images-per-month", "500"
    )
    assert status == 0
    assert json.loads(out) == {"Principal": "tenant", "Faces": 10, "ImagesPerMonth": 500}
    status, out, _ = agnosco(capsys, data, "quotas", "set", "tenant", "--faces", "20")
    assert json.loads(out)["ImagesPerMonth"] == 500  # the other quota kept
    status, out, _ = agnosco(capsys, data, "quotas", "show")
    assert json.loads(out) == [{"Principal": "tenant", "Faces": 20, "ImagesPerMonth": 500}]
    status, _, err = agnosco(capsys, data, "quotas", "set", "tenant")
    assert status == 1 and "needs --faces, --images-per-month or --clear" in err
    assert agnosco(capsys, data, "quotas", "set", "tenant", "--clear")[0] == 0
    assert json.loads(agnosco(capsys, data, "quotas", "show")[1]) == []

    changes = _audited(data, "agnosco:PutQuota")
    assert len(changes) == 6  # intent and outcome of each of three changes


def test_a_negative_quota_is_refused_by_the_parser_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["quotas", "set", "tenant", "--faces", "-1", "--data-dir", str(tmp_path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a quota cannot be negative: -1" in err
