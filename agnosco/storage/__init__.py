"""Durable state behind one interface: collections, face metadata, users, tags, keys.

Agnosco stores face *metadata* (ids, boxes, descriptors) and never face images.
:class:`~agnosco.storage.base.Store` is the interface and :class:`~.sql_store.SQLStore` its one
implementation, on :mod:`.database`: SQLite, the embedded default, or PostgreSQL with pgvector,
shared by several server processes.  :func:`open_store` picks one from a URL.  The rest of a
deployment's tables (access keys, principals and policies, reviews, the audit log) live in the
same place, on the same layer: the store's PostgreSQL database, or SQLite files in the data
directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agnosco.storage.base import (
    Collection,
    FaceRecord,
    Page,
    RememberedRequest,
    SearchHit,
    Store,
    UserRecord,
)

if TYPE_CHECKING:
    from agnosco.storage.database import Database
    from agnosco.storage.sql_store import SQLStore

__all__ = [
    "Collection",
    "FaceRecord",
    "Page",
    "RememberedRequest",
    "SearchHit",
    "Store",
    "StoreURLError",
    "UserRecord",
    "open_store",
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
        if not url[len("sqlite:///") :]:
            raise StoreURLError(
                "a sqlite:/// store URL needs a file path, e.g. sqlite:///agnosco.db"
            )
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    scheme = url.split(":", 1)[0]  # never echo the rest: it may hold a password
    raise StoreURLError(
        f"unsupported store {scheme!r}: use 'sqlite' (the default), 'sqlite:///PATH' "
        "or 'postgresql://USER:PASSWORD@HOST:PORT/DATABASE'"
    )


def open_store(url: str | None, data_dir: Path, *, database: Database | None = None) -> SQLStore:
    """The store a URL names.

    * ``None`` or ``"sqlite"``: the embedded SQLite database ``DATA_DIR/agnosco.db``;
    * ``sqlite:///PATH``: a SQLite database at PATH (relative to the working directory;
      ``sqlite:////abs/path.db`` for an absolute one, as SQLAlchemy spells it);
    * ``postgresql://...`` or ``postgres://...``: PostgreSQL with pgvector (a libpq URI, e.g.
      ``postgresql://agnosco:secret@db.example:5432/agnosco``), which needs the ``postgres``
      extra (``pip install 'agnosco[postgres]'``).

    ``database`` is the deployment's own (:func:`agnosco.storage.database.open_database` of the
    same URL), opened by the caller: the store then keeps its tables there, on the same
    connections, when it is the same database, and leaves it open on :meth:`~SQLStore.close`.

    :raises StoreURLError: a URL naming no backend, or PostgreSQL without the ``postgres`` extra.
    """
    from agnosco.storage.database import PostgresDatabase, SQLiteDatabase, open_database
    from agnosco.storage.sql_store import SQLStore

    if store_backend(url) == "postgresql":
        assert url is not None
        if isinstance(database, PostgresDatabase):
            return SQLStore.postgres(url, database=database)
        return SQLStore.postgres(
            url, database=open_database(url, Path(data_dir) / SQLITE_FILE), owned=True
        )
    path = (
        Path(data_dir) / SQLITE_FILE
        if url is None or url == "sqlite"
        else Path(url[len("sqlite:///") :])
    )
    if isinstance(database, SQLiteDatabase) and database.path.resolve() == path.resolve():
        return SQLStore.sqlite(path, database=database)
    return SQLStore.sqlite(path)
