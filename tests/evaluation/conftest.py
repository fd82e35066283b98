"""Evaluations to test reports on: two real ones over ``../shared/data`` and small synthetic ones.

The real evaluations describe every image once and cache the descriptors in ``.cache/evaluation``
under the repository root (git-ignored): the first run takes about a minute, later runs seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agnosco.evaluation.datasets import Dataset, LabelledPair, Sample, load_dataset
from agnosco.evaluation.describe import Scores, describe_in_process
from agnosco.evaluation.evaluate import Evaluation, evaluate
from agnosco.vision.similarity import SimilarityCalibration
from tests.conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
DESCRIPTOR_CACHE = REPO / ".cache" / "evaluation"


def _shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"../shared/data is absent: {path} does not exist; the real-data evaluation tests "
            "need the shared data sets next to the repository."
        )
    return path


@pytest.fixture(scope="session")
def calibration() -> SimilarityCalibration:
    return SimilarityCalibration.load()


@pytest.fixture(scope="session")
def utkface_evaluation(calibration: SimilarityCalibration) -> Evaluation:
    """UTKFace chips: every image a different person, three group columns (impostor pairs only)."""
    dataset = load_dataset(_shared("demographics-utkface", "labels.csv"), distinct=True)
    scores = describe_in_process(dataset, calibration, cache_dir=DESCRIPTOR_CACHE, progress=False)
    return evaluate(dataset, scores, calibration)


@pytest.fixture(scope="session")
def deepface_evaluation(calibration: SimilarityCalibration) -> Evaluation:
    """deepface-pairs: 13 identities, labelled genuine and impostor pairs, no group columns."""
    root = _shared("deepface-pairs")
    dataset = load_dataset(root / "identities.csv", pairs_csv=root / "pairs_exhaustive.csv")
    scores = describe_in_process(dataset, calibration, cache_dir=DESCRIPTOR_CACHE, progress=False)
    return evaluate(dataset, scores, calibration)


# --- synthetic evaluations: a Dataset and Scores built by hand, evaluated by the real code ------


class _Calibration:
    version = "test-calibration"


def _synthetic(
    folder: Path,
    specs: list[tuple[str, str | None, dict[str, str]]],
    *,
    failed: dict[str, str] | None = None,
    distinct: bool = False,
    pairs: list[LabelledPair] | None = None,
    impostor: float = 40.0,
    impostor_within: tuple[str, str, float] | None = None,
    seed: int = 0,
) -> Evaluation:
    """An Evaluation of samples ``(name, identity, groups)`` whose Similarity is about 92 within an
    identity and ``impostor`` across (sd 8), or ``impostor_within = (column, value, mean)`` across
    two samples of that group; ``failed`` samples fail to enrol."""
    folder.mkdir(parents=True, exist_ok=True)
    failed = failed or {}
    samples = []
    for name, identity, groups in specs:
        path = folder / name
        path.write_bytes(name.encode())  # the fingerprint hashes the bytes; nothing decodes them
        samples.append(Sample(path, name, identity, groups))
    columns = sorted({c for _, _, groups in specs for c in groups})
    dataset = Dataset(folder / "labels.csv", samples, pairs, columns, distinct)
    names = [s.name for s in samples if s.name not in failed]
    enrolled = [next(s for s in samples if s.name == n) for n in names]
    ids = np.array([s.identity or s.name for s in enrolled], dtype=object)
    mean = np.full((len(names), len(names)), impostor)
    if impostor_within:
        column, value, within = impostor_within
        member = np.array([s.groups.get(column) == value for s in enrolled])
        mean[np.outer(member, member)] = within
    mean[ids[:, None] == ids[None, :]] = 92.0
    noise = np.random.default_rng(seed).normal(0, 8 * np.sqrt(2), mean.shape)
    sim = np.clip(mean + (noise + noise.T) / 2, 0, 100)
    np.fill_diagonal(sim, 100.0)
    scores = Scores(names, sim, dict(failed), {n: 1 for n in names})
    return evaluate(dataset, scores, _Calibration())  # type: ignore[arg-type]


DARK = "dark <b>&amp;</b>"  # a group value with markup: the report must escape it
OLD = "_old $x$"  # matplotlib would hide a legend label "_..." and typeset "$x$" as mathtext


def synthetic_evaluation(kind: str, folder: Path) -> Evaluation:
    """``"full"`` (identities, two group columns, a failure, markup in a group value),
    ``"impostor-only"``, ``"empty-group"`` (impostor pairs only, a group without any pair and an
    unbounded FMR ratio), ``"folds"`` (labelled pairs in two folds) or ``"empty"`` (nothing to
    compare)."""
    if kind == "full":  # impostors within the "dark <b>&amp;</b>" group score higher: an FMR flag
        tone = ["light", DARK]
        specs = [
            (f"{p}{k}.png", p, {"tone": tone[i % 2], "age": ("young", OLD)[k % 2]})
            for i, p in enumerate("ABCDEFGHIJKL")
            for k in range(3)
        ]
        specs += [(f"S{k}.png", f"single{k}", {"tone": tone[k % 2], "age": OLD}) for k in range(8)]
        return _synthetic(
            folder,
            specs,
            failed={"D1.png": "no face detected"},
            impostor=65.0,
            impostor_within=("tone", DARK, 75.0),
        )
    if kind == "impostor-only":
        specs = [(f"x{k}.png", None, {"tone": ("light", "dark")[k % 2]}) for k in range(40)]
        return _synthetic(folder, specs, distinct=True)
    if (
        kind == "empty-group"
    ):  # "medium" has one image; "dark" impostors score high, "light" never 80
        specs = [(f"x{k}.png", None, {"tone": ("light", "dark")[k % 2]}) for k in range(40)]
        specs.append(("m0.png", None, {"tone": "medium"}))
        return _synthetic(folder, specs, distinct=True, impostor_within=("tone", "dark", 75.0))
    if kind == "folds":
        specs = [(f"{p}{k}.png", p, {}) for p in "ABCDEF" for k in range(2)]
        pairs = [
            LabelledPair(f"{p}0.png", f"{p}1.png", True, f"fold{i % 2 + 1}")
            for i, p in enumerate("ABCDEF")
        ]
        pairs += [
            LabelledPair(f"{p}0.png", f"{q}1.png", False, f"fold{i % 2 + 1}")
            for i, (p, q) in enumerate(zip("ABCDEF", "BCDEFA"))
        ]
        return _synthetic(folder, specs, pairs=pairs)
    if kind == "empty":
        return _synthetic(
            folder,
            [("only.png", None, {}), ("other.png", None, {})],
            failed={"other.png": "no face detected"},
        )
    raise ValueError(kind)


@pytest.fixture
def synthetic(tmp_path: Path) -> Callable[[str], Evaluation]:
    """``synthetic(kind)``: see :func:`synthetic_evaluation`."""
    return lambda kind: synthetic_evaluation(kind, tmp_path / kind)
