"""Running a CLI change against a deployment's governance, and auditing it."""

from __future__ import annotations

import argparse
import getpass
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agnosco.cli.common import opening_state
from agnosco.server.service import Governance, open_governance


@contextmanager
def governance(args: argparse.Namespace) -> Iterator[Governance]:
    """The governance parts where ``--data-dir`` and ``--store`` (:func:`~agnosco.cli.common.add_state`)
    put them: the data directory, or the store's PostgreSQL database."""
    with opening_state():
        parts = open_governance(args.data_dir, args.store)
    try:
        yield parts
    finally:
        parts.close()


def audit_cli(parts: Governance, operation: str, **details: Any) -> None:
    """Record a governance change made from the command line (policy, principal, key, review)."""
    parts.audit.append({
        "time": time.time(),
        "principal": f"cli:{getpass.getuser()}",
        "access_key_id": None,
        "source": "cli",
        "operation": operation,
        "decision": "Allow",
        "reason": "local administrator (command line)",
        "parameters": details,
    })
