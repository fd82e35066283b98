"""The ``agnosco`` console script, run as a real subprocess."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from agnosco import spec

AGNOSCO = shutil.which("agnosco") or ""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [AGNOSCO, *args] if AGNOSCO else [sys.executable, "-m", "agnosco.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_detect_faces_prints_a_valid_response(deepface_images: Path) -> None:
    result = run("detect-faces", str(deepface_images / "couple.jpg"), "--attributes", "ALL")
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    spec.validate(response, "DetectFacesResponse")
    assert len(response["FaceDetails"]) == 2
    assert all("Smile" in face for face in response["FaceDetails"])


def test_compare_faces_matches_the_same_person(deepface_images: Path) -> None:
    result = run(
        "compare-faces",
        str(deepface_images / "img1.jpg"),
        str(deepface_images / "img2.jpg"),
        "--similarity-threshold",
        "80",
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    spec.validate(response, "CompareFacesResponse")
    assert len(response["FaceMatches"]) == 1


def test_bad_image_is_one_line_error_and_exit_1(tmp_path: Path) -> None:
    gif = tmp_path / "animation.gif"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 120), "red").save(buffer, format="GIF")
    gif.write_bytes(buffer.getvalue())
    result = run("detect-faces", str(gif))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: InvalidImageFormatException: GIF")


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    result = run("detect-faces", str(tmp_path / "nope.jpg"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: cannot read")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("threshold", ["-1", "101"])
def test_out_of_range_threshold_is_refused(deepface_images: Path, threshold: str) -> None:
    result = run(
        "compare-faces",
        str(deepface_images / "img1.jpg"),
        str(deepface_images / "img2.jpg"),
        "--similarity-threshold",
        threshold,
    )
    assert result.returncode == 1
    assert "InvalidParameterException" in result.stderr


def test_no_secret_is_taken_on_the_command_line() -> None:
    """A secret in argv is visible to every local user (ps): evaluate signs with the AWS
    credential chain instead."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agnosco.cli.main",
            "evaluate",
            "x",
            "--endpoint",
            "http://h",
            "--secret-access-key",
            "s",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "unrecognized arguments: --secret-access-key" in done.stderr
