"""Durable state behind one interface: collections, face metadata, users, tags, keys.

Agnosco stores face *metadata* (ids, boxes, descriptors) and never face images.
:class:`~agnosco.storage.base.Store` is the interface; :mod:`.sqlite` is the embedded default,
:mod:`.postgres` the shared one (PostgreSQL with pgvector, for several server processes).
:func:`open_store` picks one from a URL.  :mod:`.database` is the small SQL layer on which
Agnosco's own tables (access keys, principals and policies, reviews, the audit log) live in the
same place: the store's PostgreSQL database, or SQLite files in the data directory.
"""

from __future__ import annotations

from pathlib import Path

from agnosco.storage.base import (
    Collection,
    FaceRecord,
    Page,
    SearchHit,
    Store,
    UserRecord,
)

__all__ = [
    "Collection", "FaceRecord", "Page", "SearchHit", "Store", "StoreURLError", "UserRecord", "open_store",
    "store_backend",
]

#: The embedded store's file in the data directory.
SQLITE_FILE = "agnosco.db"


class StoreURLError(ValueError):
    """A store URL that names no backend Agnosco has."""


def store_backend(url: str | None) -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend a store URL names (see :func:`open_store`).

    :raises StoreURLError: a URL naming no backend Agnosco has.
    """
    if url is None or url == "sqlite":
        return "sqlite"
    if url.startswith("sqlite:///"):
        if not url[len("sqlite:///"):]:
            raise StoreURLError("a sqlite:/// store URL needs a file path, e.g. sqlite:///agnosco.db")
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    scheme = url.split(":", 1)[0]  # never echo the rest: it may hold a password
    raise StoreURLError(
        f"unsupported store {scheme!r}: use 'sqlite' (the default), 'sqlite:///PATH' "
        "or 'postgresql://USER:PASSWORD@HOST:PORT/DATABASE'"
    )


def open_store(url: str | None, data_dir: Path) -> Store:
    """The store a URL names.

    * ``None`` or ``"sqlite"``: the embedded SQLite database ``DATA_DIR/agnosco.db``;
    * ``sqlite:///PATH``: a SQLite database at PATH (relative to the working directory;
      ``sqlite:////abs/path.db`` for an absolute one, as SQLAlchemy spells it);
    * ``postgresql://...`` or ``postgres://...``: PostgreSQL with pgvector (a libpq URI, e.g.
      ``postgresql://agnosco:secret@db.example:5432/agnosco``), which needs the ``postgres``
      extra (``pip install 'agnosco[postgres]'``).

    Agnosco's own tables (keys, policies, reviews, audit) follow the same URL:
    :func:`agnosco.storage.database.open_database`.
    """
    if store_backend(url) == "postgresql":
        assert url is not None
        try:
            from agnosco.storage.postgres import PostgresStore
        except ImportError as exc:
            raise StoreURLError(
                f"the PostgreSQL store needs the 'postgres' extra ({exc.name} is not installed): "
                "pip install 'agnosco[postgres]'"
            ) from exc
        return PostgresStore(url)
    from agnosco.storage.sqlite import SQLiteStore

    if url is None or url == "sqlite":
        return SQLiteStore(Path(data_dir) / SQLITE_FILE)
    return SQLiteStore(Path(url[len("sqlite:///"):]))
