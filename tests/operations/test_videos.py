"""Where videos come from: the local S3 folder or an S3-compatible endpoint (moto's server),
the object checked at Start and copied to a file for the decoder, the 10 GB limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from agnosco.errors import InvalidS3ObjectException, VideoTooLargeException
from agnosco.operations import videos
from agnosco.operations.videos import VideoSource
from tests.server.conftest import free_port

CONTENT = b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 4


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}")
    client.create_bucket(Bucket="videos")
    client.put_object(Bucket="videos", Key="day/clip.mp4", Body=CONTENT)
    yield client
    moto.stop()


def _video(bucket: str, name: str) -> dict[str, object]:
    return {"S3Object": {"Bucket": bucket, "Name": name}}


def test_a_video_from_an_s3_endpoint_is_copied_for_the_decoder(s3_client) -> None:  # type: ignore[no-untyped-def]
    source = VideoSource(s3_client=s3_client)
    source.check(_video("videos", "day/clip.mp4"))
    with source.open(_video("videos", "day/clip.mp4")) as path:
        assert path.read_bytes() == CONTENT and path.suffix == ".mp4"
    assert not path.exists()  # the copy is removed with the job
    for missing in (_video("videos", "none.mp4"), _video("no-bucket", "clip.mp4")):
        with pytest.raises(InvalidS3ObjectException):
            source.check(missing)
        with pytest.raises(InvalidS3ObjectException), source.open(missing):
            pass


def test_a_video_over_the_limit_is_refused_before_it_is_read(
    s3_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(videos, "MAX_VIDEO_BYTES", len(CONTENT) - 1)
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "clip.mp4").write_bytes(CONTENT)
    for source, video in (
        (VideoSource(s3_client=s3_client), _video("videos", "day/clip.mp4")),
        (VideoSource(s3_dir=tmp_path), _video("videos", "clip.mp4")),
    ):
        with pytest.raises(VideoTooLargeException, match="10 GB"):
            source.check(video)


def test_a_local_key_cannot_escape_its_bucket(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "secret.mp4").write_bytes(CONTENT)
    source = VideoSource(s3_dir=tmp_path)
    for name in ("../secret.mp4", str(tmp_path / "secret.mp4"), "clip\0.mp4"):
        with pytest.raises(InvalidS3ObjectException):
            source.check(_video("videos", name))
    with pytest.raises(InvalidS3ObjectException, match="Bucket and a Name"):
        source.check({"S3Object": {"Bucket": "videos"}})
    with pytest.raises(InvalidS3ObjectException, match="No S3 source"):
        VideoSource().check(_video("videos", "clip.mp4"))
