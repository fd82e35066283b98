"""How a long video is cut for a Ray cluster, and what ``serve --ray-address`` checks on start
(the cluster itself: tests/server/test_video_ray.py)."""

from __future__ import annotations

import socket

import pytest

from agnosco.operations.video_analysis import Chunk, VideoCluster, check_cluster_address
from agnosco.vision.video import VideoMetadata


def _video(duration_ms: int) -> VideoMetadata:
    return VideoMetadata("h264", duration_ms, "QuickTime / MOV", 24.0, 360, 288, "LIMITED")


def test_a_video_longer_than_a_chunk_is_cut_on_sampling_boundaries() -> None:
    cluster = VideoCluster("auto", chunk_seconds=60)
    assert cluster.chunks(_video(60_000)) == [Chunk(0.0, None)]  # one chunk: analysed locally
    assert cluster.chunks(_video(200_000)) == [
        Chunk(0.0, 60_000.0),
        Chunk(60_000.0, 120_000.0),
        Chunk(120_000.0, 180_000.0),
        Chunk(180_000.0, None),  # to the end of the stream, whatever the container says
    ]
    # 3 frames a second: boundaries are multiples of 333.3 ms, the chunk's length rounded to it
    odd = VideoCluster("auto", chunk_seconds=1.1).chunks(_video(2500), fps=3.0)
    assert [c.start_ms for c in odd] == pytest.approx([0.0, 1000.0, 2000.0])


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("local", "--ray-address: the server joins a running cluster"),
        ("head", "--ray-address: 'head' is not `auto`, HOST:PORT or ray://HOST:PORT"),
        ("ray://head:port", "is not `auto`, HOST:PORT or ray://HOST:PORT"),
    ],
)
def test_an_address_that_names_no_cluster_is_refused(address: str, message: str) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (the [ray] extra)")
    with pytest.raises(ValueError) as excinfo:
        check_cluster_address(address)
    assert message in str(excinfo.value)


def test_a_port_that_answers_passes_and_one_that_does_not_is_refused() -> None:
    pytest.importorskip("ray", reason="Ray is not installed (the [ray] extra)")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        check_cluster_address(f"127.0.0.1:{port}")
        check_cluster_address(f"ray://127.0.0.1:{port}")
    with pytest.raises(ValueError) as excinfo:
        check_cluster_address(f"127.0.0.1:{port}")  # closed now
    assert f"the Ray cluster at 127.0.0.1:{port} cannot be reached" in str(excinfo.value)
