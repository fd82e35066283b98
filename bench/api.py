"""API overhead and search latency, side by side in one run.

1. SearchFacesByImage (and DetectFaces) through a real ``agnosco serve`` process with boto3 vs
   the same operation called in-process (``agnosco.operations.invoke``) on the same data,
   interleaved call by call: p50/p99 of each and of their paired difference.  That difference
   is noisy (two ~100 ms figures that vary by tens of ms) and it also counts boto3's own work,
   so each call through the server is also taken apart:

   * **client**: CPU time of the calling thread inside boto3 (building, validating,
     base64-encoding and signing the request; parsing the response);
   * **server**: the server's own time for the request minus the operation (read the body,
     SigV4, decode, validate, hand to a worker thread and back, encode), from its log line,
     matched by request id;
   * **transit**: what remains (kernel, loopback, waking the processes).

   * **operation**: the operation's time in the server (its worker thread, with the governance
     gate) minus the same operation in-process (paired, so noisy).

   The API overhead (target <= 2 ms p50) is server + transit: what the HTTP + SigV4 + JSON
   layers add to a call, as against any remote service.  The client's share is printed beside it.
   DescribeCollection through the server shows the per-request floor without model work.
2. Search-only latency (the store's exact index) at 10k and 100k stored faces, with
   synthetic, identity-clustered descriptors, in-process and through the server (SearchFaces).

    python bench/api.py [--calls 50] [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agnosco.operations import invoke
from agnosco.operations.context import FACE_MODEL, OperationContext
from agnosco.storage.base import Collection, FaceRecord
from agnosco.storage.sql_store import SQLStore

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, calls: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()  # warm up
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def interleaved(
    served: Callable[[], Served], local: Callable[[], object], calls: int
) -> tuple[list[Served], list[float]]:
    """Alternate the two calls so both see the same machine state."""
    served(), local()
    out_served, out_local = [], []
    for _ in range(calls):
        out_served.append(served())
        start = time.perf_counter()
        local()
        out_local.append(time.perf_counter() - start)
    return out_served, out_local


@dataclass
class Served:
    """One call through the server: wall and client CPU seconds, and its request id."""

    wall: float
    client_cpu: float
    request_id: str


def through_server(call: Callable[[], dict[str, Any]]) -> Callable[[], Served]:
    def timed_call() -> Served:
        cpu, start = time.thread_time(), time.perf_counter()
        response = call()
        wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
        return Served(wall, cpu, response["ResponseMetadata"]["RequestId"])

    return timed_call


LOG_LINE = re.compile(r"([0-9a-f-]{36}) \w+ \d+ ([\d.]+)ms \(operation ([\d.]+)ms\)")


def server_times(log: Path) -> dict[str, tuple[float, float]]:
    """Request id -> (request ms, operation ms), from the server's log lines."""
    times = {}
    for line in log.read_text(errors="replace").splitlines():
        match = LOG_LINE.search(line)
        if match:
            times[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return times


def p50_p99(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]


def report(name: str, served: list[Served], local: list[float], log: Path) -> None:
    """Print the end-to-end comparison and the per-call breakdown of one operation."""
    deadline = time.monotonic() + 10
    while True:  # the server logs after it has sent the response
        times = server_times(log)
        if all(s.request_id in times for s in served) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    rows: list[tuple[str, list[float]]] = [
        ("through the server (boto3)", [1000 * s.wall for s in served]),
        ("in-process (invoke)", [1000 * t for t in local]),
        ("paired difference", [1000 * (s.wall - t) for s, t in zip(served, local)]),
    ]
    matched = [s for s in served if s.request_id in times]
    server = [times[s.request_id][0] - times[s.request_id][1] for s in matched]
    transit = [1000 * s.wall - times[s.request_id][0] - 1000 * s.client_cpu for s in matched]
    rows += [
        ("  client: boto3's own CPU", [1000 * s.client_cpu for s in matched]),
        ("  server: request - operation", server),
        ("  transit: kernel, loopback, wake-ups", transit),
        (
            "  operation: in the server - in-process",
            [
                times[s.request_id][1] - 1000 * t
                for s, t in zip(served, local)
                if s.request_id in times
            ],
        ),
        ("API overhead: server + transit", [a + b for a, b in zip(server, transit)]),
    ]
    print(f"\n{name} ({len(served)} calls; {len(matched)} matched in the server log), ms")
    print(f"  {'':40s} {'p50':>8s} {'p99':>8s}")
    for label, ms in rows:
        p50, p99 = p50_p99(ms)
        print(f"  {label:40s} {p50:8.2f} {p99:8.2f}")


def synthetic_faces(n: int, rng: np.random.Generator) -> list[FaceRecord]:
    """Descriptors clustered by identity (5 photos each), at dlib-like scales."""
    identities = rng.normal(0, 0.09, size=(n // 5 + 1, 128)).astype(np.float32)
    vectors = identities[np.arange(n) // 5] + rng.normal(0, 0.025, size=(n, 128)).astype(np.float32)
    return [
        FaceRecord(
            str(uuid.uuid4()), str(uuid.uuid4()), None, 0.1, 0.1, 0.3, 0.3, 99.0, vectors[i], 1.0
        )
        for i in range(n)
    ]


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.server.conftest import start_server

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument(
        "--image", type=Path, default=ROOT.parent / "shared/data/deepface-pairs/images/img25.jpg"
    )
    args = parser.parse_args()
    image = args.image.read_bytes()
    rng = np.random.default_rng(11)

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        server = start_server(data, Path(tmp) / "server.log")
        try:
            client = server.client()
            client.create_collection(CollectionId="bench")
            client.index_faces(CollectionId="bench", Image={"Bytes": image})
            store = SQLStore.sqlite(data / "agnosco.db")
            context = OperationContext(store=store)
            request = {"CollectionId": "bench", "Image": {"Bytes": image}}
            log = Path(tmp) / "server.log"
            served, local = interleaved(
                through_server(lambda: client.search_faces_by_image(**request)),
                lambda: invoke("SearchFacesByImage", request, context),
                args.calls,
            )
            report(
                f"SearchFacesByImage ({args.image.name}, {len(image) // 1024} KB)",
                served,
                local,
                log,
            )
            served, local = interleaved(
                through_server(lambda: client.detect_faces(Image={"Bytes": image})),
                lambda: invoke("DetectFaces", {"Image": {"Bytes": image}}, context),
                args.calls,
            )
            report("DetectFaces (same image)", served, local, log)
            floor = timed(lambda: client.describe_collection(CollectionId="bench"), args.calls)
            fp50, fp99 = p50_p99([1000 * t for t in floor])
            print(
                f"\nDescribeCollection through the server (no model work, boto3 included): "
                f"p50 {fp50:.2f} ms, p99 {fp99:.2f} ms"
            )

            print("\nsearch-only latency, exact index, ms")
            print(
                f"  {'faces':>8s} {'in-process p50':>15s} {'p99':>8s} {'SearchFaces p50':>16s} {'p99':>8s} {'index load s':>13s}"
            )
            for size in args.sizes:
                collection = f"bench-{size}"
                store.create_collection(
                    Collection(
                        collection,
                        context.collection_arn(collection),
                        FACE_MODEL.version,
                        time.time(),
                        FACE_MODEL.descriptor.size,
                    ),
                    {},
                )
                faces = synthetic_faces(size, rng)
                for start in range(0, size, 10_000):
                    store.add_faces(collection, faces[start : start + 10_000])
                load_start = time.perf_counter()
                store.search(collection, faces[0].descriptor, 1, 0.6)
                load = time.perf_counter() - load_start
                probes = [faces[int(i)] for i in rng.integers(0, size, args.calls + 1)]
                probe_iter = iter(probes)
                local = timed(
                    lambda c=collection, it=probe_iter: store.search(
                        c, next(it).descriptor, 10, 0.6
                    ),
                    args.calls,
                )
                probe_iter2 = iter(probes)
                served = timed(
                    lambda c=collection, it=probe_iter2: client.search_faces(
                        CollectionId=c, FaceId=next(it).face_id, MaxFaces=10
                    ),
                    args.calls,
                )
                (lp50, lp99), (sp50, sp99) = (
                    p50_p99([1000 * t for t in local]),
                    p50_p99([1000 * t for t in served]),
                )
                print(f"  {size:8d} {lp50:15.2f} {lp99:8.2f} {sp50:16.2f} {sp99:8.2f} {load:13.2f}")
            store.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
