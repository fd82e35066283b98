"""Fit the distance -> Similarity calibration from impostor distances.

Similarity is anchored to false-match rates: 80 at the distance below which 1 in 100 impostor
pairs fall (FMR 1e-2), 90 at 1e-3, 95 at 1e-4, 99 at 1e-5; 50 at the median impostor
distance, 0 at the farthest, 100 at distance 0; linear in between.

Impostor pairs may come from several *populations* (data sets of different people: public
figures, a demographic sample, a deployer's own enrolment photos).  Each population then weighs
the same whatever its number of pairs: an anchor sits where the FMR averaged over the
populations is the anchor's, counting only the populations.  An anchor is measured when every
population has enough pairs to resolve its FMR (at least ``ceil(3 / fmr)``); beyond that it is
extrapolated log-linearly from the last decade that is resolved (an average over fewer
populations would move the scale wherever the largest set happens to lie), and the artifact
says which anchors were measured and which extrapolated.  The result is a versioned JSON artifact
(:class:`~agnosco.vision.similarity.SimilarityCalibration` reads it); ``agnosco serve`` loads
``DATA_DIR/calibration.json`` when it exists, the shipped default otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypedDict

import numpy as np

from agnosco.vision.embedding import DESCRIPTOR_MODEL
from agnosco.vision.similarity import SimilarityCalibration

ANCHOR_FMRS = ((80.0, 1e-2), (90.0, 1e-3), (95.0, 1e-4), (99.0, 1e-5))


class FmrAnchor(TypedDict):
    """Where one Similarity anchor sits: the distance at its FMR, measured or extrapolated."""

    similarity: float
    fmr: float
    distance: float
    how: Literal["measured", "extrapolated"]


class DistanceAnchor(TypedDict):
    """One point of the piecewise linear distance -> Similarity mapping."""

    distance: float
    similarity: float


class CalibrationDocument(TypedDict):
    """The calibration artifact, as written to ``calibration.json``."""

    model: str
    version: str
    fitted_on: str
    created: str
    method: str
    fmr_anchors: list[FmrAnchor]
    anchors: list[DistanceAnchor]


def fit_calibration(
    impostor_distances: np.ndarray | Mapping[str, np.ndarray], *, version: str, fitted_on: str
) -> CalibrationDocument:
    """The calibration document (see the module docstring); ``impostor_distances`` is one
    population's distances or a mapping of population name -> distances.

    :raises ValueError: when a population has fewer than 300 impostor pairs (FMR 1e-2 would
        not be resolved).
    """
    if isinstance(impostor_distances, Mapping):
        populations = [
            np.sort(np.asarray(d, dtype=np.float64)) for d in impostor_distances.values()
        ]
    else:
        populations = [np.sort(np.asarray(impostor_distances, dtype=np.float64))]
    smallest = min((len(p) for p in populations), default=0)
    if smallest < math.ceil(3 / ANCHOR_FMRS[0][1]):
        raise ValueError(
            f"{smallest} impostor pairs cannot anchor even FMR 1e-2; at least 300 are needed"
        )
    measured = {
        fmr: pooled_quantile(populations, fmr)
        for _, fmr in ANCHOR_FMRS
        if smallest >= math.ceil(3 / fmr)
    }
    median = pooled_quantile(populations, 0.5)
    farthest = float(max(p[-1] for p in populations))
    resolved = sorted(measured)  # ascending FMR: the smallest resolved first
    if len(resolved) >= 2:
        per_decade = measured[resolved[1]] - measured[resolved[0]]
    else:  # one decade only: use the spread between FMR 1e-2 and the median
        per_decade = (median - measured[resolved[0]]) / 1.7
    per_decade = max(per_decade, 1e-6)
    distances: dict[float, float] = {}
    anchors_doc: list[FmrAnchor] = []
    for similarity, fmr in ANCHOR_FMRS:
        how: Literal["measured", "extrapolated"]
        if fmr in measured:
            d, how = measured[fmr], "measured"
        else:
            decades = math.log10(resolved[0] / fmr)
            d, how = measured[resolved[0]] - decades * per_decade, "extrapolated"
        distances[similarity] = d
        anchors_doc.append({"similarity": similarity, "fmr": fmr, "distance": d, "how": how})
    points = [(0.0, 100.0)] + [(distances[s], s) for s in (99.0, 95.0, 90.0, 80.0)]
    points += [(median, 50.0), (farthest, 0.0)]
    # Keep the mapping strictly monotonic even for odd data (tiny sets, ties).
    cleaned = [points[0]]
    for d, s in points[1:]:
        d = max(d, cleaned[-1][0] + 1e-6)
        cleaned.append((d, s))
    return {
        "model": DESCRIPTOR_MODEL,
        "version": version,
        "fitted_on": fitted_on,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "method": "piecewise linear between impostor-distance quantiles (agnosco.evaluation.calibrate)",
        "fmr_anchors": anchors_doc,
        "anchors": [{"distance": round(d, 6), "similarity": s} for d, s in cleaned],
    }


def pooled_quantile(populations: list[np.ndarray], fmr: float) -> float:
    """The distance below which, on average over the (sorted) populations, a share ``fmr``
    of impostor pairs fall: each population weighs the same."""

    def mean_rate(distance: float) -> float:
        return float(
            np.mean([np.searchsorted(p, distance, side="right") / len(p) for p in populations])
        )

    low, high = min(p[0] for p in populations), max(p[-1] for p in populations)
    for _ in range(60):  # bisection: the mean rate is monotonic in the distance
        middle = (low + high) / 2
        if mean_rate(middle) < fmr:
            low = middle
        else:
            high = middle
    return float(high)


def write_calibration(document: CalibrationDocument, path: Path) -> SimilarityCalibration:
    """Validate by loading, then write atomically; returns the loaded calibration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(document, indent=2) + "\n")
    calibration = SimilarityCalibration.load(temp)
    temp.replace(path)
    return calibration
