"""The faces of a video's sampled frames, in time order: analysed here, or in time chunks on a
Ray cluster (``agnosco serve --ray-address``), the way bulk indexing runs on one.

:func:`analysed_frames` is what the FaceDetection and FaceSearch runners iterate over: each
sampled frame (:func:`agnosco.vision.video.sample_frames`) with its faces, detected — and for a
search described — by the face pipeline.  Tracking, collection search and storing results stay
with the runner, in the job's worker, in timestamp order, so ``Person.Index`` is numbered as it
is without a cluster and the job's results are the same.

On a cluster.  A video longer than one chunk (:attr:`VideoCluster.chunk_seconds`, 60 s unless
``--ray-chunk-seconds`` says otherwise) is cut into chunks of that length, each a Ray task
(:func:`analyse_chunk`, one CPU): it decodes from the key frame before its start and analyses
the frames sampled in its span — the very frames, at the very timestamps, that sampling the
whole video gives (chunk boundaries are sampling boundaries).  The worker receives the chunks'
frames in order (a chunk that finishes early waits for the ones before it) and goes on with
them as with local frames.

The Ray driver is a child process of the server's (one per job), never the server itself: a
Ray driver whose cluster goes away ends its own process, which must not be the server.  The job
worker waits on it renewing the job's lease.  Nothing about the cluster can hang or kill a job
worker: a cluster that cannot be reached within :data:`CONNECT_SECONDS`, a task that fails
after Ray's retries, a driver that dies, or no chunk finishing within :data:`STALL_SECONDS`
fails the job with a ``StatusMessage`` saying so (the job is not run again locally: the caller
sees that the cluster failed, and may start it again).  A job lost by its worker (lease taken
over, server stopping) ends its driver, whose tasks Ray then cancels.

Where tasks read the video.  When every node of the cluster is this machine, tasks open the
file the job worker holds; otherwise the video's bytes go once through Ray's object store and
each task writes them to a temporary file of its node (removed after the chunk).  Every node
must have the same Agnosco installed, as for bulk indexing (tasks import it and build the same
face pipeline, with the job worker's detector).
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agnosco.errors import InternalServerError, ServiceError
from agnosco.vision.pipeline import FaceAnalysis, FaceAnalyzer
from agnosco.vision.video import SAMPLE_FPS, VideoMetadata, sample_frames

if TYPE_CHECKING:
    from agnosco.operations.context import OperationContext

log = logging.getLogger("agnosco.jobs")

#: A video longer than this is cut into chunks of this length (seconds) on a cluster.
DEFAULT_CHUNK_SECONDS = 60.0
#: The driver must have joined the cluster this long after it started (seconds).
CONNECT_SECONDS = 60.0
#: A job whose next chunk has not finished this long after the last one (or after the driver
#: connected) fails: the cluster is stuck, or has no CPU to give (seconds).
STALL_SECONDS = 900.0
#: Chunks in flight per CPU of the cluster.
READ_AHEAD = 2
#: How often a waiting worker wakes to renew its lease and look at its driver (seconds).
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class AnalysedFrame:
    """A sampled frame's timestamp (ms), the video's size, and the frame's faces (largest
    first; :class:`~agnosco.vision.pipeline.DescribedFace` when described)."""

    timestamp_ms: int
    width: int
    height: int
    faces: tuple[FaceAnalysis, ...]


@dataclass(frozen=True)
class Chunk:
    """The frames sampled in ``[start_ms, end_ms)`` (``end_ms`` None: to the end)."""

    start_ms: float
    end_ms: float | None


@dataclass(frozen=True)
class ChunkResult:
    """A chunk's analysed frames, and the error that stopped its decoding (a corrupt stream:
    the frames before the damage are kept, as without a cluster)."""

    frames: tuple[AnalysedFrame, ...]
    error: ServiceError | None = None


@dataclass(frozen=True)
class VideoCluster:
    """The Ray cluster long videos are analysed on (``--ray-address``)."""

    address: str
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    connect_seconds: float = CONNECT_SECONDS
    stall_seconds: float = STALL_SECONDS

    def chunks(self, metadata: VideoMetadata, fps: float = SAMPLE_FPS) -> list[Chunk]:
        """The video's chunks, one when it is no longer than a chunk (then it is analysed
        here).  Boundaries are sampling boundaries (multiples of ``1000 / fps`` ms); the last
        chunk runs to the end of the stream, whatever the container says its duration is."""
        step = 1000.0 / fps
        steps = max(1, round(self.chunk_seconds * 1000 / step))
        length = steps * step
        count = max(1, math.ceil(metadata.duration_ms / length))
        return [
            Chunk(n * length, (n + 1) * length if n + 1 < count else None) for n in range(count)
        ]


def analysed_frames(
    context: OperationContext,
    path: Path,
    metadata: VideoMetadata,
    check: Callable[[], None],
    *,
    describe: bool = False,
    attributes: bool = False,
) -> Iterator[AnalysedFrame]:
    """Every sampled frame of the video at ``path`` with its faces, in time order, analysed
    here or (a long video, with a cluster) on the cluster; ``check`` is called often (the
    job's lease renewal: it raises when the job is no longer the worker's).

    :raises ServiceError: the video is corrupt, or the cluster failed (a message saying how).
    """
    cluster = context.video_cluster
    chunks = cluster.chunks(metadata) if cluster is not None else []
    if cluster is None or len(chunks) < 2:
        analyzer = context.analyzer
        for frame in sample_frames(path):
            check()
            image = frame.image()
            faces: Sequence[FaceAnalysis] = (
                analyzer.describe(image, attributes=attributes)
                if describe
                else analyzer.analyze(image, attributes=attributes)
            )
            yield AnalysedFrame(frame.timestamp_ms, frame.width, frame.height, tuple(faces))
        return
    work = Work(str(path), chunks, describe, attributes, context.analyzer.detector.name)
    yield from _on_cluster(cluster, work, check)


# --- the Ray task --------------------------------------------------------------------------

_analyzers: dict[str, FaceAnalyzer] = {}
_analyzers_lock = threading.Lock()


def _analyzer(detector: str) -> FaceAnalyzer:
    with _analyzers_lock:
        if detector not in _analyzers:
            _analyzers[detector] = FaceAnalyzer(detector)
        return _analyzers[detector]


def analyse_chunk(
    video: str | list[Any],
    chunk: Chunk,
    describe: bool,
    attributes: bool,
    detector: str,
) -> ChunkResult:
    """A chunk's sampled frames and their faces (the Ray task; a pure function of the video).

    ``video`` is the file's path on this node, or a one-element list holding the ObjectRef of
    its bytes (in a list so that Ray hands the task the reference, which it reads itself)."""
    if isinstance(video, str):
        return _analyse(Path(video), chunk, describe, attributes, detector)
    import ray

    data = ray.get(video[0])
    with tempfile.NamedTemporaryFile(prefix="agnosco-chunk-", suffix=".mp4") as copy:
        copy.write(data)
        copy.flush()
        del data
        return _analyse(Path(copy.name), chunk, describe, attributes, detector)


def _analyse(
    path: Path, chunk: Chunk, describe: bool, attributes: bool, detector: str
) -> ChunkResult:
    analyzer = _analyzer(detector)
    frames: list[AnalysedFrame] = []
    try:
        for frame in sample_frames(path, start_ms=chunk.start_ms, end_ms=chunk.end_ms):
            image = frame.image()
            faces: Sequence[FaceAnalysis] = (
                analyzer.describe(image, attributes=attributes)
                if describe
                else analyzer.analyze(image, attributes=attributes)
            )
            frames.append(
                AnalysedFrame(frame.timestamp_ms, frame.width, frame.height, tuple(faces))
            )
    except ServiceError as error:
        return ChunkResult(tuple(frames), error)
    return ChunkResult(tuple(frames))


# --- the driver, a child process of the server -----------------------------------------------


@dataclass(frozen=True)
class Work:
    path: str
    chunks: list[Chunk]
    describe: bool
    attributes: bool
    detector: str


def drive(address: str, work: Work, conn: Any, parent: int) -> None:
    """The driver process: join the cluster, run the chunks, send each result as it finishes.

    Messages: ``("connected", cpus)``, ``("chunk", n, ChunkResult)``, ``("done",)``, or
    ``("failed", message)``."""
    _exit_with_parent(parent)
    try:
        import ray
    except ImportError:
        conn.send(("failed", "Ray is not installed on the server (pip install 'agnosco[ray]')."))
        return
    try:
        ray.init(
            address=address, include_dashboard=False, log_to_driver=False, configure_logging=False
        )
    except Exception as exc:  # noqa: BLE001 - told to the job, whatever Ray raised
        conn.send(("failed", f"could not join the cluster: {_first_line(exc)}"))
        return
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        conn.send(("connected", cpus))
        video: str | list[Any] = work.path
        if not _cluster_is_this_machine(ray):
            video = [ray.put(Path(work.path).read_bytes())]
        task = ray.remote(num_cpus=1, max_retries=2)(analyse_chunk)
        pending: dict[Any, int] = {}
        submitted = 0
        while submitted < len(work.chunks) or pending:
            while submitted < len(work.chunks) and len(pending) < cpus * READ_AHEAD:
                chunk = work.chunks[submitted]
                ref = task.remote(video, chunk, work.describe, work.attributes, work.detector)
                pending[ref] = submitted
                submitted += 1
            ready, _ = ray.wait(list(pending), num_returns=1)
            n = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayError as exc:  # failed even after Ray's retries
                cause = getattr(exc, "cause", None)  # a task's own exception, else Ray's
                reason = _first_line(cause if isinstance(cause, BaseException) else exc)
                conn.send(("failed", f"the task of chunk {n + 1} failed: {reason}"))
                return
            conn.send(("chunk", n, result))
        conn.send(("done",))
    except Exception as exc:  # noqa: BLE001 - told to the job, whatever went wrong
        conn.send(("failed", _first_line(exc)))
    finally:
        ray.shutdown()


def _cluster_is_this_machine(ray: Any) -> bool:
    here = ray.util.get_node_ip_address()
    return all(node["NodeManagerAddress"] == here for node in ray.nodes() if node["Alive"])


def _first_line(exc: BaseException) -> str:
    """``Type: the first line of its message``, without the terminal colours Ray adds."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _exit_with_parent(parent: int) -> None:
    """End this process within a second of its parent's death (a server killed with SIGKILL
    leaves no driver, and so no tasks, behind)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _on_cluster(
    cluster: VideoCluster, work: Work, check: Callable[[], None]
) -> Iterator[AnalysedFrame]:
    def failure(reason: str) -> ServiceError:
        return InternalServerError(
            f"The video could not be analysed on the Ray cluster at {cluster.address}: {reason}"
        )

    # A new interpreter (agnosco.operations.video_driver), not multiprocessing: nothing of the
    # server's process (its threads, its __main__) is copied or imported again.  The work goes
    # in on stdin, messages come back on a pipe of their own (Ray writes to stdout and stderr).
    read_end, write_end = os.pipe()
    try:
        driver = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agnosco.operations.video_driver",
                str(write_end),
                str(os.getpid()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            pass_fds=(write_end,),
        )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    receiver = Connection(read_end, writable=False)
    try:
        assert driver.stdin is not None
        try:
            driver.stdin.write(pickle.dumps((cluster.address, work)))
            driver.stdin.close()
        except BrokenPipeError:  # it died at once: told below, as any end of the driver
            pass
        started = last = time.monotonic()
        connected = False
        finished: dict[int, ChunkResult] = {}
        following = 0  # the next chunk to hand on
        while following < len(work.chunks):
            check()
            if not receiver.poll(POLL_SECONDS):
                waited = time.monotonic() - last
                if driver.poll() is not None and not receiver.poll():
                    raise failure(f"its driver process ended (exit code {driver.returncode}).")
                if not connected and time.monotonic() - started > cluster.connect_seconds:
                    raise failure(f"could not join it in {cluster.connect_seconds:g} s.")
                if connected and waited > cluster.stall_seconds:
                    raise failure(f"no chunk of the video finished in {cluster.stall_seconds:g} s.")
                continue
            try:
                message = receiver.recv()
            except (EOFError, OSError):
                code = _wait(driver, 5)
                raise failure(f"its driver process ended (exit code {code}).") from None
            last = time.monotonic()
            if message[0] == "failed":
                raise failure(message[1])
            if message[0] == "connected":
                connected = True
                log.info(
                    "video of %d chunks on the Ray cluster at %s (%d CPUs)",
                    len(work.chunks),
                    cluster.address,
                    message[1],
                )
            elif message[0] == "chunk":
                finished[message[1]] = message[2]
                while following in finished:
                    result = finished.pop(following)
                    following += 1
                    for frame in result.frames:
                        check()
                        yield frame
                    if result.error is not None:
                        raise result.error
        _wait(driver, 10)  # it leaves the cluster and ends by itself
    finally:
        if driver.poll() is None:
            driver.terminate()  # its Ray tasks are cancelled with it
            if _wait(driver, 10) is None:
                driver.kill()
                _wait(driver, 5)
        receiver.close()


def _wait(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def check_cluster_address(address: str, timeout: float = 5.0) -> None:
    """That Ray is installed and (for a ``host:port`` or ``ray://host:port`` address) the
    cluster's port answers: what ``agnosco serve --ray-address`` checks on start.

    :raises ValueError: with a message saying what is wrong."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise ValueError(
            "--ray-address: Ray is not installed (pip install 'agnosco[ray]')"
        ) from exc
    if address == "local":
        raise ValueError(
            "--ray-address: the server joins a running cluster (start one with `ray start "
            "--head`, then give its address, or `auto` on one of its nodes)"
        )
    if address == "auto":
        return  # Ray finds the cluster of this machine; a job fails with a message if none
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--ray-address: {address!r} is not `auto`, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ValueError(
            f"--ray-address: the Ray cluster at {address} cannot be reached: {exc}"
        ) from exc
