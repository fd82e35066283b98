"""examples/identify_people.py, run as a user would, against the real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "identify_people.py"


@pytest.mark.slow
def test_identifies_held_back_people(server: Server, deepface_images: Path) -> None:
    env = os.environ | {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    }
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--endpoint-url",
            server.url,
            "--region",
            REGION,
            "--data",
            str(deepface_images.parent),
            "--min-accuracy",
            "0.9",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(
        r"identified (\d+)/(\d+) held-back photos correctly: accuracy ([0-9.]+)", result.stdout
    )
    assert found, result.stdout
    correct, total = int(found[1]), int(found[2])
    assert total == 13  # every identity of deepface-pairs has at least two portraits
    assert correct / total >= 0.9
