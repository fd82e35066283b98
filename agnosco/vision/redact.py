"""Face redaction of a video: every face of every frame pixelated, before footage is released,
optionally sparing the faces of people a collection holds.

Each frame is decoded (every frame, not a sample), its faces detected with the face detector,
and each face's box — grown by :data:`MARGIN` of its size on every side, to take in hair, ears
and chin — is pixelated into blocks of :data:`BLOCKS` across (coarse enough that no face can be
recovered, unlike a blur).  So that a frame where the detector misses a face does not show it,
every box covered in the :data:`HOLD_FRAMES` frames before is covered too (a face moving slowly
stays under its recent boxes).  The output is MPEG-4 Part 2 video made by FFmpeg's own encoder
(the bundled H.264 encoder is GPL; see docs/models.md), at the source's frame rate; the source's
audio is not copied (a voice identifies too).

**Sparing** (:class:`Sparing`: an agency releasing footage may leave its own staff, enrolled in
a collection, visible).  Faces are tracked from frame to frame
(:class:`~agnosco.vision.tracking.FaceTracker`) and each face's descriptor is computed in every
frame.  Every mistake the rule can make covers a face rather than shows one:

- a face is covered unless its *track* is spared in that frame; a face the tracker has not
  confirmed yet (its first frame) is covered;
- a track becomes spared in the first frame in which its face matches the collection with a
  Similarity of at least the threshold (:attr:`Sparing.threshold`, 99 by default: a bystander
  left visible is the harm, an officer pixelated is not); the frames before stay covered;
- it stays spared while, in each following frame, its face is the same person as in the frame
  before (Similarity between the two at least :data:`CONTINUITY`), so that a tracker that hands
  a track over to another person when two cross cannot carry the sparing with it; a frame
  without the track's face for more than :data:`HOLD_FRAMES` frames, or a break in continuity,
  ends the sparing, and the track must match the collection again to be spared again;
- covering wins where regions overlap: a covered face's region, and the boxes held for the
  faces covered in the frames before, are pixelated even where they overlap a spared face —
  but for the boxes held for the spared face itself, covered until its track was matched:
  those of its track since the face has been the same person, and those of a face not yet on
  a track at its place (IoU >= :data:`RELEASED_IOU`).

:func:`count_leaks` measures the result: it runs the same detector on every frame of the output,
and every frame where it still finds a face that was not spared is a leak.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Generic, TypeVar

import av
import numpy as np

from agnosco.errors import InvalidParameterException
from agnosco.vision.detectors.base import Detection, FaceDetector
from agnosco.vision.geometry import PixelBox
from agnosco.vision.video import probe_video

#: Each face box grows by this share of its width and height on every side.
MARGIN = 0.35
#: Pixelation blocks across a face's (grown) box.
BLOCKS = 8
#: Frames a covered box keeps being covered after it was last seen; also the frames a spared
#: track may go without its face before its sparing ends.
HOLD_FRAMES = 6
#: Similarity (calibrated, 0-100) a spared track's face must keep with its face of the frame
#: before for the track to stay spared: the same person in consecutive frames measured 96.7 at
#: the 5th percentile on the shared crowd clip (99.6 at its lowest on the one-face clip), while
#: the closest other person of the previous frame measured 93.6 at most.
CONTINUITY = 95.0
#: A face detected in the output within this IoU of a spared face's box is that spared face.
SPARED_IOU = 0.3
#: A box held for a face not yet on a track is not covered when a face spared in this frame
#: lies within this IoU of it: it was that face's (or one that face now hides).
RELEASED_IOU = 0.5
#: Output bits a second per pixel of a frame (about 4 Mb/s at 640x360, 30 fps).
_BITS_PER_PIXEL_SECOND = 18

Region = tuple[int, int, int, int]
#: What a collection match is to the caller (a face id and similarity...); opaque here.
M = TypeVar("M")


@dataclass(frozen=True)
class Sparing(Generic[M]):
    """Which faces may stay visible: ``match`` answers a descriptor's best match in the
    collection at Similarity >= ``threshold`` (None: none), ``similarity`` the calibrated
    Similarity of two descriptors (for :data:`CONTINUITY`)."""

    match: Callable[[np.ndarray], M | None]
    similarity: Callable[[np.ndarray, np.ndarray], float]
    threshold: float


@dataclass(frozen=True)
class SparedTrack(Generic[M]):
    """A track's sparing starting: the frame, its time, the track's index and the match."""

    frame: int
    timestamp_ms: int
    track: int
    match: M


@dataclass(frozen=True)
class Redaction(Generic[M]):
    frames: int
    #: Frames in which the detector found at least one face.
    frames_with_faces: int
    #: Boxes pixelated in all, those held over from earlier frames included.
    regions: int
    #: Each time a track became spared (empty without sparing).
    spared: list[SparedTrack[M]] = field(default_factory=list)
    #: Per frame, the boxes of the faces left visible (empty lists without sparing).
    visible: list[list[PixelBox]] = field(default_factory=list)

    @property
    def spared_frames(self) -> int:
        """Frames in which at least one face was left visible."""
        return sum(1 for boxes in self.visible if boxes)


def _grown(box: PixelBox, width: int, height: int) -> Region:
    dx, dy = box.width * MARGIN, box.height * MARGIN
    x0 = max(0, int(box.x0 - dx))
    y0 = max(0, int(box.y0 - dy))
    x1 = min(width, int(np.ceil(box.x1 + dx)))
    y1 = min(height, int(np.ceil(box.y1 + dy)))
    return x0, y0, x1, y1


def pixelate(pixels: np.ndarray, region: Region) -> None:
    """Replace ``region`` (x0, y0, x1, y1) of ``pixels`` by :data:`BLOCKS`-across blocks of its
    mean colours, in place."""
    x0, y0, x1, y1 = region
    if x1 <= x0 or y1 <= y0:
        return
    patch = pixels[y0:y1, x0:x1]
    block = max(1, (x1 - x0) // BLOCKS, (y1 - y0) // BLOCKS)
    for by in range(0, patch.shape[0], block):
        for bx in range(0, patch.shape[1], block):
            cell = patch[by : by + block, bx : bx + block]
            cell[...] = cell.reshape(-1, 3).mean(axis=0).astype(np.uint8)


def _frames(path: Path) -> Iterator[tuple[np.ndarray, int]]:
    """Every frame's RGB pixels and presentation time (ms)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                when = round(1000 * frame.time) if frame.time is not None else 0
                yield np.ascontiguousarray(frame.to_ndarray(format="rgb24")), when
    except av.FFmpegError as exc:
        raise InvalidParameterException(f"The video is corrupt: {exc}") from exc


def _descriptors(pixels: np.ndarray, faces: Sequence[Detection]) -> np.ndarray:
    from agnosco.vision.embedding import compute_descriptors
    from agnosco.vision.landmarks import five_points, predict_landmarks

    points = [
        d.points if d.points is not None else five_points(predict_landmarks(pixels, d.box))
        for d in faces
    ]
    return compute_descriptors(pixels, points)


@dataclass
class _Track:
    descriptor: np.ndarray
    seen: int  # the last frame the track's face was in
    spared: bool
    #: The first frame of the track's current run of one person's face (each frame's face the
    #: same person as the one before, by CONTINUITY, with gaps of at most HOLD_FRAMES).
    since: int


class _Spare(Generic[M]):
    """The sparing rule of the module docstring, frame after frame."""

    def __init__(self, sparing: Sparing[M], frame_rate: float) -> None:
        from agnosco.vision.tracking import FaceTracker

        self.sparing = sparing
        self.tracker = FaceTracker(frame_rate)
        self.tracks: dict[int, _Track] = {}
        self.started: list[SparedTrack[M]] = []

    def visible(
        self, n: int, when: int, pixels: np.ndarray, faces: list[Detection]
    ) -> tuple[list[bool], list[int | None]]:
        """Which of this frame's faces stay visible, and each face's track (None: not
        confirmed yet)."""
        height, width = pixels.shape[:2]
        people = self.tracker.update(
            [d.box.to_ratio(width, height) for d in faces],
            [100.0 * d.score for d in faces],
            width,
            height,
        )
        vectors = _descriptors(pixels, faces) if faces else np.empty((0, 0))
        shown = [
            person is not None and self._spare(n, when, person, vector)
            for person, vector in zip(people, vectors, strict=True)
        ]
        return shown, people

    def _spare(self, n: int, when: int, person: int, vector: np.ndarray) -> bool:
        track = self.tracks.get(person)
        continuous = (
            track is not None
            and n - track.seen <= HOLD_FRAMES + 1
            and self.sparing.similarity(vector, track.descriptor) >= CONTINUITY
        )
        since = track.since if continuous and track is not None else n
        keep = continuous and track is not None and track.spared
        if not keep:
            match = self.sparing.match(vector)
            keep = match is not None
            if match is not None:
                self.started.append(SparedTrack(n, when, person, match))
        self.tracks[person] = _Track(vector, n, keep, since)
        return keep


def _released(
    n: int, box: PixelBox, track: int | None, runs: dict[int, int], spared: list[PixelBox]
) -> bool:
    """Whether a box held from frame ``n`` was the face a face spared now: the same track since
    its run of one person's face began (``runs``), or, for a face not yet on a track, one at
    the place of a spared face."""
    if track is not None:
        return track in runs and n >= runs[track]
    return any(box.iou(s) >= RELEASED_IOU for s in spared)


def redact_video(
    source: Path,
    target: Path,
    detector: FaceDetector,
    *,
    sparing: Sparing[M] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Redaction[M]:
    """Write ``source`` with every face pixelated (but those ``sparing`` spares) to ``target``
    (MP4); ``progress`` is told each frame's number as it is done.

    :raises InvalidParameterException, VideoTooLargeException: as
        :func:`~agnosco.vision.video.probe_video`, or a stream corrupt further in."""
    metadata = probe_video(source)
    width, height = (
        metadata.frame_width - metadata.frame_width % 2,
        metadata.frame_height - (metadata.frame_height % 2),
    )
    rate = Fraction(metadata.frame_rate).limit_denominator(1001) if metadata.frame_rate else 25
    spare = _Spare(sparing, float(rate)) if sparing is not None else None
    #: The covered faces of this frame and the HOLD_FRAMES before: (frame, face box, grown
    #: region, track).
    recent: deque[list[tuple[int, PixelBox, Region, int | None]]] = deque(maxlen=HOLD_FRAMES + 1)
    visible: list[list[PixelBox]] = []
    frames = with_faces = regions = 0
    with av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = int(width * height * float(rate) * _BITS_PER_PIXEL_SECOND / 10)
        for pixels, when in _frames(source):
            pixels = pixels[:height, :width].copy()
            faces = detector.detect(pixels)
            shown: list[bool] = [False] * len(faces)
            people: list[int | None] = [None] * len(faces)
            if spare is not None:
                shown, people = spare.visible(frames, when, pixels, faces)
            spared = [f.box for f, s in zip(faces, shown, strict=True) if s]
            #: spared track -> the first frame of its run of one person's face
            runs = (
                {p: spare.tracks[p].since for p, s in zip(people, shown) if s and p is not None}
                if spare
                else {}
            )
            recent.append(
                [
                    (frames, f.box, _grown(f.box, width, height), p)
                    for f, s, p in zip(faces, shown, people, strict=True)
                    if not s
                ]
            )
            visible.append(spared)

            covered = {
                region
                for held in list(recent)[:-1]
                for n, box, region, track in held
                if not _released(n, box, track, runs, spared)
            } | {region for _, _, region, _ in recent[-1]}
            for region in covered:
                pixelate(pixels, region)
            frames += 1
            with_faces += bool(faces)
            regions += len(covered)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
            if progress is not None:
                progress(frames)
        for packet in stream.encode(None):
            out.mux(packet)
    return Redaction(frames, with_faces, regions, spare.started if spare else [], visible)


def count_leaks(
    path: Path, detector: FaceDetector, visible: Sequence[Sequence[PixelBox]] = ()
) -> tuple[int, int]:
    """(frames, frames in which ``detector`` finds a face) of a video: on a redacted video,
    the second number is its leaks.  With ``visible`` (a :class:`Redaction`'s), a face found
    where a spared face was left (IoU >= :data:`SPARED_IOU`) is not a leak."""
    frames = leaks = 0
    for pixels, _ in _frames(path):
        spared = visible[frames] if frames < len(visible) else ()
        frames += 1
        found = detector.detect(pixels)
        leaks += any(all(f.box.iou(s) < SPARED_IOU for s in spared) for f in found)
    return frames, leaks


def visible_frames(path: Path, detector: FaceDetector, boxes: Sequence[PixelBox | None]) -> int:
    """Frames of a video in which ``detector`` finds a face at ``boxes[frame]`` (IoU >=
    :data:`SPARED_IOU`; None: nothing is looked for in that frame): how often a person was left
    visible."""
    seen = 0
    for n, (pixels, _) in enumerate(_frames(path)):
        box = boxes[n] if n < len(boxes) else None
        if box is not None and any(f.box.iou(box) >= SPARED_IOU for f in detector.detect(pixels)):
            seen += 1
    return seen


__all__ = [
    "BLOCKS",
    "CONTINUITY",
    "HOLD_FRAMES",
    "MARGIN",
    "Redaction",
    "SparedTrack",
    "Sparing",
    "count_leaks",
    "pixelate",
    "redact_video",
    "visible_frames",
]
