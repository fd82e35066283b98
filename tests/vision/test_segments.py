"""Segment detection on small videos made here with PyAV: hard cuts between scenes, black frames
and colour bars (FFmpeg's own SMPTE and EBU generators) at known frames, each found where it is,
with its timecodes; and SMPTE timecodes, drop-frame included."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from agnosco.errors import InvalidParameterException
from agnosco.vision.segments import (
    BLACK_FRAMES,
    COLOR_BARS,
    SHOT,
    TECHNICAL_CUE,
    SegmentOptions,
    bar_share,
    detect_segments,
    segment_shape,
    smpte_timecode,
)
from agnosco.vision.video import probe_video

W, H, RATE = 320, 180, 25


def pattern(name: str, frames: int, size: tuple[int, int] = (W, H)) -> list[np.ndarray]:
    """Frames of one of FFmpeg's test-pattern generators (smptebars, pal75bars, testsrc, ...)."""
    with av.open(f"{name}=size={size[0]}x{size[1]}:rate={RATE}", format="lavfi") as source:
        out = []
        for frame in source.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == frames:
                return out
    raise AssertionError(name)


def scene(seed: int, frames: int) -> list[np.ndarray]:
    """A shot: a colour gradient of its own with a square moving across it."""
    rng = np.random.default_rng(seed)
    left, right = rng.integers(30, 225, (2, 3))
    t = np.linspace(0, 1, W)[None, :, None]
    base = (left * (1 - t) + right * t).repeat(H, 0).astype(np.uint8)
    out = []
    for k in range(frames):
        frame = base.copy()
        frame[60:100, 20 + 2 * k : 60 + 2 * k] = 255 - left
        out.append(frame)
    return out


def grey(level: int, frames: int) -> list[np.ndarray]:
    return [np.full((H, W, 3), level, np.uint8) for _ in range(frames)]


def encode(
    path: Path, frames: list[np.ndarray], rate: int | Fraction = RATE, faststart: bool = False
) -> Path:
    """H.264 in MP4 (``faststart``: its index before the frames, as for streaming)."""
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for pixels in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def segments(path: Path, **options: object) -> list[dict[str, object]]:
    metadata = probe_video(path)
    found = detect_segments(path, metadata, SegmentOptions(**options))  # type: ignore[arg-type]
    return [segment_shape(s, metadata.rate) for s in found]


def spans(found: list[dict[str, object]], kind: str) -> list[tuple[object, object]]:
    return [(s["StartFrameNumber"], s["EndFrameNumber"]) for s in found if s["Type"] == kind]


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shots, a second of black, a shot, two seconds of SMPTE bars, a last shot (25 fps)."""
    frames = (
        scene(1, 50) + scene(2, 50) + grey(0, 25) + scene(3, 50) + pattern("smptebars", 50)
    ) + scene(4, 50)
    return encode(tmp_path_factory.mktemp("segments") / "edited.mp4", frames)


def test_cuts_black_frames_and_bars_are_found_at_their_frames(edited: Path) -> None:
    found = segments(edited)
    cues = [s for s in found if s["Type"] == TECHNICAL_CUE]
    assert [
        (c["TechnicalCueSegment"]["Type"], c["StartFrameNumber"], c["EndFrameNumber"]) for c in cues
    ] == [  # type: ignore[index]
        (BLACK_FRAMES, 100, 125),
        (COLOR_BARS, 175, 225),
    ]
    black, bars = cues
    assert black == {
        "Type": TECHNICAL_CUE,
        "StartTimestampMillis": 4000,
        "EndTimestampMillis": 5000,
        "DurationMillis": 1000,
        "StartTimecodeSMPTE": "00:00:04:00",
        "EndTimecodeSMPTE": "00:00:05:00",
        "DurationSMPTE": "00:00:01:00",
        "StartFrameNumber": 100,
        "EndFrameNumber": 125,
        "DurationFrames": 25,
        "TechnicalCueSegment": {
            "Type": BLACK_FRAMES,
            "Confidence": black["TechnicalCueSegment"]["Confidence"],
        },  # type: ignore[index]
    }
    assert black["TechnicalCueSegment"]["Confidence"] >= 99  # type: ignore[index]
    assert (bars["StartTimecodeSMPTE"], bars["EndTimecodeSMPTE"]) == ("00:00:07:00", "00:00:09:00")
    assert bars["TechnicalCueSegment"]["Confidence"] > 90  # type: ignore[index]
    # shots: every cut, one shot each, contiguous, indexed in order, covering the whole video
    shots = [s for s in found if s["Type"] == SHOT]
    assert spans(found, SHOT) == [
        (0, 50),
        (50, 100),
        (100, 125),
        (125, 175),
        (175, 225),
        (225, 275),
    ]
    assert [s["ShotSegment"]["Index"] for s in shots] == list(range(6))  # type: ignore[index]
    assert [s["StartTimestampMillis"] for s in shots] == [0, 2000, 4000, 5000, 7000, 9000]
    assert shots[-1]["EndTimestampMillis"] == 11000 and shots[-1]["DurationFrames"] == 50
    assert all(50 <= s["ShotSegment"]["Confidence"] <= 100 for s in shots)  # type: ignore[index, operator]
    assert found.index(cues[-1]) < found.index(shots[0])  # cues first, then shots


def test_only_the_requested_types_are_looked_for(edited: Path) -> None:
    assert {s["Type"] for s in segments(edited, cues=False)} == {SHOT}
    assert {s["Type"] for s in segments(edited, shots=False)} == {TECHNICAL_CUE}


def test_min_segment_confidence_merges_the_weaker_cuts(edited: Path) -> None:
    every = [s for s in segments(edited) if s["Type"] == SHOT]
    confidences = sorted({s["ShotSegment"]["Confidence"] for s in every})  # type: ignore[index]
    assert len(confidences) > 1  # cuts of different strength
    floor = (confidences[0] + confidences[-1]) / 2
    fewer = [s for s in segments(edited, cues=False, shot_min_confidence=floor)]
    assert 1 < len(fewer) < len(every)
    assert all(s["ShotSegment"]["Confidence"] >= floor for s in fewer)  # type: ignore[index, operator]
    ends = [s["EndFrameNumber"] for s in fewer]
    assert [s["StartFrameNumber"] for s in fewer] == [0, *ends[:-1]] and ends[-1] == 275
    (whole,) = segments(edited, cues=False, shot_min_confidence=100.0)
    assert (whole["StartFrameNumber"], whole["EndFrameNumber"]) == (0, 275)
    assert whole["ShotSegment"]["Confidence"] == 100  # type: ignore[index]


def test_the_black_frame_filter_is_rekognitions(tmp_path: Path) -> None:
    """Dark grey (RGB 30: luma 42 of limited range) is black under the default MaxPixelThreshold
    (0.2: up to 16 + 0.2 * 219 = 59.8), not under 0.1 (37.9); a black frame with a bright patch
    on 5% of it is black only when MinCoveragePercentage allows 5% of noise."""
    patched = grey(0, 25)
    for frame in patched:
        frame[:36, :80] = 255  # 2880 of 57600 pixels: 5%
    video = encode(tmp_path / "dark.mp4", scene(1, 25) + grey(30, 25) + scene(2, 25) + patched)
    black = [(s["StartFrameNumber"], s["EndFrameNumber"]) for s in segments(video, shots=False)]
    assert black == [(25, 50)]
    assert segments(video, shots=False, max_pixel_threshold=0.1) == []
    loose = segments(video, shots=False, min_coverage=90.0)
    assert spans(loose, TECHNICAL_CUE) == [(25, 50), (75, 100)]
    assert 90 <= loose[1]["TechnicalCueSegment"]["Confidence"] <= 96  # type: ignore[index]
    # A cue whose confidence (here its black coverage, about 95%) is under the filter's minimum
    assert spans(
        segments(video, shots=False, min_coverage=90.0, cue_min_confidence=99.0), TECHNICAL_CUE
    ) == [(25, 50)]


@pytest.mark.parametrize("name", ["smptebars", "smptehdbars", "pal75bars", "pal100bars"])
@pytest.mark.parametrize("size", [(320, 180), (720, 576), (1920, 1080)], ids=str)
def test_the_standard_colour_bars_are_recognised(name: str, size: tuple[int, int]) -> None:
    (frame,) = pattern(name, 1, size)
    small = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
        width=256, height=round(256 * size[1] / size[0]), interpolation="AREA"
    )
    assert bar_share(small.to_ndarray()) == 1.0


@pytest.mark.parametrize("name", ["testsrc", "testsrc2", "rgbtestsrc", "yuvtestsrc"])
def test_other_test_patterns_are_not_colour_bars(name: str) -> None:
    """FFmpeg's other patterns have stripes of colour too, not the bars' seven in their order."""
    assert bar_share(pattern(name, 1)[0]) == 0.0


def test_a_still_video_is_one_shot_without_cues(tmp_path: Path) -> None:
    video = encode(tmp_path / "still.mp4", scene(5, 40))
    assert spans(segments(video), SHOT) == [(0, 40)]
    assert spans(segments(video), TECHNICAL_CUE) == []


def test_a_broken_video_is_refused(tmp_path: Path) -> None:
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"\x00" * 4096)
    with pytest.raises(InvalidParameterException):
        segments(video)


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        (0, "00:00:00:00"),
        (24, "00:00:00:24"),
        (25, "00:00:01:00"),
        (1500, "00:01:00:00"),
        (90_000, "01:00:00:00"),
        (90_000 + 25 * 61 + 3, "01:01:01:03"),
    ],
)
def test_smpte_timecode_at_25_fps(frames: int, expected: str) -> None:
    assert smpte_timecode(frames, Fraction(25)) == expected


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        (0, "00:00:00;00"),
        (29, "00:00:00;29"),
        (1799, "00:00:59;29"),
        (1800, "00:01:00;02"),  # ;00 and ;01 are skipped at every minute...
        (3597, "00:01:59;29"),
        (3598, "00:02:00;02"),
        (17_981, "00:09:59;29"),
        (17_982, "00:10:00;00"),  # ...except every tenth
        (17_983, "00:10:00;01"),
        (107_892, "01:00:00;00"),  # an hour of 29.97 fps video is 107,892 frames
    ],
)
def test_smpte_timecode_at_29_97_fps_is_drop_frame(frames: int, expected: str) -> None:
    assert smpte_timecode(frames, Fraction(30000, 1001)) == expected


def test_smpte_timecode_at_other_rates() -> None:
    assert smpte_timecode(3600, Fraction(60000, 1001)) == "00:01:00;04"  # 4 dropped at 59.94
    assert smpte_timecode(215_784, Fraction(60000, 1001)) == "01:00:00;00"
    assert smpte_timecode(1800, Fraction(30)) == "00:01:00:00"  # 30 fps counts every frame
    assert smpte_timecode(24, Fraction(24000, 1001)) == "00:00:01:00"  # 23.976: 24 a second


def test_timecodes_of_a_29_97_fps_video_are_drop_frame(tmp_path: Path) -> None:
    video = encode(tmp_path / "ntsc.mp4", scene(1, 30) + grey(0, 15), rate=Fraction(30000, 1001))
    (black,) = segments(video, shots=False)
    assert (black["StartTimecodeSMPTE"], black["EndTimecodeSMPTE"]) == (
        "00:00:01;00",
        "00:00:01;15",
    )
    assert (black["StartTimestampMillis"], black["EndTimestampMillis"]) == (1001, 1501)


def test_fast_camera_motion_is_not_a_cut(shared_data: Path) -> None:
    """The no-faces clip: a cockatoo moving fast, close to the camera, in one continuous shot
    (a fixed content threshold cuts it at frame 157; the adaptive one does not)."""
    clip = shared_data / "no-faces" / "video" / "cockatoo.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent")
    found = segments(clip)
    assert [(s["Type"], s["StartFrameNumber"]) for s in found] == [(SHOT, 0)]
    assert found[0]["EndFrameNumber"] == found[0]["DurationFrames"] == 280
