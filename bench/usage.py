"""What usage metering and quotas add to a call, side by side in one run: the audit append of a
record that meters nothing (a ListFaces), of one that meters an image (a DetectFaces: the upsert
of ``usage_images`` in the append's transaction), and of one under an image quota (the
reservation's transaction before, its release in the append's), interleaved call by call on one
SQLite audit database (``--store postgresql://...`` for PostgreSQL): the median of each and
their ratio to the plain append.

    python bench/usage.py [--calls 2000] [--store postgresql://...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import agnosco.operations  # noqa: F401 - loaded by any server; not timed here
from agnosco.governance.audit import AuditLog
from agnosco.governance.usage import Quotas, UsageMeter
from agnosco.storage.database import Database, PostgresDatabase, SQLiteDatabase


def _record(operation: str, images: int) -> dict[str, Any]:
    return {
        "operation": operation,
        "principal": "bench",
        "decision": "Allow",
        "reason": "bench",
        "images": [{"member": "Image", "sha256": "0" * 64, "bytes": 1}] * images,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--store", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    database: Database = (
        PostgresDatabase(args.store) if args.store else SQLiteDatabase(folder / "audit.db")
    )
    log = AuditLog(database, b"k" * 32)
    meter = UsageMeter(database, Quotas(database), clock=time.time)

    def plain() -> None:
        log.append(_record("ListFaces", 0))

    def metered() -> None:
        log.append(_record("DetectFaces", 1))

    def quota() -> None:
        reservation = meter.reserve_images("bench", 1, 10**12, time.time())
        log.append(_record("DetectFaces", 1), then=meter.releasing(reservation))

    kinds = {"plain append": plain, "metered image": metered, "metered, under a quota": quota}
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(50):  # warm up
        for call in kinds.values():
            call()
    for _ in range(args.calls):
        for name, call in kinds.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["plain append"])
    backend = "PostgreSQL" if args.store else "SQLite"
    print(f"audit append, {backend}, {args.calls} calls each, interleaved: median ms (ratio)")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"  {name:24s} {median * 1e3:7.3f} ms  ({median / base:.2f}x)")
    database.close()


if __name__ == "__main__":
    main()
