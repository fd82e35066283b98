"""The data directory is its owner's alone: 0700, and every file in it 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agnosco.storage.data_dir import prepare_data_dir
from tests.server.conftest import start_server


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _keep_umask():  # type: ignore[no-untyped-def]
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def test_a_new_data_dir_is_private(tmp_path: Path) -> None:
    data = prepare_data_dir(tmp_path / "deep" / "data")
    assert _mode(data) == 0o700
    (data / "new.db").write_bytes(b"x")  # created under the umask prepare_data_dir set
    assert _mode(data / "new.db") == 0o600


def test_an_existing_world_readable_data_dir_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "evaluations" / "2026").mkdir(parents=True)
    for name in ("agnosco.db", "audit.db", "audit.db-wal", "master.key"):
        (data / name).write_bytes(b"x")
        os.chmod(data / name, 0o644)
    (data / "evaluations" / "2026" / "report.json").write_text("{}")
    os.chmod(data / "evaluations" / "2026" / "report.json", 0o644)
    os.chmod(data, 0o755)
    prepare_data_dir(data)
    assert _mode(data) == 0o700
    assert all(
        _mode(data / n) == 0o600 for n in ("agnosco.db", "audit.db", "audit.db-wal", "master.key")
    )
    assert _mode(data / "evaluations" / "2026") == 0o700
    assert _mode(data / "evaluations" / "2026" / "report.json") == 0o600


def test_a_serving_deployment_keeps_its_files_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o755)
    server = start_server(data, tmp_path / "server.log")
    try:
        server.client().create_collection(CollectionId="c")
        server.client().list_collections()
    finally:
        server.stop()
    assert _mode(data) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"agnosco.db", "audit.db", "master.key"}
    assert {p.name: oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}
