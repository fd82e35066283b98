"""A folder of real images (symbolic links into ../shared/data), the CLI as a subprocess, and
what a data directory's collection holds."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: ``agnosco`` with the bulk group registered (until main.py lists it in COMMAND_GROUPS).

#: Path in the test folder -> deepface-pairs image (or "no-faces/<name>").
FILES = {
    "couple.jpg": "couple.jpg",  # two faces
    **{f"img{i}.jpg": f"img{i}.jpg" for i in range(1, 9)},
    "img16.jpg": "img16.jpg",  # one face indexed, one too poor for AUTO
    "img47.jpg": "img47.jpg",  # a WebP file named .jpg: InvalidImageFormatException
    "sub/brick.png": "no-faces/brick.png",  # no face
    "sub/my photo.jpg": "img9.jpg",
    "Ünïcode/José.jpg": "img10.jpg",
}
#: ExternalImageId -> faces IndexFaces (AUTO) stores for it.
EXPECTED_FACES = {
    "couple.jpg": 2,
    **{f"img{i}.jpg": 1 for i in range(1, 9)},
    "img16.jpg": 1,
    "sub:my_photo.jpg": 1,
    "Unicode:Jose.jpg": 1,
}
COLLECTION = "bulk"


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "agnosco.cli.main", *args]


def run_cli(
    *args: str, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args),
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def summary_of(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return json.loads(result.stdout)


def stored_faces(
    data_dir: Path, collection: str = COLLECTION, store_url: str | None = None
) -> list:
    from agnosco.storage import open_store

    store = open_store(store_url, data_dir)
    try:
        faces, after = [], None
        while True:
            page = store.list_faces(collection, after, 1000)
            faces.extend(page.items)
            if page.next_key is None:
                return faces
            after = page.next_key
    finally:
        store.close()


def faces_per_external_id(
    data_dir: Path, collection: str = COLLECTION, store_url: str | None = None
) -> Counter[str]:
    return Counter(face.external_image_id for face in stored_faces(data_dir, collection, store_url))


def assert_no_duplicates(
    data_dir: Path, collection: str = COLLECTION, store_url: str | None = None
) -> None:
    """Every ExternalImageId has exactly one ImageId, and exactly the expected faces."""
    image_ids: dict[str, set[str]] = {}
    for face in stored_faces(data_dir, collection, store_url):
        image_ids.setdefault(face.external_image_id, set()).add(face.image_id)
    assert all(len(ids) == 1 for ids in image_ids.values()), image_ids
    assert faces_per_external_id(data_dir, collection, store_url) == EXPECTED_FACES


@pytest.fixture(scope="session")
def image_folder(
    tmp_path_factory: pytest.TempPathFactory, deepface_images: Path, no_faces_dir: Path
) -> Path:
    """FILES as symbolic links to the shared images."""
    root = tmp_path_factory.mktemp("bulk-images")
    for name, target in FILES.items():
        source = (
            no_faces_dir / "images" / target.split("/", 1)[1]
            if target.startswith("no-faces/")
            else deepface_images / target
        )
        assert source.is_file(), source
        link = root / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source)
    return root


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, image_folder: Path) -> tuple[Path, dict]:
    """One ``index-folder`` run with two worker processes into a fresh data directory."""
    data_dir = tmp_path_factory.mktemp("bulk-data") / "data"
    result = run_cli(
        "index-folder",
        str(image_folder),
        "--collection",
        COLLECTION,
        "--create-collection",
        "--workers",
        "2",
        "--data-dir",
        str(data_dir),
    )
    return data_dir, summary_of(result)
