"""evaluate on an identity-folder (LFW layout) data set, in process and through a running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agnosco.evaluation.datasets import load_dataset
from agnosco.evaluation.describe import describe_in_process, describe_via_endpoint
from agnosco.vision.similarity import SimilarityCalibration
from tests.server.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, start_server

PEOPLE = {
    "person01": ["img1.jpg", "img2.jpg", "img4.jpg"],
    "person02": ["img3.jpg", "img56.jpg"],
    "person07": ["img20.jpg", "img21.jpg"],
}


@pytest.fixture(scope="module")
def folders(deepface_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/<identity>/<image>``, linking to the shared images (nothing is copied)."""
    identities = {}
    with open(deepface_images.parent / "identities.csv") as fh:
        for line in fh.read().splitlines()[1:]:
            file, identity = line.split(",")[:2]
            identities[file] = identity
    root = tmp_path_factory.mktemp("lfw-layout")
    for person, files in PEOPLE.items():
        (root / person).mkdir()
        for name in files:
            assert identities[name] == person
            os.symlink(deepface_images / name, root / person / name)
    return root


def test_identity_folders_load(folders: Path) -> None:
    dataset = load_dataset(folders)
    assert dataset.identities == set(PEOPLE)
    assert sorted(s.name for s in dataset.samples) == sorted(
        f"{p}/{f}" for p, fs in PEOPLE.items() for f in fs
    )


@pytest.mark.slow
def test_scores_through_the_server_equal_those_in_process(folders: Path, tmp_path: Path) -> None:
    import boto3

    dataset = load_dataset(folders)
    calibration = SimilarityCalibration.load()
    local = describe_in_process(dataset, calibration, progress=False)
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:

        def client():  # type: ignore[no-untyped-def]
            return boto3.client(
                "rekognition",
                endpoint_url=server.url,
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )

        remote = describe_via_endpoint(dataset, client, progress=False)
        order = [remote.names.index(n) for n in local.names]
        np.testing.assert_allclose(
            remote.similarity[np.ix_(order, order)], local.similarity, atol=1e-3
        )
        assert (
            client().list_collections()["CollectionIds"] == []
        )  # the temporary collection is gone

        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "agnosco.cli.main",
                "evaluate",
                str(folders),
                "--endpoint",
                server.url,
                "--region",
                REGION,
                "--no-progress",
                "--data-dir",
                str(tmp_path / "reports"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=os.environ
            | {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            },
            check=False,
        )
        assert result.returncode == 0, result.stderr
        folder = Path(result.stdout.strip().splitlines()[-1].removeprefix("report: ")).parent
        report = json.loads((folder / "report.json").read_text())
        assert report["mode"] == f"server {server.url}"
        # 7 images of 3 people: 3 + 1 + 1 genuine pairs, 21 - 5 impostor pairs.
        assert (
            report["verification"]["genuine_pairs"],
            report["verification"]["impostor_pairs"],
        ) == (5, 16)
    finally:
        server.stop()
