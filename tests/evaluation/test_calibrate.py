"""fit_calibration: anchors at impostor FMRs, populations weighing the same, extrapolation."""

from __future__ import annotations

import numpy as np
import pytest

from agnosco.evaluation.calibrate import fit_calibration, pooled_quantile
from agnosco.vision.similarity import SimilarityCalibration


def _fit(impostors) -> tuple[dict, SimilarityCalibration]:  # type: ignore[no-untyped-def]
    document = fit_calibration(impostors, version="test", fitted_on="test")
    anchors = document["anchors"]
    calibration = SimilarityCalibration(
        model=document["model"],
        version="test",
        distances=tuple(a["distance"] for a in anchors),
        similarities=tuple(a["similarity"] for a in anchors),
    )
    return document, calibration


def test_anchors_sit_at_the_impostor_fmrs():
    impostor = np.random.default_rng(0).normal(1.0, 0.15, 2_000_000)
    document, calibration = _fit(impostor)
    for similarity, fmr, tolerance in (
        (80.0, 1e-2, 0.02),
        (90.0, 1e-3, 0.05),
        (95.0, 1e-4, 0.15),
        (99.0, 1e-5, 0.35),
    ):  # 20 pairs at 1e-5: anchors round
        measured = float((calibration.similarity(impostor) >= similarity).mean())
        assert measured == pytest.approx(fmr, rel=tolerance), similarity
    assert all(a["how"] == "measured" for a in document["fmr_anchors"])


@pytest.mark.parametrize("seed", range(5))
def test_the_mapping_is_monotonic_for_any_data(seed):
    rng = np.random.default_rng(seed)
    impostor = np.abs(rng.standard_cauchy(rng.integers(300, 5000)))  # heavy tails, ties near 0
    _, calibration = _fit(impostor)
    grid = np.linspace(0, 3, 3001)
    assert np.all(np.diff(calibration.similarity(grid)) <= 0)
    assert np.all(np.diff(calibration.distances) > 0)


def test_populations_weigh_the_same_whatever_their_size():
    rng = np.random.default_rng(1)
    large = rng.normal(1.0, 0.1, 1_000_000)  # FMR 1e-2 near 0.767
    small = rng.normal(0.8, 0.1, 10_000)  # a population far more often confused: near 0.567
    _, calibration = _fit({"large": large, "small": small})
    at_80 = calibration.distance_at(80.0)
    mean_rate = ((large <= at_80).mean() + (small <= at_80).mean()) / 2
    assert mean_rate == pytest.approx(1e-2, rel=0.05)
    # Pooling the pairs instead would let the large population decide: FMR 1e-2 on it.
    assert float(np.quantile(small, 1e-2)) < at_80 < float(np.quantile(large, 1e-2))


def test_an_fmr_some_population_cannot_resolve_is_extrapolated():
    rng = np.random.default_rng(2)
    # 40,000 pairs resolve FMR 1e-4 (30,000 needed) but not 1e-5, whatever the other holds.
    document, _ = _fit({"large": rng.normal(1, 0.1, 500_000), "small": rng.normal(1, 0.1, 40_000)})
    how = {a["similarity"]: a["how"] for a in document["fmr_anchors"]}
    assert how == {80.0: "measured", 90.0: "measured", 95.0: "measured", 99.0: "extrapolated"}
    d = {a["similarity"]: a["distance"] for a in document["fmr_anchors"]}
    assert d[99.0] == pytest.approx(d[95.0] - (d[90.0] - d[95.0]))


def test_too_few_pairs_are_refused():
    with pytest.raises(ValueError, match="at least 300"):
        fit_calibration(
            {"ok": np.linspace(0.5, 1.5, 5000), "tiny": np.ones(100)}, version="t", fitted_on="t"
        )


def test_pooled_quantile_of_one_population_is_its_quantile():
    values = np.sort(np.random.default_rng(3).random(10_000))
    assert pooled_quantile([values], 0.01) == pytest.approx(
        float(np.quantile(values, 0.01)), abs=2e-4
    )
