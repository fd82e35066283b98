"""``open_store``: a store URL to a backend (``agnosco serve --store``, ``$AGNOSCO_STORE``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agnosco import storage
from agnosco.storage.database import POSTGRESQL, SQLiteDatabase


@pytest.mark.parametrize("url", [None, "sqlite"])
def test_the_default_is_the_data_directorys_sqlite_file(tmp_path: Path, url: str | None) -> None:
    store = storage.open_store(url, tmp_path)
    try:
        assert (
            isinstance(store.database, SQLiteDatabase)
            and store.database.path == tmp_path / "agnosco.db"
        )
    finally:
        store.close()


def test_a_sqlite_url_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = storage.open_store("sqlite:///rel/faces.db", tmp_path / "data")
    absolute = storage.open_store(
        f"sqlite:///{tmp_path}/abs.db", tmp_path / "data"
    )  # sqlite:////tmp/...
    try:
        assert (
            relative.database.path == Path("rel/faces.db")
            and (tmp_path / "rel" / "faces.db").is_file()
        )
        assert absolute.database.path == tmp_path / "abs.db" and (tmp_path / "abs.db").is_file()
    finally:
        relative.close()
        absolute.close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgres_url_opens_postgres(postgres_dsn: str, scheme: str) -> None:
    store = storage.open_store(scheme + postgres_dsn.removeprefix("postgresql"), Path("unused"))
    try:
        assert store.database.dialect == POSTGRESQL
        assert store.list_collections(None, 10).items == []
    finally:
        store.close()


@pytest.mark.parametrize(
    "url",
    ["mysql://root:hunter2@db/agnosco", "hunter2", "sqlite:///", "", "postgresql+psycopg://x"],
)
def test_anything_else_is_refused_without_echoing_secrets(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="sqlite") as excinfo:
        storage.open_store(url, tmp_path)
    assert "hunter2" not in str(excinfo.value) or url == "hunter2"


@pytest.mark.parametrize("url", [None, "sqlite", "postgres"])
def test_the_store_shares_the_deployments_database(
    tmp_path: Path, url: str | None, request: pytest.FixtureRequest
) -> None:
    """Faces, keys, policies and reviews on one set of connections: the deployment's database is
    used (not opened again) when it is the store's, and stays open when the store closes."""
    from agnosco.storage.database import open_database

    if url == "postgres":
        url = request.getfixturevalue("postgres_dsn")
    database = open_database(url, tmp_path / "agnosco.db")
    try:
        store = storage.open_store(url, tmp_path, database=database)
        assert store.database is database
        store.close()
        with database.read() as tx:
            assert tx.table_exists("faces") and tx.table_exists("agnosco_schema")
    finally:
        database.close()
    elsewhere = storage.open_store(
        f"sqlite:///{tmp_path}/elsewhere.db", tmp_path, database=database
    )
    try:
        assert (
            elsewhere.database is not database and elsewhere.list_collections(None, 1).items == []
        )
    finally:
        elsewhere.close()
