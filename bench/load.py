"""N concurrent boto3 clients against a real ``agnosco serve`` for a bounded time, on a mix of
operations: throughput, p50/p99 per operation and errors by code; then the audit log must
verify and hold one record per acknowledged call.

Each client is a thread with its own boto3 client (retries off, so every answer is seen),
calling in a loop an operation drawn from the mix (seeded): cheap calls (DescribeCollection,
ListFaces, ListCollections) and image calls (DetectFaces, SearchFacesByImage, IndexFaces) on
the shared portraits.  The image calls alone keep the 2 cores busy; the question is whether
the cheap ones still answer quickly (they run on their own pool: ``agnosco/server/app.py``)
and whether overload shows as ``ThrottlingException`` only.

Target (issue "Hardening"): with 50 clients, p50 of DescribeCollection and ListFaces <= 50 ms
while image calls saturate the CPUs, no error other than throttling, and ``audit verify``
passing with one record per acknowledged call.

    python bench/load.py [--clients 50] [--seconds 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: operation -> share of calls
MIX = {
    "DescribeCollection": 0.30,
    "ListFaces": 0.20,
    "ListCollections": 0.10,
    "DetectFaces": 0.15,
    "SearchFacesByImage": 0.15,
    "IndexFaces": 0.10,
}
IMAGES = ("img1.jpg", "img2.jpg", "img3.jpg", "img13.jpg", "img18.jpg", "couple.jpg")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    from tests.governance.test_gate_e2e import agnosco
    from tests.server.conftest import start_server

    images = [(args.data / "deepface-pairs" / "images" / n).read_bytes() for n in IMAGES]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        server = start_server(data, Path(tmp) / "server.log")
        try:
            admin = server.client()
            admin.create_collection(CollectionId="load")
            for i, image in enumerate(images[:3]):
                admin.index_faces(
                    CollectionId="load", Image={"Bytes": image}, ExternalImageId=f"seed{i}"
                )
            acks, started = run_clients(server, images, args)
        finally:
            server.stop()
        verified = agnosco("audit", "verify", "--data-dir", str(data), check=False)
        exported = agnosco("audit", "export", "--data-dir", str(data))
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    report(acks, started, records, verified.stdout.strip() or verified.stderr.strip(), args)


def run_clients(
    server: Any, images: list[bytes], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], float]:
    acks: list[dict[str, Any]] = []
    lock = threading.Lock()
    go = threading.Barrier(args.clients + 1)
    deadline = [0.0]

    def client_loop(n: int) -> None:
        rng = random.Random(args.seed * 1000 + n)
        client = server.client(max_pool_connections=2)  # retries are off (tests/server/conftest.py)
        go.wait()
        i = 0
        while time.monotonic() < deadline[0]:
            operation = rng.choices(list(MIX), weights=list(MIX.values()))[0]
            image = {"Bytes": images[rng.randrange(len(images))]}
            params: dict[str, Any] = {
                "DescribeCollection": {"CollectionId": "load"},
                "ListFaces": {"CollectionId": "load", "MaxResults": 20},
                "ListCollections": {},
                "DetectFaces": {"Image": image},
                "SearchFacesByImage": {
                    "CollectionId": "load",
                    "Image": image,
                    "FaceMatchThreshold": 90,
                },
                "IndexFaces": {
                    "CollectionId": "load",
                    "Image": image,
                    "ExternalImageId": f"c{n}-{i}",
                    "MaxFaces": 1,
                },
            }[operation]
            start = time.perf_counter()
            try:
                response = getattr(client, xform_name(operation))(**params)
                code, request_id = "ok", response["ResponseMetadata"]["RequestId"]
            except ClientError as error:
                code, request_id = (
                    error.response["Error"]["Code"],
                    error.response["ResponseMetadata"]["RequestId"],
                )
            elapsed = time.perf_counter() - start
            with lock:
                acks.append(
                    {
                        "operation": operation,
                        "code": code,
                        "request_id": request_id,
                        "seconds": elapsed,
                    }
                )
            i += 1

    threads = [
        threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(args.clients)
    ]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + args.seconds
    started = time.monotonic()
    go.wait()
    for t in threads:
        t.join(timeout=args.seconds + 600)
    return acks, started


def report(
    acks: list[dict[str, Any]],
    started: float,
    records: list[dict[str, Any]],
    verified: str,
    args: argparse.Namespace,
) -> None:
    print(
        f"{args.clients} clients, {args.seconds:g} s, seed {args.seed}: {len(acks)} calls answered, "
        f"{len(acks) / args.seconds:.1f} calls/s"
    )
    by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in acks:
        by_op[a["operation"]].append(a)
    print(
        f"  {'operation':20s} {'calls':>6s} {'ok':>6s} {'calls/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}  errors"
    )
    for operation in MIX:
        calls = by_op.get(operation, [])
        ok = [a["seconds"] for a in calls if a["code"] == "ok"]
        errors = Counter(a["code"] for a in calls if a["code"] != "ok")
        p50 = 1000 * statistics.median(ok) if ok else float("nan")
        p99 = 1000 * statistics.quantiles(ok, n=100)[98] if len(ok) >= 2 else float("nan")
        print(
            f"  {operation:20s} {len(calls):6d} {len(ok):6d} {len(calls) / args.seconds:8.1f} {p50:8.1f} {p99:8.1f}  "
            + (", ".join(f"{c} {n}" for c, n in errors.items()) or "-")
        )
    unexpected = Counter(a["code"] for a in acks if a["code"] not in ("ok", "ThrottlingException"))
    outcomes = {
        r["request_id"]: r for r in records if r.get("request_id") and r.get("phase") != "intent"
    }
    missing = [a for a in acks if a["request_id"] not in outcomes]
    wrong = [
        a
        for a in acks
        if a["request_id"] in outcomes
        and outcomes[a["request_id"]].get("error") != (None if a["code"] == "ok" else a["code"])
    ]
    print(f"  errors other than throttling: {dict(unexpected) or 'none'}")
    print(
        f"  audit: {verified}; acknowledged calls without their record: {len(missing)}; "
        f"records disagreeing with the answer: {len(wrong)}"
    )
    cheap = [
        a["seconds"]
        for a in acks
        if a["operation"] in ("DescribeCollection", "ListFaces") and a["code"] == "ok"
    ]
    if cheap:
        p50 = 1000 * statistics.median(cheap)
        print(
            f"  target: p50 of DescribeCollection and ListFaces {p50:.1f} ms (<= 50 ms: "
            f"{'met' if p50 <= 50 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
