"""SimilarityCalibration: the monotonic distance -> Similarity mapping behind CompareFaces."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agnosco.vision.embedding import DESCRIPTOR_MODEL
from agnosco.vision.similarity import SimilarityCalibration

SHIPPED = SimilarityCalibration.load()
CUSTOM = SimilarityCalibration(
    model=DESCRIPTOR_MODEL,
    version="test",
    distances=(0.0, 0.3, 0.5, 0.7, 1.2),
    similarities=(100.0, 99.0, 90.0, 80.0, 0.0),
)


@pytest.fixture(params=["shipped", "custom"])
def calibration(request) -> SimilarityCalibration:
    return SHIPPED if request.param == "shipped" else CUSTOM


def test_shipped_calibration_is_for_the_descriptor_model():
    assert SHIPPED.model == DESCRIPTOR_MODEL
    assert SHIPPED.version
    assert len(SHIPPED.distances) == len(SHIPPED.similarities) >= 2


def test_shipped_calibration_was_fitted_on_the_current_pipeline():
    """A change of detector, alignment or network moves the descriptors, so it bumps
    PIPELINE_VERSION and the calibration is refitted (tools/calibrate_similarity.py --write)."""
    from importlib.resources import files

    from agnosco.vision.pipeline import PIPELINE_VERSION
    from agnosco.vision.similarity import DEFAULT_CALIBRATION

    document = json.loads((files("agnosco.vision") / "data" / DEFAULT_CALIBRATION).read_text())
    assert document["fitted_on"].endswith(f"pipeline {PIPELINE_VERSION}")


def test_distance_zero_is_similarity_100(calibration):
    assert float(calibration.similarity(0.0)) == 100.0


def test_similarity_decreases_with_distance(calibration):
    distances = np.linspace(0.0, calibration.distances[-1], 2001)
    values = calibration.similarity(distances)
    assert values.shape == distances.shape
    assert np.all(np.diff(values) < 0), "strictly decreasing inside the calibrated range"
    # And never increases past the last anchor.
    far = calibration.similarity(np.linspace(calibration.distances[-1], 10.0, 50))
    assert np.all(np.diff(far) <= 0)


@pytest.mark.parametrize("distance", [-5.0, -0.1, 1.5, 2.0, 100.0, 1e9])
def test_similarity_is_clamped_to_0_100(calibration, distance):
    value = float(calibration.similarity(distance))
    assert 0.0 <= value <= 100.0
    if distance < 0:
        assert value == 100.0
    if distance >= calibration.distances[-1]:
        assert value == 0.0


def test_similarity_accepts_arrays(calibration):
    distances = np.array([[0.0, 0.2], [0.4, 5.0]])
    values = calibration.similarity(distances)
    assert values.shape == (2, 2)
    assert values[0, 0] == 100.0 and values[1, 1] == 0.0


def test_distance_at_inverts_similarity_at_the_anchors(calibration):
    for distance, similarity in zip(calibration.distances, calibration.similarities):
        assert float(calibration.similarity(distance)) == pytest.approx(similarity)
        if similarity > 0:
            assert calibration.distance_at(similarity) == pytest.approx(distance)
    # Every distance, however large, has Similarity >= 0: a threshold of 0 admits all faces.
    assert calibration.distance_at(0.0) == float("inf")


@pytest.mark.parametrize("similarity", [1.0, 25.0, 50.0, 80.0, 85.5, 95.0, 99.0, 99.9])
def test_distance_at_round_trips_between_anchors(calibration, similarity):
    distance = calibration.distance_at(similarity)
    assert 0.0 <= distance <= calibration.distances[-1]
    assert float(calibration.similarity(distance)) == pytest.approx(similarity, abs=1e-9)
    # It is the *largest* such distance: a little further is below the threshold.
    assert float(calibration.similarity(distance + 1e-6)) < similarity


def test_custom_calibration_interpolates_linearly():
    assert float(CUSTOM.similarity(0.6)) == pytest.approx(85.0)
    assert float(CUSTOM.similarity(0.95)) == pytest.approx(40.0)
    assert CUSTOM.distance_at(95.0) == pytest.approx(0.3 + 0.2 * 4 / 9)


def test_shipped_similarity_99_is_closer_than_80():
    d99, d80 = SHIPPED.distance_at(99.0), SHIPPED.distance_at(80.0)
    assert 0.0 < d99 < d80
    assert SHIPPED.distance_at(100.0) == 0.0


def test_shipped_80_matches_dlib_same_person_distance():
    # dlib's own guidance: same person below ~0.6; the calibration must not be far off it.
    assert 0.4 <= SHIPPED.distance_at(80.0) <= 0.7


@pytest.mark.parametrize(
    "distances, similarities, problem",
    [
        ((0.0,), (100.0,), "a single anchor"),
        ((), (), "no anchors"),
        ((0.0, 1.0, 2.0), (100.0, 0.0), "mismatched lengths"),
        ((0.0, 1.0, 1.0), (100.0, 50.0, 0.0), "repeated distance"),
        ((0.0, 1.0, 0.5), (100.0, 50.0, 0.0), "decreasing distance"),
        ((0.0, 0.5, 1.0), (100.0, 50.0, 50.0), "repeated similarity"),
        ((0.0, 0.5, 1.0), (100.0, 60.0, 70.0), "increasing similarity"),
        ((0.0, 0.5, 1.0), (90.0, 50.0, 0.0), "does not start at 100"),
        ((0.0, 0.5, 1.0), (100.0, 50.0, 10.0), "does not end at 0"),
        ((0.1, 0.5, 1.0), (100.0, 50.0, 0.0), "first distance is not 0"),
    ],
)
def test_invalid_anchors_raise(distances, similarities, problem):
    with pytest.raises(ValueError):
        SimilarityCalibration(
            model=DESCRIPTOR_MODEL, version="bad", distances=distances, similarities=similarities
        )


def _write(tmp_path, model: str, anchors: list[tuple[float, float]]):
    path = tmp_path / "calibration.json"
    path.write_text(
        json.dumps(
            {
                "model": model,
                "version": "t1",
                "anchors": [{"distance": d, "similarity": s} for d, s in anchors],
            }
        )
    )
    return path


def test_load_from_path(tmp_path):
    path = _write(tmp_path, DESCRIPTOR_MODEL, [(0.0, 100.0), (0.4, 80.0), (1.0, 0.0)])
    loaded = SimilarityCalibration.load(path)
    assert loaded.version == "t1"
    assert loaded.distances == (0.0, 0.4, 1.0)
    assert float(loaded.similarity(0.4)) == pytest.approx(80.0)


def test_calibration_for_another_model_is_refused(tmp_path):
    path = _write(tmp_path, "facenet512", [(0.0, 100.0), (0.4, 80.0), (1.0, 0.0)])
    with pytest.raises(ValueError, match="facenet512"):
        SimilarityCalibration.load(path)


def test_loaded_file_with_bad_anchors_is_refused(tmp_path):
    path = _write(tmp_path, DESCRIPTOR_MODEL, [(0.0, 100.0), (0.4, 90.0), (0.3, 0.0)])
    with pytest.raises(ValueError):
        SimilarityCalibration.load(path)
