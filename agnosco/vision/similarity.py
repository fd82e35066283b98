"""Similarity (0-100) from descriptor distance, through a calibrated monotonic mapping.

A Similarity means something only if a threshold on it means a known error rate.  The
mapping is piecewise linear between *anchors* ``(distance, similarity)`` fitted by
``tools/calibrate_similarity.py`` from the impostor (different-person) distance distribution:
the anchor for Similarity 80 is the distance below which 1 in 100 impostor pairs fall
(FMR 1e-2), 90 is at FMR 1e-3, 95 at 1e-4 and 99 at 1e-5 or the closest impostor pair ever
seen, whichever is closer.  Distance 0 is Similarity 100; Similarity falls to 0 at the far
end of the impostor distribution.  ``docs/similarity.md`` has the measured FMR/FNMR table.

The calibration is a versioned JSON artifact in ``agnosco/vision/data`` tied to one
descriptor model; a deployer can fit their own and point Agnosco at it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from agnosco.vision.embedding import DESCRIPTOR_MODEL

DEFAULT_CALIBRATION = "similarity-dlib-resnet-v1.json"


@dataclass(frozen=True)
class SimilarityCalibration:
    """A monotonic distance -> Similarity mapping for one descriptor model."""

    model: str
    version: str
    distances: tuple[float, ...]  # increasing
    similarities: tuple[float, ...]  # decreasing, 100 first, 0 last

    def __post_init__(self) -> None:
        d, s = np.asarray(self.distances), np.asarray(self.similarities)
        if len(d) < 2 or len(d) != len(s):
            raise ValueError("a calibration needs at least two (distance, similarity) anchors")
        if np.any(np.diff(d) <= 0) or np.any(np.diff(s) >= 0):
            raise ValueError("calibration anchors must be strictly monotonic")
        if s[0] != 100.0 or s[-1] != 0.0 or d[0] != 0.0:
            raise ValueError("calibration must map distance 0 to 100 and end at Similarity 0")

    def similarity(self, distance: float | np.ndarray) -> np.ndarray:
        """Similarity in [0, 100] for descriptor distance(s); larger distance, lower Similarity."""
        return np.asarray(np.interp(distance, self.distances, self.similarities))

    def distance_at(self, similarity: float) -> float:
        """The largest distance whose Similarity is still >= ``similarity`` (infinite at 0)."""
        if similarity <= self.similarities[-1]:
            return float("inf")
        return float(np.interp(similarity, self.similarities[::-1], self.distances[::-1]))

    @classmethod
    def load(cls, path: Path | None = None) -> SimilarityCalibration:
        if path is None:
            text = (resources.files("agnosco.vision") / "data" / DEFAULT_CALIBRATION).read_text()
        else:
            text = Path(path).read_text()
        doc = json.loads(text)
        if doc["model"] != DESCRIPTOR_MODEL:
            raise ValueError(f"calibration is for {doc['model']!r}, not {DESCRIPTOR_MODEL!r}")
        anchors = doc["anchors"]
        return cls(
            model=doc["model"],
            version=doc["version"],
            distances=tuple(float(a["distance"]) for a in anchors),
            similarities=tuple(float(a["similarity"]) for a in anchors),
        )
