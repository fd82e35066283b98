"""One registry of models for the process: every model loads lazily, once, thread-safely."""

from __future__ import annotations

import threading
import time

import pytest

from agnosco.vision import models
from agnosco.vision.models import MODELS, ModelRegistry


def test_a_model_loads_once_on_first_use_whatever_the_threads() -> None:
    registry = ModelRegistry()
    calls: list[int] = []

    def load() -> object:
        calls.append(1)
        time.sleep(0.05)  # long enough for the other threads to arrive while it loads
        return object()

    model = registry.register("m", load)
    assert not model.loaded and registry.loaded() == [] and calls == []
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(model.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(got) == 8 and all(g is got[0] for g in got)
    assert registry.loaded() == ["m"]


def test_a_name_registered_again_is_the_same_model() -> None:
    registry = ModelRegistry()
    first = registry.register("m", lambda: "first")
    again = registry.register("m", lambda: "second")
    assert again is first and again.get() == "first"
    assert registry["m"] is first and registry.names() == ["m"]
    with pytest.raises(KeyError):
        registry["unknown"]


def test_a_failed_load_is_not_kept() -> None:
    registry = ModelRegistry()
    attempts: list[int] = []

    def load() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise models.ModelUnavailableError("not installed")
        return "loaded"

    model = registry.register("m", load)
    with pytest.raises(models.ModelUnavailableError):
        model.get()
    assert not model.loaded
    assert model.get() == "loaded" and len(attempts) == 2


def test_every_model_of_the_process_is_in_the_one_registry() -> None:
    from agnosco.operations.context import OperationContext
    from agnosco.vision import embedding, landmarks, moderation, text
    from agnosco.vision.detectors import hog, retinaface

    for lazy in (
        retinaface._MODEL,
        hog._HOG,
        landmarks._PREDICTOR,
        embedding._NET._session,
        text._OCR,
        moderation._NSFW,
    ):
        assert MODELS[lazy.name] is lazy
    # contexts, analyzers and readers made again share the process's models
    a, b = OperationContext(), OperationContext()
    assert a.analyzer is not b.analyzer and a.text_reader is not b.text_reader
    assert embedding.DlibResNet()._session is embedding._NET._session
