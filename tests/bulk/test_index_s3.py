"""``agnosco index-s3`` on an S3-compatible endpoint (moto's server): the same faces, under the
same ExternalImageIds, as ``index-folder`` on the folder the prefix mirrors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.bulk.conftest import (
    COLLECTION,
    EXPECTED_FACES,
    FILES,
    assert_no_duplicates,
    run_cli,
    summary_of,
)
from tests.server.conftest import free_port

pytestmark = pytest.mark.slow

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "s3-key",
    "AWS_SECRET_ACCESS_KEY": "s3-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


def test_an_s3_prefix_is_indexed_like_the_folder_it_mirrors(
    s3_endpoint: str, image_folder: Path, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="bulk-photos")
    for name in FILES:
        s3.put_object(
            Bucket="bulk-photos", Key=f"people/{name}", Body=(image_folder / name).read_bytes()
        )
    s3.put_object(
        Bucket="bulk-photos",
        Key="elsewhere/img1.jpg",
        Body=(image_folder / "img1.jpg").read_bytes(),
    )

    data_dir = tmp_path / "data"
    args = (
        "index-s3",
        "s3://bulk-photos/people",
        "--s3-endpoint-url",
        s3_endpoint,
        "--collection",
        COLLECTION,
        "--workers",
        "2",
        "--data-dir",
        str(data_dir),
    )
    summary = summary_of(run_cli(*args, "--create-collection", env=os.environ | S3_ENV))
    assert summary["Source"] == "s3://bulk-photos/people/"
    assert summary["FilesSeen"] == len(FILES)
    assert summary["FacesIndexed"] == sum(EXPECTED_FACES.values())
    assert summary["ImagesFailed"] == {"InvalidImageFormatException": 1}
    assert_no_duplicates(data_dir)

    again = summary_of(run_cli(*args, env=os.environ | S3_ENV))
    assert again["FacesIndexed"] == 0 and again["ImagesSkipped"] == len(FILES) - 1


def test_a_missing_bucket_is_an_error(s3_endpoint: str, tmp_path: Path) -> None:
    result = run_cli(
        "index-s3",
        "s3://no-such-bucket/x",
        "--s3-endpoint-url",
        s3_endpoint,
        "--collection",
        "c",
        "--create-collection",
        "--data-dir",
        str(tmp_path / "data"),
        env=os.environ | S3_ENV,
    )
    assert result.returncode == 1
    assert "cannot list s3://no-such-bucket/x/" in result.stderr and "NoSuchBucket" in result.stderr
