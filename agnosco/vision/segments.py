"""Segments of a stored video: shots, and the technical cues classical analysis finds honestly.

One decoding pass (:func:`agnosco.vision.video.decode_frames`, every frame, not a sample: segment
boundaries are frame-accurate) feeds three detectors:

* **Shots** — PySceneDetect's ``AdaptiveDetector`` (BSD-3-Clause; the detector its command line
  uses by default), with its own defaults: a frame's content score (the change in hue,
  saturation and luma from the frame before, as its ``ContentDetector`` measures it) must be at
  least 15 and at least 3 times the mean score of the two frames either side, so fast camera
  motion, which changes every frame, is not a cut; no two cuts less than 15 frames apart.  It is
  fed frames decoded here, scaled down to :data:`ANALYSIS_WIDTH` (the width its own scene manager
  scales large frames towards).  A cut's confidence comes from the lesser of its two margins,
  ``m = min(1 - 3 / ratio, 1 - 15 / score)``: ``50 + 50 * m`` (50 at the thresholds, towards 100
  for the starkest cuts); the start and end of the video are certain (100).  A shot's confidence
  is the lesser of its two boundaries'.  ``MinSegmentConfidence`` drops the cuts below it, so
  shots stay contiguous and cover the whole video.  This is a documented mapping of the
  detector's scores, not a calibrated probability.
* **BlackFrames** — Rekognition's definition: a pixel is black when its luma is at most
  ``minimum_luminance + MaxPixelThreshold * luminance_range`` (0 and 255 for full-range video,
  16 and 219 for limited range), a frame is black when at least ``MinCoveragePercentage`` of its
  pixels are; consecutive black frames are one segment.  Luma is the video's own Y plane at full
  resolution (BT.709 luma for HD video, which is what its Y carries).  Confidence: the mean
  percentage of black pixels in the segment's frames.
* **ColorBars** — the seven bars of the SMPTE and EBU test patterns, found by their colour
  pattern: in each of :data:`BAR_ROWS` rows of the upper part of the frame, seven adjacent
  uniform runs of about equal width coloured white, yellow, cyan, green, magenta, red and blue,
  in that order, together at least 40% of the width (SMPTE ECR 1-1978 bars, the HD bars of
  SMPTE RP 219 between their grey sides, EBU 75% and 100% bars).  A frame shows bars when
  at least two thirds of those rows do; confidence is the mean share of matching rows.

The other cue types of the model (``EndCredits``, ``OpeningCredits``, ``StudioLogo``,
``Slate``, ``Content``) need models of text, logos and programme structure that Agnosco does
not have: they are never reported.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from av.video.reformatter import VideoReformatter

from agnosco.vision.video import VideoMetadata, decode_frames

SHOT = "SHOT"
TECHNICAL_CUE = "TECHNICAL_CUE"
BLACK_FRAMES = "BlackFrames"
COLOR_BARS = "ColorBars"

#: What SelectedSegmentTypes names as each type's ModelVersion.
MODEL_VERSIONS = {
    SHOT: f"PySceneDetect {version('scenedetect')} AdaptiveDetector",
    TECHNICAL_CUE: "Agnosco 1.0 (BlackFrames, ColorBars)",
}
#: Rekognition's defaults (StartSegmentDetectionFilters) and the model's minimum confidence.
DEFAULT_MIN_CONFIDENCE = 50.0
DEFAULT_MAX_PIXEL_THRESHOLD = 0.2
DEFAULT_MIN_COVERAGE = 99.0
#: Width of the frames the shot and colour-bar detectors see (at most; PySceneDetect's own
#: scene manager scales large frames towards it).
ANALYSIS_WIDTH = 256
#: PySceneDetect's AdaptiveDetector defaults: the ratio of a frame's score to its neighbours',
#: the least score of a cut, the frames either side the ratio is taken over.
ADAPTIVE_THRESHOLD = 3.0
MIN_CONTENT_SCORE = 15.0
WINDOW_FRAMES = 2
MIN_SHOT_FRAMES = 15
#: Heights (fractions of the frame) of the rows looked at for colour bars.
BAR_ROWS = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55)
#: Rows that must cross the bars for a frame to show them (two thirds).
BAR_FRAME_ROWS = 4
_YUV8 = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}


@dataclass(frozen=True)
class SegmentOptions:
    """What to detect and the filters of StartSegmentDetection (Rekognition's defaults)."""

    shots: bool = True
    cues: bool = True
    shot_min_confidence: float = DEFAULT_MIN_CONFIDENCE
    cue_min_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_pixel_threshold: float = DEFAULT_MAX_PIXEL_THRESHOLD
    min_coverage: float = DEFAULT_MIN_COVERAGE


@dataclass(frozen=True)
class Segment:
    """A segment: frames ``start_frame`` up to (not including) ``end_frame``, shown from
    ``start_ms`` to ``end_ms``."""

    type: str  # SHOT or TECHNICAL_CUE
    start_frame: int
    end_frame: int
    start_ms: int
    end_ms: int
    confidence: float
    cue: str | None = None  # BlackFrames or ColorBars
    index: int | None = None  # a shot's index, from 0


# timecodes -----------------------------------------------------------------------------------


def is_drop_frame(rate: Fraction | float) -> bool:
    """29.97 and 59.94 frames a second are counted in drop-frame timecode."""
    return any(abs(float(rate) - n * 1000 / 1001) < 0.01 for n in (30, 60))


def smpte_timecode(frames: int, rate: Fraction | float) -> str:
    """``frames`` from the start as SMPTE timecode: ``HH:MM:SS:FF``, or ``HH:MM:SS;FF`` in
    drop-frame for 29.97 and 59.94 (frame numbers 0 and 1 — 0 to 3 at 59.94 — are skipped at
    the start of every minute except each tenth).  Other rates count their nominal rate (the
    rounded one: 24 for 23.976)."""
    nominal = max(1, round(float(rate)))
    drop = is_drop_frame(rate)
    if drop:
        skipped = 2 * nominal // 30  # 2 at 29.97, 4 at 59.94
        per_ten = 10 * 60 * nominal - 9 * skipped
        per_minute = 60 * nominal - skipped
        tens, rest = divmod(frames, per_ten)
        frames += 9 * skipped * tens
        if rest > skipped:
            frames += skipped * ((rest - skipped) // per_minute)
    ff = frames % nominal
    seconds = frames // nominal
    hh, mm, ss = seconds // 3600 % 24, seconds // 60 % 60, seconds % 60
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"


# detectors -----------------------------------------------------------------------------------


def _luma(frame: Any) -> tuple[np.ndarray, bool]:
    """The frame's Y plane (8 bits) and whether it is full range."""
    name = frame.format.name
    full = name.startswith("yuvj") or int(getattr(frame, "color_range", 0) or 0) == 2
    if name not in _YUV8:
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width], full


def black_coverage(frame: Any, max_pixel_threshold: float) -> float:
    """Percentage of the frame's pixels that are black by Rekognition's definition."""
    y, full = _luma(frame)
    low, span = (0.0, 255.0) if full else (16.0, 219.0)
    limit = low + max_pixel_threshold * span
    return 100.0 * np.count_nonzero(y <= limit) / y.size


#: A column's colour class by which channels are on (red 4, green 2, blue 1): the bars' seven,
#: 1 to 7 in their order (white, yellow, cyan, green, magenta, red, blue); black is 0.
_CLASS_OF_CODE = np.array([0, 7, 4, 3, 6, 5, 2, 1])
_BARS = np.arange(1, 8)


def _column_classes(row: np.ndarray) -> np.ndarray:
    """Each column's colour class: 1-7 for white, yellow, cyan, green, magenta, red, blue (each
    channel clearly on, at least 0.6 of the brightest, or off, at most 0.35 of it; white at
    least 150 bright, so the grey sides of HD bars are not white), else 0."""
    hi = row.max(axis=1, keepdims=True)
    on = row >= 0.6 * hi
    clear = np.all(on | (row <= 0.35 * hi), axis=1) & (hi[:, 0] >= 64)
    code = on[:, 0] * 4 + on[:, 1] * 2 + on[:, 2]
    classes = np.where(clear, _CLASS_OF_CODE[code], 0)
    classes[(classes == 1) & (hi[:, 0] < 150)] = 0
    return classes


def row_has_bars(row: np.ndarray) -> bool:
    """Does this row of RGB pixels cross the seven colour bars, in order: seven adjacent runs of
    columns, each of one bar's colour, uniform (no channel's spread over 20), of about equal
    width (within 40% of their mean; narrower runs, a bar's blurred edge, are skipped), together
    at least 40% of the row?"""
    width = len(row)
    classes = _column_classes(row)
    starts = np.flatnonzero(np.diff(classes, prepend=-1))
    widths = np.diff(np.append(starts, width))
    keep = (widths >= max(2, width // 50)) & (classes[starts] > 0)
    if np.count_nonzero(keep) < len(_BARS):
        return False
    sums = np.add.reduceat(row, starts, axis=0)
    squares = np.add.reduceat(row * row, starts, axis=0)
    means = sums / widths[:, None]
    spread = np.sqrt(np.maximum(squares / widths[:, None] - means * means, 0)).max(axis=1)
    keep &= spread <= 20
    kinds, sizes = classes[starts][keep], widths[keep].astype(np.float64)
    for i in range(len(kinds) - len(_BARS) + 1):
        if np.array_equal(kinds[i : i + len(_BARS)], _BARS):
            bars = sizes[i : i + len(_BARS)]
            mean = float(bars.mean())
            if bars.sum() >= 0.4 * width and bool(np.all(np.abs(bars - mean) <= 0.4 * mean)):
                return True
    return False


def bar_share(rgb: np.ndarray) -> float:
    """The share of the rows in :data:`BAR_ROWS` that cross colour bars (an RGB frame); 0 once
    too many rows miss them for the frame to show bars."""
    height = rgb.shape[0]
    hits = misses = 0
    for at in BAR_ROWS:
        y = min(height - 1, int(at * height))
        if row_has_bars(rgb[max(0, y - 1) : y + 2].mean(axis=0, dtype=np.float64)):
            hits += 1
        else:
            misses += 1
            if misses > len(BAR_ROWS) - BAR_FRAME_ROWS:
                return 0.0  # not a frame of bars, whatever the other rows show
    return hits / len(BAR_ROWS)


def cut_confidence(ratio: float, score: float) -> float:
    """A cut's confidence from AdaptiveDetector's ratio and score (see the module docstring)."""
    margin = min(
        1 - ADAPTIVE_THRESHOLD / max(ratio, 1e-9), 1 - MIN_CONTENT_SCORE / max(score, 1e-9)
    )
    return min(100.0, 50.0 + 50.0 * max(0.0, margin))


class _Scores:
    """Receives AdaptiveDetector's per-frame metrics (its ``stats_manager`` protocol: the content
    score, then the adaptive ratio, each for its frame) and keeps the recent frames', so a cut's
    are known when the detector reports it."""

    KEEP = 4 * MIN_SHOT_FRAMES + 64

    def __init__(self, score_key: str, ratio_key: str) -> None:
        self.score_key = score_key
        self.ratio_key = ratio_key
        self.metrics: dict[int, dict[str, float]] = {}

    def set_metrics(self, timecode: Any, metrics: dict[str, float]) -> None:
        frame = int(timecode.frame_num)
        self.metrics.setdefault(frame, {}).update(metrics)
        self.metrics.pop(frame - self.KEEP, None)

    def confidence(self, frame: int) -> float:
        found = self.metrics.get(frame, {})
        return cut_confidence(
            found.get(self.ratio_key, ADAPTIVE_THRESHOLD),
            found.get(self.score_key, MIN_CONTENT_SCORE),
        )


class _Runs:
    """Consecutive frames that satisfy a cue, with the measure its confidence averages."""

    def __init__(self, cue: str, min_confidence: float) -> None:
        self.cue = cue
        self.min_confidence = min_confidence
        self.start: int | None = None
        self.total = 0.0
        self.found: list[tuple[int, int, float]] = []  # start, end (excluded), confidence

    def add(self, index: int, hit: bool, measure: float) -> None:
        if hit:
            if self.start is None:
                self.start, self.total = index, 0.0
            self.total += measure
        else:
            self.end(index)

    def end(self, index: int) -> None:
        if self.start is not None:
            confidence = min(100.0, self.total / (index - self.start))
            if confidence >= self.min_confidence:
                self.found.append((self.start, index, confidence))
            self.start = None


def detect_segments(
    path: Path,
    metadata: VideoMetadata,
    options: SegmentOptions,
    tick: Callable[[], None] = lambda: None,
) -> list[Segment]:
    """The video's segments: technical cues first, then shots, each in time order.

    ``tick`` is called once a frame (a job renews its lease there).

    :raises InvalidParameterException, VideoTooLargeException: as
        :func:`agnosco.vision.video.decode_frames`."""
    from scenedetect import AdaptiveDetector, FrameTimecode  # OpenCV: loaded when first used

    rate = metadata.rate if metadata.rate > 0 else Fraction(max(metadata.frame_rate, 1.0))
    scale = min(1.0, ANALYSIS_WIDTH / max(1, metadata.frame_width))
    size = (
        max(2, round(metadata.frame_width * scale)),
        max(2, round(metadata.frame_height * scale)),
    )
    frame_ms = 1000.0 / float(rate)
    stamps = array("q")  # every frame's presentation time, in milliseconds
    detector = AdaptiveDetector(
        adaptive_threshold=ADAPTIVE_THRESHOLD,
        min_scene_len=MIN_SHOT_FRAMES,
        window_width=WINDOW_FRAMES,
        min_content_val=MIN_CONTENT_SCORE,
    )
    scores = _Scores(detector.FRAME_SCORE_KEY, detector.get_metrics()[-1])  # the ratio's key
    detector.stats_manager = scores
    cuts: list[tuple[int, float]] = []  # first frame of a new shot, confidence
    black = _Runs(BLACK_FRAMES, options.cue_min_confidence)
    bars = _Runs(COLOR_BARS, options.cue_min_confidence)
    count = 0
    end_ms = 0.0
    scaler = VideoReformatter()  # one scaling context for every frame

    def cut_at(found: list[Any]) -> None:
        for timecode in found:
            frame = int(timecode.frame_num)
            confidence = scores.confidence(frame)
            if frame > 0 and confidence >= options.shot_min_confidence:
                cuts.append((frame, confidence))

    for decoded in decode_frames(path):
        tick()
        index = decoded.index
        at = decoded.timestamp_ms
        # never earlier than the frame before (a frame without a time, or out of order, gets its
        # predecessor's), so no segment ends before it starts
        previous = stamps[-1] if stamps else 0
        stamps.append(previous if at is None else max(at, previous))
        end_ms = max(end_ms, stamps[-1] + (decoded.duration_ms or frame_ms))
        count = index + 1
        small = scaler.reformat(
            decoded.frame, width=size[0], height=size[1], format="bgr24", interpolation="AREA"
        ).to_ndarray()
        if options.shots:
            cut_at(detector.process_frame(FrameTimecode(index, fps=rate), small))
        if options.cues:
            coverage = black_coverage(decoded.frame, options.max_pixel_threshold)
            black.add(index, coverage >= options.min_coverage, coverage)
            share = bar_share(small[:, :, ::-1])
            bars.add(index, round(share * len(BAR_ROWS)) >= BAR_FRAME_ROWS, 100.0 * share)
    if count == 0:
        return []
    if options.shots:
        cut_at(detector.post_process(FrameTimecode(count - 1, fps=rate)))
    black.end(count)
    bars.end(count)

    def ms(frame: int) -> int:
        return stamps[frame] if frame < count else math.floor(end_ms)

    segments: list[Segment] = []
    if options.cues:
        cues = [(s, e, c, BLACK_FRAMES) for s, e, c in black.found]
        cues += [(s, e, c, COLOR_BARS) for s, e, c in bars.found]
        for start, end, confidence, cue in sorted(cues):
            segments.append(Segment(TECHNICAL_CUE, start, end, ms(start), ms(end), confidence, cue))
    if options.shots:
        bounds = [(0, 100.0), *sorted(dict(cuts).items()), (count, 100.0)]
        for n, ((start, opened), (end, closed)) in enumerate(itertools.pairwise(bounds)):
            segments.append(
                Segment(SHOT, start, end, ms(start), ms(end), min(opened, closed), index=n)
            )
    return segments


def segment_shape(segment: Segment, rate: Fraction | float) -> dict[str, Any]:
    """The model's ``SegmentDetection`` of a segment (``rate``: the video's frame rate)."""
    shape: dict[str, Any] = {
        "Type": segment.type,
        "StartTimestampMillis": segment.start_ms,
        "EndTimestampMillis": segment.end_ms,
        "DurationMillis": segment.end_ms - segment.start_ms,
        "StartTimecodeSMPTE": smpte_timecode(segment.start_frame, rate),
        "EndTimecodeSMPTE": smpte_timecode(segment.end_frame, rate),
        "DurationSMPTE": smpte_timecode(segment.end_frame - segment.start_frame, rate),
        "StartFrameNumber": segment.start_frame,
        "EndFrameNumber": segment.end_frame,
        "DurationFrames": segment.end_frame - segment.start_frame,
    }
    confidence = round(segment.confidence, 3)
    if segment.type == SHOT:
        shape["ShotSegment"] = {"Index": segment.index, "Confidence": confidence}
    else:
        shape["TechnicalCueSegment"] = {"Type": segment.cue, "Confidence": confidence}
    return shape
