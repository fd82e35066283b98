"""What governance costs per request: policy evaluation + audit append, on vs off, in one run.

Calls DescribeCollection and SearchFaces (exact index, 1,000 faces) in-process, alternating
between the governance gate (:class:`agnosco.governance.gate.Gate`: principal lookup, policy
evaluation with obligations, audit-log append) and the bare operation (``invoke``), for two
principals: ``admin`` (one Allow statement) and a law-enforcement principal under Identifier +
PoliceMoratorium2020 searching for ``missing_persons`` at 99 (four statements, review queued).
Prints p50/p99 of each and the added latency (target <= 1 ms p50).

    python bench/governance.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from agnosco.deployment import open_deployment
from agnosco.governance.actions import Caller
from agnosco.operations import invoke
from agnosco.operations.context import FACE_MODEL, OperationContext
from agnosco.settings import Settings
from agnosco.storage.base import Collection, FaceRecord


def row(name: str, on: list[float], off: list[float]) -> str:
    p = lambda xs, q: 1000 * sorted(xs)[int(q * (len(xs) - 1))]
    added = sorted(1000 * (a - b) for a, b in zip(on, off))
    return (
        f"  {name:44s} {p(on, 0.5):8.3f} {p(on, 0.99):8.3f} {p(off, 0.5):8.3f} {p(off, 0.99):8.3f} "
        f"{statistics.median(added):8.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = open_deployment(Settings(data_dir=Path(tmp)))
        gov = service.governance
        gov.create_principal("metro-pd", organization_type="law_enforcement")
        gov.attach("Identifier", "metro-pd")
        gov.attach("PoliceMoratorium2020", "metro-pd")
        context: OperationContext = service.context
        store = context.require_store()
        store.create_collection(
            Collection(
                "bench",
                context.collection_arn("bench"),
                FACE_MODEL.version,
                time.time(),
                FACE_MODEL.descriptor.size,
            ),
            {},
        )
        rng = np.random.default_rng(1)
        faces = [
            FaceRecord(
                str(uuid.uuid4()),
                "img",
                None,
                0,
                0,
                1,
                1,
                99.0,
                rng.normal(0, 0.09, 128).astype(np.float32),
                1.0,
            )
            for _ in range(1000)
        ]
        store.add_faces("bench", faces)
        admin = Caller("admin", "AKIAADMIN", "127.0.0.1", "us-east-1", None, None)
        police = Caller("metro-pd", "AKIAPOLICE", "127.0.0.1", "us-east-1", "missing_persons", None)
        describe = {"CollectionId": "bench"}
        search = {
            "CollectionId": "bench",
            "FaceId": faces[0].face_id,
            "FaceMatchThreshold": 99.0,
            "MaxFaces": 10,
        }

        cases = [
            ("DescribeCollection, admin", admin, "DescribeCollection", describe),
            ("SearchFaces, admin", admin, "SearchFaces", search),
            ("SearchFaces, police under moratorium (review)", police, "SearchFaces", search),
        ]
        print(f"{args.calls} calls each, in-process, ms")
        print(
            f"  {'':44s} {'on p50':>8s} {'on p99':>8s} {'off p50':>8s} {'off p99':>8s} {'added':>8s}"
        )
        for name, caller, operation, request in cases:
            on, off = [], []

            def gate_call(op=operation, req=request, who=caller):  # type: ignore[no-untyped-def]
                return service.gate.call(op, req, who, context)

            def bare_call(op=operation, req=request):  # type: ignore[no-untyped-def]
                return invoke(op, req, context)

            gate_call(), bare_call()
            for _ in range(args.calls):
                start = time.perf_counter()
                gate_call()
                on.append(time.perf_counter() - start)
                start = time.perf_counter()
                bare_call()
                off.append(time.perf_counter() - start)
            print(row(name, on, off))
        records = sum(1 for _ in service.audit.records())
        print(f"audit records written: {records}; verify: {service.audit.verify().ok}")
        service.close()


if __name__ == "__main__":
    main()
