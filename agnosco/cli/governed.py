"""Running a CLI change against a deployment's governance, and auditing it."""

from __future__ import annotations

import argparse
import getpass
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agnosco.cli.common import opening_state, saying_if_new

if TYPE_CHECKING:  # the deployment is imported when a command runs, not to print --help
    from agnosco.deployment import Governance
    from agnosco.governance.audit import AuditEntry, AuditLog


@contextmanager
def governance(args: argparse.Namespace) -> Iterator[Governance]:
    """The governance parts where ``--data-dir`` and ``--store`` (:func:`~agnosco.cli.common.add_state`)
    put them: the data directory, or the store's PostgreSQL database."""
    from agnosco.deployment import open_governance

    with opening_state():
        parts = open_governance(args.settings)
    try:
        with saying_if_new(args.settings, parts.new):
            yield parts
    finally:
        parts.close()


def audit_cli(audit: AuditLog, operation: str, **details: Any) -> None:
    """Record a change made from the command line (policy, principal, key, review, bulk indexing)."""
    entry: AuditEntry = {
        "time": time.time(),
        "principal": f"cli:{getpass.getuser()}",
        "access_key_id": None,
        "source": "cli",
        "operation": operation,
        "decision": "Allow",
        "reason": "local administrator (command line)",
        "parameters": details,
    }
    audit.append(entry)
