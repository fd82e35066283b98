"""Face detectors behind one interface, chosen by name from an explicit registry.

To add a detector: implement :class:`~agnosco.vision.detectors.base.FaceDetector` in a
module here and add one line to :data:`DETECTORS`.  Unknown names raise; nothing silently
falls back to a default.  ``docs/detection.md`` has the measurements behind the default.
"""

from __future__ import annotations

from collections.abc import Callable

from agnosco.vision.detectors.base import Detection, FaceDetector
from agnosco.vision.detectors.hog import HogDetector
from agnosco.vision.detectors.retinaface import RetinaFaceDetector

DETECTORS: dict[str, Callable[[], FaceDetector]] = {
    "retinaface": lambda: RetinaFaceDetector(),
    "hog": lambda: HogDetector(),
}
DEFAULT_DETECTOR = "retinaface"


def make_detector(name: str = DEFAULT_DETECTOR) -> FaceDetector:
    """The detector registered under ``name``.

    :raises ValueError: for a name not in :data:`DETECTORS`.
    """
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise ValueError(
            f"unknown face detector {name!r}; choose from {sorted(DETECTORS)}"
        ) from None
    return factory()


__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "Detection", "FaceDetector", "make_detector"]
