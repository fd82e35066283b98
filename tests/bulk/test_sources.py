"""Enumerating images: a folder walked recursively (links followed, loops cut) and an S3 prefix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from agnosco.bulk import sources
from agnosco.bulk.sources import FolderSource, S3Source, UnreadableImage, parse_s3_url
from agnosco.errors import ImageTooLargeException
from tests.server.conftest import free_port


def test_a_folder_is_walked_recursively_by_suffix_in_key_order(tmp_path: Path) -> None:
    for name in [
        "b.JPG",
        "a.png",
        "c.webp",
        "d.jpeg",
        "notes.txt",
        "e.gif",
        "x/y/z.jpg",
        "x/a.jpg",
    ]:
        path = tmp_path / "root" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "linked.jpg").write_bytes(b"linked")
    os.symlink(tmp_path / "elsewhere", tmp_path / "root" / "link")  # a linked folder
    os.symlink(tmp_path / "root", tmp_path / "root" / "x" / "loop")  # a loop back to the root

    items = list(FolderSource(tmp_path / "root").items())
    assert [item.key for item in items] == [
        "a.png",
        "b.JPG",
        "c.webp",
        "d.jpeg",
        "link/linked.jpg",
        "x/a.jpg",
        "x/y/z.jpg",
    ]
    assert items[-1].read() == b"x/y/z.jpg"


def test_unreadable_and_oversized_files_fail_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "big.jpg").write_bytes(b"x" * 101)
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    monkeypatch.setattr(sources, "MAX_S3_IMAGE_BYTES", 100)
    big, gone = sorted(FolderSource(tmp_path).items(), key=lambda item: item.key)
    with pytest.raises(ImageTooLargeException):
        big.read()
    with pytest.raises(UnreadableImage):
        gone.read()


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        FolderSource(tmp_path / "nope")


def test_s3_urls_name_a_folder() -> None:
    assert parse_s3_url("s3://photos") == ("photos", "")
    assert parse_s3_url("s3://photos/") == ("photos", "")
    assert parse_s3_url("s3://photos/people") == ("photos", "people/")
    assert parse_s3_url("s3://photos/people/") == ("photos", "people/")
    for bad in ["photos/people", "https://photos/x", "s3:///x"]:
        with pytest.raises(ValueError):
            parse_s3_url(bad)


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "s3-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


def test_an_s3_prefix_is_listed_page_by_page_with_keys_below_the_prefix(s3_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="listing-test")
    names = [f"photos/p{i:04d}.jpg" for i in range(25)] + [
        "photos/sub/a.PNG",
        "photos/readme.txt",
        "photos-old/x.jpg",
        "other/y.jpg",
        "photos/dir/",
    ]
    for name in names:
        s3.put_object(Bucket="listing-test", Key=name, Body=name.encode())
    source = S3Source("s3://listing-test/photos", endpoint_url=s3_endpoint, page_size=10)
    items = list(source.items())
    assert source.description == "s3://listing-test/photos/"
    assert [item.key for item in items] == [f"p{i:04d}.jpg" for i in range(25)] + ["sub/a.PNG"]
    assert items[-1].read() == b"photos/sub/a.PNG"
    assert (
        len(list(S3Source("s3://listing-test", endpoint_url=s3_endpoint, page_size=7).items()))
        == 28
    )


def test_read_ahead_keeps_the_order_and_reports_errors(tmp_path: Path) -> None:
    import hashlib

    from agnosco.bulk.sources import read_ahead

    for i in range(30):
        (tmp_path / f"{i:02d}.jpg").write_bytes(bytes([i]) * (i + 1))
    (tmp_path / "15.jpg").unlink()
    (tmp_path / "15.jpg").symlink_to(tmp_path / "missing")
    reads = list(read_ahead(FolderSource(tmp_path).items(), threads=3, ahead=4))
    assert [r.item.key for r in reads] == [f"{i:02d}.jpg" for i in range(30)]
    assert isinstance(reads[15].error, UnreadableImage)
    assert reads[7].data == bytes([7]) * 8
    assert reads[7].sha256 == hashlib.sha256(bytes([7]) * 8).hexdigest()
