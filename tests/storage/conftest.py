"""Every storage test runs against every backend: add a backend to ``BACKENDS``.

A backend is a function of the test's ``request`` and ``tmp_path`` returning an *opener*: each
call opens one more store on the same place (the same file, the same database), so tests can
reopen a store or open two side by side.

PostgreSQL runs embedded (``tests/storage/embedded.py``; the session's server and a fresh
database per test come from ``tests/conftest.py``'s ``embedded_postgres`` and ``postgres_dsn``);
it runs twice, searching exactly (collections this small always are) and through its HNSW index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agnosco.storage import pgvector_search
from agnosco.storage.base import Store
from agnosco.storage.sql_store import SQLStore

Opener = Callable[[], Store]


def _sqlite(request: pytest.FixtureRequest, tmp: Path) -> Opener:
    return lambda: SQLStore.sqlite(tmp / "agnosco.db")


def _postgres(request: pytest.FixtureRequest, tmp: Path) -> Opener:
    dsn: str = request.getfixturevalue("postgres_dsn")
    return lambda: SQLStore.postgres(dsn)


def _postgres_hnsw(request: pytest.FixtureRequest, tmp: Path) -> Opener:
    """PostgreSQL with every search through the HNSW index (normally only collections of more
    than EXACT_SEARCH_MAX faces), so the approximate path keeps the whole contract too."""
    request.getfixturevalue("monkeypatch").setattr(pgvector_search, "EXACT_SEARCH_MAX", 0)
    return _postgres(request, tmp)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Opener]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
    "postgres-hnsw": _postgres_hnsw,
}


@pytest.fixture(params=sorted(BACKENDS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens (and reopens) a store on one backend; every store opened is closed afterwards."""
    opened: list[Store] = []
    place = BACKENDS[request.param](request, tmp_path)

    def opener() -> Store:
        store = place()
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> Store:
    return open_store()
