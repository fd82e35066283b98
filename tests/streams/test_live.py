"""Live sources: frames sampled by presentation time, a file played at its own pace, memory
bounded by a one-frame slot however slow the analysis, and errors as SourceError/SourceEnded."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from agnosco.vision.live import LatestFrame, LiveFrame, LiveSource, SourceEnded, SourceError


def make_video(path: Path, seconds: float, fps: int = 25) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for n in range(int(seconds * fps)):
            pixels = np.full((48, 64, 3), n % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frame(n: int) -> LiveFrame:
    return LiveFrame(n, 0.0, 0.0, n, np.zeros((2, 2, 3), np.uint8), 2, 2)


def test_the_slot_keeps_only_the_newest_frame() -> None:
    slot = LatestFrame()
    for n in range(100):  # a source far faster than the analysis
        slot.put(frame(n))
        assert slot.held == 1
    assert slot.dropped == 99
    taken = slot.take(0.1)
    assert taken is not None and taken.sequence == 99
    assert slot.take(0.01) is None
    slot.close(SourceEnded("done"))
    with pytest.raises(SourceEnded):
        slot.take(0.01)


def test_a_file_is_played_at_its_pace_and_sampled_five_times_a_second(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", 2.0)
    source = LiveSource(str(video))
    assert source.paced
    source.start()
    frames: list[LiveFrame] = []
    started = time.monotonic()
    try:
        while True:
            try:
                got = source.take(timeout=1.0)
            except SourceEnded:
                break
            if got is not None:
                frames.append(got)
    finally:
        source.close()
    elapsed = time.monotonic() - started
    assert [f.offset_ms for f in frames] == [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]
    assert elapsed >= 1.7  # played as it plays (a bound of behaviour, not of speed)
    assert source.slot.dropped == 0


def test_a_slow_analysis_drops_frames_instead_of_queueing_them(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", 4.0)
    source = LiveSource(str(video), paced=False)  # decoded as fast as it goes
    source.start()
    seen = 0
    try:
        while True:
            try:
                if source.take(timeout=1.0) is not None:
                    seen += 1
                    assert source.slot.held <= 1
                    time.sleep(0.3)  # the analysis is far slower than the source
            except SourceEnded:
                break
    finally:
        source.close()
    assert seen + source.slot.dropped == 20  # every sampled frame either analysed or dropped
    assert source.slot.dropped > 0


def test_sources_that_cannot_be_read_say_why(tmp_path: Path) -> None:
    not_video = tmp_path / "notes.mp4"
    not_video.write_bytes(b"not a video at all" * 100)
    for url in (str(not_video), str(tmp_path / "missing.mp4"), "rtsp://127.0.0.1:9/none"):
        with pytest.raises(SourceError) as excinfo:
            LiveSource(url).start()
        assert url in str(excinfo.value)
