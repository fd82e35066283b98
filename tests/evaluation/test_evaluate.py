"""agnosco evaluate: pairs, groups and identification on a hand-computable set and on real data."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agnosco.evaluation.datasets import Dataset, LabelledPair, Sample, load_dataset
from agnosco.evaluation.describe import Scores
from agnosco.evaluation.evaluate import evaluate, pair_scores
from agnosco.vision.similarity import SimilarityCalibration


def tiny(folder: Path) -> tuple[Dataset, Scores]:
    """Five images: A twice, B twice, C once; groups g = x (A, B) and y (C).

    The files only need distinct bytes (the data set's fingerprint reads them); the scores are
    given, not computed."""
    names = ["a1", "a2", "b1", "b2", "c1"]
    identity = {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "c1": "C"}
    group = {"a1": "x", "a2": "x", "b1": "x", "b2": "x", "c1": "y"}
    for n in names:
        (folder / n).write_bytes(n.encode())
    samples = [Sample(folder / n, n, identity[n], {"g": group[n]}) for n in names]
    s = np.full((5, 5), 10.0)
    np.fill_diagonal(s, 100.0)
    pairs = {
        ("a1", "a2"): 95.0,
        ("b1", "b2"): 70.0,  # genuine: one match at 80, one miss
        ("a1", "b1"): 85.0,
        ("a2", "c1"): 81.0,
    }  # two impostor pairs above 80
    for (p, q), v in pairs.items():
        i, j = names.index(p), names.index(q)
        s[i, j] = s[j, i] = v
    return Dataset(folder, samples, None, ["g"], False), Scores(names, s)


def test_hand_computed_verification_and_groups(tmp_path: Path) -> None:
    dataset, scores = tiny(tmp_path)
    report = evaluate(dataset, scores, SimilarityCalibration.load()).report
    v = report.verification
    # 10 pairs: 2 genuine (a1-a2, b1-b2), 8 impostor.
    assert (v.genuine_pairs, v.impostor_pairs) == (2, 8)
    at80 = v.at_similarity[0]
    assert at80.fmr.errors == 2 and at80.fmr.trials == 8  # a1-b1 85, a2-c1 81
    assert at80.fnmr.errors == 1 and at80.fnmr.trials == 2  # b1-b2 70
    at90 = v.at_similarity[1]
    assert at90.fmr.errors == 0 and at90.fnmr.errors == 1
    # Group x holds a1, a2, b1, b2: impostor pairs a1-b1, a1-b2, a2-b1, a2-b2 (one above 80).
    x = report.groups["g"].at_deployed.groups["x"]
    assert (x.fmr.errors, x.fmr.trials) == (1, 4)
    assert (x.fnmr.errors, x.fnmr.trials) == (1, 2)
    # Group y has a single image: no within-group pairs, so its FMR is not measured.
    y = report.groups["g"].at_deployed.groups["y"]
    assert y.fmr.trials == 0 and y.fmr.rate is None
    # Identification: A and B keep their last image as probe (a2, b2); C goes to the gallery.
    assert report.identification is not None
    ident = report.identification.result
    assert (ident.mated, ident.non_mated) == (2, 0)
    # a2's best: A (a1, 95) beats C (81): rank 1. b2's best: B (b1, 70) vs A (a1 10, a2 10) -> rank 1.
    assert ident.rank1 == 1.0
    # At 80, b2's own identity scores 70 < 80: FNIR 1/2; a2 returns C at 81: one false candidate.
    point80 = ident.points[0]
    assert point80.fnir.errors == 1 and point80.false_candidates_per_probe == 0.5


def test_labelled_pairs_and_lost_pairs(tmp_path: Path) -> None:
    dataset, scores = tiny(tmp_path)
    failed = Scores(
        scores.names[:-1], scores.similarity[:4, :4], failures={"c1": "no face detected"}
    )
    labelled = Dataset(
        dataset.source,
        dataset.samples,
        [
            LabelledPair("a1", "a2", True, "1"),
            LabelledPair("a1", "b1", False, "1"),
            LabelledPair("b1", "b2", True, "2"),
            LabelledPair("a2", "c1", False, "2"),
        ],
        ["g"],
        False,
    )
    pairs = pair_scores(labelled, failed)
    assert list(pairs.genuine) == [95.0, 70.0] and list(pairs.impostor) == [85.0]
    assert pairs.lost == 1 and sorted(pairs.folds) == ["1", "2"]
    report = evaluate(labelled, failed, SimilarityCalibration.load()).report
    assert report.enrolment.overall.errors == 1
    assert report.enrolment.by_group["g"]["y"].errors == 1
    assert set(report.verification.folds) == {"1", "2"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agnosco.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evaluations")


@pytest.mark.slow
def test_utkface_groups_without_identities(shared_data: Path, data_dir: Path) -> None:
    labels = shared_data / "demographics-utkface" / "labels.csv"
    result = run_cli(
        "evaluate", str(labels), "--distinct", "--no-progress", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip().splitlines()[-1].removeprefix("report: ")).parent
    report = json.loads((folder / "report.json").read_text())
    assert report["dataset"]["samples"] == 591
    assert report["verification"]["genuine_pairs"] == 0
    enrolled = 591 - report["enrolment"]["overall"]["errors"]
    assert report["verification"]["impostor_pairs"] == enrolled * (enrolled - 1) // 2
    assert set(report["groups"]) >= {"race", "gender", "age_bucket", "worst_group_fmr"}
    race = report["groups"]["race"]["at_deployed"]["groups"]
    assert set(race) == {"White", "Black", "Asian", "Indian", "Others"}
    assert set(report["enrolment"]["by_group"]["gender"]) == {"male", "female"}
    curve = [p["fmr"] for p in report["groups"]["worst_group_fmr"]]
    assert all(a >= b for a, b in itertools.pairwise(curve))  # FMR falls as the threshold rises
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    listed = json.loads(run_cli("evaluate", "--list", "--data-dir", str(data_dir)).stdout)
    assert any(r["Fingerprint"] == report["dataset"]["fingerprint"][:12] for r in listed)
    # Re-running reads every descriptor from the cache and yields the same numbers.
    cache = next((data_dir / "evaluations" / "cache").glob("descriptors-*.npz"))
    before = cache.stat().st_mtime_ns
    again = run_cli(
        "evaluate", str(labels), "--distinct", "--no-progress", "--data-dir", str(data_dir)
    )
    assert again.returncode == 0 and cache.stat().st_mtime_ns == before
    rerun = json.loads(
        (
            Path(again.stdout.strip().splitlines()[-1].removeprefix("report: ")).parent
            / "report.json"
        ).read_text()
    )
    assert rerun["verification"]["impostor_pairs"] == report["verification"]["impostor_pairs"]
    assert rerun["groups"]["race"] == report["groups"]["race"]


@pytest.mark.slow
def test_deepface_identities_and_pairs(shared_data: Path, data_dir: Path) -> None:
    root = shared_data / "deepface-pairs"
    dataset = load_dataset(root / "identities.csv", pairs_csv=root / "pairs_exhaustive.csv")
    assert len(dataset.identities) == 13
    result = run_cli(
        "evaluate",
        str(root / "identities.csv"),
        "--pairs",
        str(root / "pairs_exhaustive.csv"),
        "--no-progress",
        "--data-dir",
        str(data_dir),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(
        (
            Path(result.stdout.strip().splitlines()[-1].removeprefix("report: ")).parent
            / "report.json"
        ).read_text()
    )
    v = report["verification"]
    assert (v["genuine_pairs"], v["impostor_pairs"]) == (140, 1690)
    assert v["at_similarity"][0]["fnmr"]["rate"] < 0.05
    assert v["auc"] > 0.99
    unsupported = [
        e["target"]["target_fmr"] for e in v["at_target_fmr"] if not e["target"]["supported"]
    ]
    assert unsupported == [1e-3, 1e-4]  # 1690 impostor pairs resolve 1e-2 only
    assert report["identification"]["result"]["mated"] == 13
    assert report["identification"]["result"]["rank1"] >= 0.9


@pytest.mark.slow
def test_calibrate_writes_an_artifact_the_server_loads(shared_data: Path, data_dir: Path) -> None:
    from agnosco.deployment import load_calibration

    labels = shared_data / "demographics-utkface" / "labels.csv"
    result = run_cli(
        "calibrate", str(labels), "--distinct", "--no-progress", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    version = result.stdout.split("wrote calibration ", 1)[1].split()[0]
    calibration = load_calibration(data_dir)
    assert calibration.version == version
    assert calibration.distance_at(99) < calibration.distance_at(90) < calibration.distance_at(80)
    document = json.loads((data_dir / "calibration.json").read_text())
    assert [a["how"] for a in document["fmr_anchors"]] == [
        "measured",
        "measured",
        "measured",
        "extrapolated",
    ]
