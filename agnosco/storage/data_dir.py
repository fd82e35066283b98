"""The data directory: where a deployment keeps its state, readable by its owner alone.

It holds face descriptors (``agnosco.db``), access-key secrets encrypted under the master key,
the master key itself (``master.key``, unless it comes from the environment), the audit log
(``audit.db``) and evaluation reports: nothing another local user may read.  So the directory
is ``0700`` and every file Agnosco writes in it ``0600``; :func:`prepare_data_dir` creates it
so, and brings an existing one (made by an older version, or by hand) to those modes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
#: The process's umask while Agnosco runs: files it creates anywhere (SQLite's -wal and -shm
#: files appear later than the database) are its owner's alone.
UMASK = 0o077


class DataDirError(Exception):
    """The data directory cannot be used (a file, or not writable): one line saying which and
    what to do."""


def prepare_data_dir(data_dir: Path) -> Path:
    """Create ``data_dir`` if needed, make it and what Agnosco keeps in it private, and set the
    process umask to :data:`UMASK`; returns ``data_dir``.

    :raises DataDirError: ``data_dir`` (or a parent) is a file, or cannot be created or written.
    """
    os.umask(UMASK)
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirError(
            f"the data directory {data_dir} is a file, not a directory: "
            "name a directory with --data-dir or $AGNOSCO_DATA_DIR"
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        _restrict(data_dir, DIR_MODE)
        if not os.access(data_dir, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
        for entry in data_dir.iterdir():
            if entry.is_symlink():
                continue  # a link the deployer made (e.g. to an S3 folder) is theirs to protect
            if entry.is_file():
                _restrict(entry, FILE_MODE)
            elif entry.is_dir() and entry.name == "evaluations":
                for path in [entry, *entry.rglob("*")]:
                    _restrict(path, DIR_MODE if path.is_dir() else FILE_MODE)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in data_dir.parents if p.exists() and not p.is_dir()), data_dir)
        raise DataDirError(
            f"cannot make the data directory {data_dir}: {blocker} is a file, not a directory; "
            "name another with --data-dir or $AGNOSCO_DATA_DIR"
        ) from exc
    except OSError as exc:
        raise DataDirError(
            f"cannot use the data directory {data_dir}: {exc.strerror or exc}; make it writable "
            "by this user, or name another with --data-dir or $AGNOSCO_DATA_DIR"
        ) from exc
    return data_dir


def _restrict(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        os.chmod(path, mode)
