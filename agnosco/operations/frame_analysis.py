"""Image analysis over a stored video's sampled frames: the one loop behind every job that runs
an image operation's model on each frame and answers what it found per frame, with the frame's
``Timestamp`` (TextDetection, LabelDetection, ContentModeration; the same shape fits
CelebrityRecognition).

A kind of job is a :data:`Prepare`: given the job's request (validated at Start), it returns the
:data:`FrameAnalyser` that turns one frame — a :class:`~agnosco.vision.image.DecodedImage`,
exactly what the image operation's model takes — into the *bodies* of that frame's results:
each the Get's result element without its ``Timestamp`` (``{"TextDetection": {...}}``).
:func:`frame_analysis_runner` does the rest: it opens and probes the video, samples it at the
kind's ``fps`` (:func:`agnosco.vision.video.sample_frames`), calls the analyser on each frame,
stamps each body with the frame's presentation time (milliseconds from the start), stores them
every :data:`BATCH_FRAMES` frames (a long video never holds its results in memory), renews the
job's lease as it goes, and returns ``VideoMetadata`` with the kind's own result members (a
model version) for the Get.  A video that is not one, or breaks off corrupt, fails the job with
a ``StatusMessage`` (the frames before the damage are kept, as for every job).  The Get side is
:func:`agnosco.operations.video_jobs.job_results`.

Results are stored and answered in time order (within a frame, in the analyser's order).  A
Get that orders or aggregates otherwise does it at Get time, with an
:class:`~agnosco.operations.video_jobs.Arrangement` passed to ``job_results``;
:func:`named_arrangement` makes the ones GetLabelDetection and GetContentModeration take,
for any kind whose result element holds one named thing with a ``Confidence`` under one member
(``{"Timestamp": t, "Label": {"Name": ..., "Confidence": ...}}``):

* ``SortBy=NAME`` (:func:`by_name`): the elements grouped by name, alphabetically, and within a
  name by confidence, highest first (between equals, in time order), as the model documents.
* ``AggregateBy=SEGMENTS`` (:func:`segments`): a name's elements on consecutive sampled frames
  become one element, ``StartTimestampMillis`` its first frame's timestamp and
  ``EndTimestampMillis`` its last's, ``DurationMillis`` the difference (0 for a thing seen on
  one sampled frame alone), ``Timestamp`` equal to ``StartTimestampMillis`` (the model's
  documentation says so), and the thing as on its most confident frame, without the members
  the model says a segment does not return (a label's ``Instances``).  Two sampled frames are
  consecutive when nothing was sampled between them: they are at most one sampling period apart
  (or one frame of a video slower than the sampling rate), plus one frame's slack, since each
  sample is the first frame at or after its time.  Segments are in order of their start (then
  of the frames' order), or by name with ``SortBy=NAME``.

GetCelebrityRecognition's ``SortBy=ID`` is read from the store instead, by a sort key on each
item (the store's ``Item.sort_key``, which FaceSearch's ``SortBy=INDEX`` uses): a kind gives
:func:`frame_analysis_runner` a ``sort_key`` of each body (else 0 is stored), and its Get reads
``job_results(..., by_key=True)``.  A kind that identifies people (CelebrityRecognition) gives a
``record``: each batch of items is handed to it before the batch is stored (its audit: no match
is kept unrecorded).

These jobs run in the job's worker (a Ray cluster, ``--ray-address``, analyses only the face
jobs' frames: :mod:`agnosco.operations.video_analysis`).

Adding a kind, with the image operation's model already built (as StartLabelDetection was:
the steps below are what ``label_detection_job.py``, ``start_label_detection.py`` and
``get_label_detection.py`` do):

1. ``label_detection_job.py``: ``def label_analysis(context, request) -> FrameAnalyser`` (read
   the request's options once; the analyser runs the model on a frame and returns
   ``[{"Label": label}, ...]``), and ``def label_detection_runner(context): return
   frame_analysis_runner(context, partial(label_analysis, context), fps=..., result={...})``;
2. ``start_label_detection.py``: ``start_job("LabelDetection", request, context)`` after checking
   what the model cannot (as :mod:`~agnosco.operations.start_text_detection` checks regions);
3. ``get_label_detection.py``: ``job_results("LabelDetection", "Labels", request, context,
   arrangement)`` cast to its ``GetLabelDetectionResponse`` (``arrangement``:
   :func:`named_arrangement` of its ``SortBy`` and ``AggregateBy``, None for time order);
4. ``operations/__init__.py``: the two operations in ``REGISTRY``
   (``Traits(Resource.NONE, changes_state=True)`` for Start, ``Traits(Resource.NONE)`` for
   Get; celebrity recognition is identification: ``compares_faces=True`` on both) and
   ``"LabelDetection": label_detection_runner`` in ``JOB_RUNNERS``; and what the audit keeps of
   the Get's results in :func:`agnosco.governance.gate._summary`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from agnosco.jobs.runtime import JobRun, Runner
from agnosco.jobs.store import Item, Job
from agnosco.operations.context import OperationContext
from agnosco.operations.video_jobs import Arrangement
from agnosco.vision.image import DecodedImage
from agnosco.vision.video import probe_video, sample_frames

#: Frames whose results are stored together.
BATCH_FRAMES = 25

#: One frame's results: the bodies of the Get's result elements, without ``Timestamp``.
FrameAnalyser = Callable[[DecodedImage], Sequence[Mapping[str, Any]]]
#: A kind of frame analysis: the job's request to what it does with each frame.
Prepare = Callable[[Mapping[str, Any]], FrameAnalyser]
#: What a Get may order a body by besides its timestamp (``Item.sort_key``).
SortKey = Callable[[Mapping[str, Any]], int]
#: Called with each batch of items before it is stored (an identification's audit).
Record = Callable[[Sequence[Item]], None]


def emit_frames(
    job: JobRun,
    frames: Iterable[tuple[int, Sequence[Mapping[str, Any]]]],
    batch_frames: int = BATCH_FRAMES,
    *,
    sort_key: SortKey | None = None,
    record: Record | None = None,
) -> None:
    """Store each frame's result bodies, stamped with its timestamp (ms), ``batch_frames``
    frames at a time; the lease is renewed every frame.  ``sort_key`` gives each body's
    ``Item.sort_key`` (else 0); ``record`` is handed each non-empty batch before it is stored.

    :raises JobLost: the job is no longer this run's."""
    key = sort_key or (lambda body: 0)

    def store(batch: list[Item]) -> None:
        if record is not None and batch:
            job.check()  # still this run's: only then are its matches recorded
            record(batch)
        job.emit(batch)

    batch: list[Item] = []
    for n, (at, bodies) in enumerate(frames, start=1):
        job.check()
        batch.extend(Item(at, {"Timestamp": at, **body}, key(body)) for body in bodies)
        if n % batch_frames == 0:
            store(batch)
            batch = []
    store(batch)


def frame_analysis_runner(
    context: OperationContext,
    prepare: Prepare,
    *,
    fps: float,
    result: Mapping[str, Any] | None = None,
    sort_key: SortKey | None = None,
    record: Callable[[JobRun], Record] | None = None,
) -> Runner:
    """The runner of a job kind that analyses the video's frames sampled at ``fps`` a second
    with ``prepare(request)``; the Get answers ``VideoMetadata`` and ``result``'s members
    besides the items.  ``sort_key`` and ``record(job)``: as :func:`emit_frames` takes them."""

    def run(job: JobRun) -> Mapping[str, Any]:
        analyse = prepare(job.request)
        with context.videos.open(job.request["Video"]) as path:
            metadata = probe_video(path)
            frames = sample_frames(path, fps)
            emit_frames(
                job,
                ((f.timestamp_ms, analyse(f.image())) for f in frames),
                sort_key=sort_key,
                record=record(job) if record is not None else None,
            )
        return {"VideoMetadata": metadata.to_shape(), **(result or {})}

    return run


#: The SortBy and AggregateBy values GetLabelDetection and GetContentModeration take.
BY_NAME, BY_TIMESTAMP = "NAME", "TIMESTAMP"
BY_TIMESTAMPS, BY_SEGMENTS = "TIMESTAMPS", "SEGMENTS"


def by_name(results: Iterable[dict[str, Any]], member: str) -> list[dict[str, Any]]:
    """The results grouped by ``result[member]["Name"]`` alphabetically, most confident first
    within a name (a stable sort: between equals, in the order given)."""
    return sorted(results, key=lambda r: (r[member]["Name"], -float(r[member]["Confidence"])))


def segments(
    results: Iterable[dict[str, Any]],
    member: str,
    *,
    period_ms: float,
    frame_ms: float,
    drop: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The results (in time order) merged into segments per name (the module docstring):
    two results of one name are in one segment when their frames are at most
    ``max(period_ms, frame_ms) + frame_ms`` apart; ``drop`` names members of the thing that a
    segment leaves out."""
    gap = max(period_ms, frame_ms) + frame_ms
    open_: dict[str, dict[str, Any]] = {}
    done: list[dict[str, Any]] = []
    for result in results:
        at = int(result["Timestamp"])
        thing = result[member]
        current = open_.get(thing["Name"])
        if current is not None and at - current["EndTimestampMillis"] <= gap:
            current["EndTimestampMillis"] = at
            if float(thing["Confidence"]) > float(current[member]["Confidence"]):
                current[member] = {k: v for k, v in thing.items() if k not in drop}
            continue
        current = {
            "Timestamp": at,
            member: {k: v for k, v in thing.items() if k not in drop},
            "StartTimestampMillis": at,
            "EndTimestampMillis": at,
        }
        open_[thing["Name"]] = current
        done.append(current)  # in order of start; ends are filled in as frames come
    for segment in done:
        segment["DurationMillis"] = segment["EndTimestampMillis"] - segment["StartTimestampMillis"]
    return done


def named_arrangement(
    member: str,
    sort_by: str,
    aggregate_by: str,
    *,
    fps: float,
    drop: Sequence[str] = (),
) -> Arrangement | None:
    """The arrangement a Get's ``SortBy`` and ``AggregateBy`` ask for, of a kind sampled at
    ``fps`` whose elements hold their thing under ``member``; None for the stored order
    (``TIMESTAMP`` and ``TIMESTAMPS``, the defaults)."""
    if sort_by == BY_TIMESTAMP and aggregate_by == BY_TIMESTAMPS:
        return None

    def arrange(job: Job, results: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
        arranged: Iterable[dict[str, Any]] = results
        if aggregate_by == BY_SEGMENTS:
            rate = ((job.result or {}).get("VideoMetadata") or {}).get("FrameRate") or 0
            arranged = segments(
                results,
                member,
                period_ms=1000.0 / fps,
                frame_ms=1000.0 / float(rate) if rate else 0.0,
                drop=drop,
            )
        return by_name(arranged, member) if sort_by == BY_NAME else list(arranged)

    return Arrangement(f"{sort_by}/{aggregate_by}", arrange)
