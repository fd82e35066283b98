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


def prepare_data_dir(data_dir: Path) -> Path:
    """Create ``data_dir`` if needed, make it and what Agnosco keeps in it private, and set the
    process umask to :data:`UMASK`; returns ``data_dir``."""
    os.umask(UMASK)
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _restrict(data_dir, DIR_MODE)
    for entry in data_dir.iterdir():
        if entry.is_symlink():
            continue  # a link the deployer made (e.g. to an S3 folder) is theirs to protect
        if entry.is_file():
            _restrict(entry, FILE_MODE)
        elif entry.is_dir() and entry.name == "evaluations":
            for path in [entry, *entry.rglob("*")]:
                _restrict(path, DIR_MODE if path.is_dir() else FILE_MODE)
    return data_dir


def _restrict(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        os.chmod(path, mode)
