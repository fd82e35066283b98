"""Segments of a stored video: shots, and the technical cues classical analysis finds honestly.

One decoding pass (:func:`agnosco.vision.video.decode_frames`, every frame, not a sample: segment
boundaries are frame-accurate) feeds three detectors:

* **Shots** — PySceneDetect's ``ContentDetector`` (BSD-3-Clause), with its own defaults (a cut
  where the frame-to-frame change in hue, saturation and luma is at least 27; no two cuts less
  than 15 frames apart), fed frames decoded here and scaled down to :data:`ANALYSIS_WIDTH`
  (the width its own scene manager scales large frames towards).  A cut's confidence comes from its score ``s`` against the
  threshold ``t``: ``50 + 50 * (s - t) / s`` (50 at the threshold, towards 100 for the starkest
  cuts); the start and end of the video are certain (100).  A shot's confidence is the lesser
  of its two boundaries'.  ``MinSegmentConfidence`` drops the cuts below it, so shots stay
  contiguous and cover the whole video.  This is a documented mapping of the detector's score,
  not a calibrated probability.
* **BlackFrames** — Rekognition's definition: a pixel is black when its luma is at most
  ``minimum_luminance + MaxPixelThreshold * luminance_range`` (0 and 255 for full-range video,
  16 and 219 for limited range), a frame is black when at least ``MinCoveragePercentage`` of its
  pixels are; consecutive black frames are one segment.  Luma is the video's own Y plane at full
  resolution (BT.709 luma for HD video, which is what its Y carries).  Confidence: the mean
  percentage of black pixels in the segment's frames.
* **ColorBars** — the seven bars of the SMPTE and EBU test patterns, found by their colour
  pattern: in each of :data:`BAR_ROWS` rows of the upper part of the frame, seven adjacent
  uniform runs of about equal width coloured white (or grey), yellow, cyan, green, magenta, red
  and blue, in that order, together at least 40% of the width (SMPTE ECR 1-1978 bars, the HD
  bars of SMPTE RP 219 with their grey sides, EBU 75% and 100% bars).  A frame shows bars when
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
from pathlib import Path
from typing import Any

import numpy as np
import scenedetect
from av.video.reformatter import VideoReformatter
from scenedetect import ContentDetector, FrameTimecode

from agnosco.vision.video import VideoMetadata, decode_frames

SHOT = "SHOT"
TECHNICAL_CUE = "TECHNICAL_CUE"
BLACK_FRAMES = "BlackFrames"
COLOR_BARS = "ColorBars"

#: What SelectedSegmentTypes names as each type's ModelVersion.
MODEL_VERSIONS = {
    SHOT: f"PySceneDetect {scenedetect.__version__} ContentDetector",
    TECHNICAL_CUE: "Agnosco 1.0 (BlackFrames, ColorBars)",
}
#: Rekognition's defaults (StartSegmentDetectionFilters) and the model's minimum confidence.
DEFAULT_MIN_CONFIDENCE = 50.0
DEFAULT_MAX_PIXEL_THRESHOLD = 0.2
DEFAULT_MIN_COVERAGE = 99.0
#: Width of the frames the shot and colour-bar detectors see (at most; PySceneDetect's own
#: scene manager scales large frames towards it).
ANALYSIS_WIDTH = 256
#: PySceneDetect's ContentDetector defaults.
CUT_THRESHOLD = 27.0
MIN_SHOT_FRAMES = 15
#: Heights (fractions of the frame) of the rows looked at for colour bars.
BAR_ROWS = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55)
BAR_COLOURS = ("white", "yellow", "cyan", "green", "magenta", "red", "blue")
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


def _colour_name(rgb: np.ndarray) -> str | None:
    hi = float(rgb.max())
    if hi < 64:
        return "black"
    on = rgb >= 0.6 * hi
    if np.any(~on & (rgb > 0.35 * hi)):
        return None  # a channel neither on nor off: not a bar colour
    return {
        (True, True, True): "white",
        (True, True, False): "yellow",
        (False, True, True): "cyan",
        (False, True, False): "green",
        (True, False, True): "magenta",
        (True, False, False): "red",
        (False, False, True): "blue",
    }.get((bool(on[0]), bool(on[1]), bool(on[2])))


def _runs(row: np.ndarray, min_width: int) -> tuple[list[int], list[np.ndarray]]:
    """A row of RGB columns (float) cut where neighbouring columns differ by more than 40 in a
    channel; the runs at least ``min_width`` wide that are uniform (four fifths of their columns
    within 30 of their median colour, so a run may keep a blurred edge): widths and colours."""
    jumps = np.flatnonzero(np.abs(np.diff(row, axis=0)).max(axis=1) > 40) + 1
    bounds = np.concatenate(([0], jumps, [len(row)]))
    widths, colours = [], []
    for start, stop in itertools.pairwise(bounds.tolist()):
        if stop - start < min_width:
            continue
        run = row[start:stop]
        median = np.median(run, axis=0)
        if np.mean(np.abs(run - median).max(axis=1) <= 30) >= 0.8:
            widths.append(stop - start)
            colours.append(median)
    return widths, colours


def row_has_bars(row: np.ndarray) -> bool:
    """Does this row of RGB pixels cross the seven colour bars, in order?"""
    width = len(row)
    widths, colours = _runs(row.astype(np.float64), max(2, width // 50))
    names = [_colour_name(c) for c in colours]
    for i in range(len(names) - len(BAR_COLOURS) + 1):
        if tuple(names[i : i + len(BAR_COLOURS)]) != BAR_COLOURS:
            continue
        bars = np.array(widths[i : i + len(BAR_COLOURS)], np.float64)
        mean = float(bars.mean())
        if bars.sum() >= 0.4 * width and bool(np.all(np.abs(bars - mean) <= 0.4 * mean)):
            return True
    return False


def bar_share(rgb: np.ndarray) -> float:
    """The share of the rows in :data:`BAR_ROWS` that cross colour bars (an RGB frame)."""
    height = rgb.shape[0]
    hits = 0
    for at in BAR_ROWS:
        y = min(height - 1, int(at * height))
        band = rgb[max(0, y - 1) : y + 2].mean(axis=0)
        hits += row_has_bars(band)
    return hits / len(BAR_ROWS)


def cut_confidence(score: float, threshold: float = CUT_THRESHOLD) -> float:
    """A cut's confidence from ContentDetector's score (see the module docstring)."""
    return min(100.0, 50.0 + 50.0 * max(0.0, score - threshold) / max(score, 1e-9))


class _Scores:
    """Receives ContentDetector's per-frame metrics (its ``stats_manager`` protocol) and keeps
    the recent frames' scores, so a cut's score is known when the detector reports it."""

    KEEP = 4 * MIN_SHOT_FRAMES + 64

    def __init__(self) -> None:
        self.scores: dict[int, float] = {}

    def set_metrics(self, timecode: Any, metrics: dict[str, float]) -> None:
        frame = int(timecode.frame_num)
        self.scores[frame] = float(metrics.get(ContentDetector.FRAME_SCORE_KEY, 0.0))
        self.scores.pop(frame - self.KEEP, None)


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
    rate = metadata.rate if metadata.rate > 0 else Fraction(max(metadata.frame_rate, 1.0))
    scale = min(1.0, ANALYSIS_WIDTH / max(1, metadata.frame_width))
    size = (
        max(2, round(metadata.frame_width * scale)),
        max(2, round(metadata.frame_height * scale)),
    )
    frame_ms = 1000.0 / float(rate)
    stamps = array("q")  # every frame's presentation time, in milliseconds
    detector = ContentDetector(threshold=CUT_THRESHOLD, min_scene_len=MIN_SHOT_FRAMES)
    scores = _Scores()
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
            confidence = cut_confidence(scores.scores.get(frame, CUT_THRESHOLD))
            if frame > 0 and confidence >= options.shot_min_confidence:
                cuts.append((frame, confidence))

    for decoded in decode_frames(path):
        tick()
        index = decoded.index
        at = decoded.timestamp_ms
        stamps.append(at if at is not None else (stamps[-1] if stamps else 0))
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
            bars.add(index, share >= 2 / 3, 100.0 * share)
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
