"""S3Object images read from an S3-compatible endpoint (moto's server stands in for one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.server.conftest import Server, free_port, start_server


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


@pytest.mark.slow
def test_images_come_from_the_configured_s3_endpoint(
    tmp_path: Path, s3_endpoint: str, deepface_images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "s3-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="photos")
    s3.put_object(
        Bucket="photos", Key="people/img1.jpg", Body=(deepface_images / "img1.jpg").read_bytes()
    )
    server: Server = start_server(
        tmp_path / "data", tmp_path / "server.log", "--s3-endpoint-url", s3_endpoint
    )
    try:
        client = server.client()
        client.create_collection(CollectionId="s3")
        result = client.index_faces(
            CollectionId="s3", Image={"S3Object": {"Bucket": "photos", "Name": "people/img1.jpg"}}
        )
        assert len(result["FaceRecords"]) == 1
        with pytest.raises(client.exceptions.InvalidS3ObjectException):
            client.index_faces(
                CollectionId="s3", Image={"S3Object": {"Bucket": "photos", "Name": "missing.jpg"}}
            )
        with pytest.raises(client.exceptions.InvalidS3ObjectException):
            client.detect_faces(Image={"S3Object": {"Bucket": "no-such-bucket", "Name": "x.jpg"}})
    finally:
        server.stop()
