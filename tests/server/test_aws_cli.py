"""The AWS CLI (awscli from PyPI), unmodified, against the real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Server


def aws(server: Server, *args: str) -> dict:  # type: ignore[type-arg]
    command = shutil.which("aws")
    argv = [command] if command else [sys.executable, "-m", "awscli"]
    env = os.environ | {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    result = subprocess.run(
        [*argv, "rekognition", *args, "--endpoint-url", server.url, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.mark.slow
def test_collection_lifecycle_with_the_aws_cli(server: Server, deepface_images: Path) -> None:
    created = aws(server, "create-collection", "--collection-id", "cli-people")
    assert created["StatusCode"] == 200
    assert created["CollectionArn"].endswith(":collection/cli-people")

    indexed = aws(
        server,
        "index-faces",
        "--collection-id",
        "cli-people",
        "--external-image-id",
        "person01",
        "--image-bytes",
        f"fileb://{deepface_images / 'img1.jpg'}",
    )
    face_id = indexed["FaceRecords"][0]["Face"]["FaceId"]

    bucket = server.data_dir / "s3" / "cli-bucket"
    bucket.mkdir(parents=True, exist_ok=True)
    shutil.copy(deepface_images / "img2.jpg", bucket / "probe.jpg")
    found = aws(
        server,
        "search-faces-by-image",
        "--collection-id",
        "cli-people",
        "--image",
        json.dumps({"S3Object": {"Bucket": "cli-bucket", "Name": "probe.jpg"}}),
    )
    assert [m["Face"]["FaceId"] for m in found["FaceMatches"]] == [face_id]
    assert found["FaceMatches"][0]["Similarity"] >= 80

    listed = aws(server, "list-faces", "--collection-id", "cli-people")
    assert [f["FaceId"] for f in listed["Faces"]] == [face_id]
    assert listed["Faces"][0]["ExternalImageId"] == "person01"

    assert aws(server, "delete-collection", "--collection-id", "cli-people")["StatusCode"] == 200
    collections = aws(server, "list-collections")["CollectionIds"]
    assert "cli-people" not in collections
