"""``agnosco evaluate``: how often the deployed model and thresholds are wrong, and for whom.

From a labelled :class:`Dataset` and the :class:`Scores` of Agnosco's pipeline this computes
(definitions in :mod:`.metrics`):

* **enrolment**: failure-to-enrol (no usable face), overall and per group;
* **1:1 verification** over the labelled pairs (or, without a pairs file, every pair of enrolled
  images: same identity genuine, different identity impostor): FMR and FNMR at Similarity
  80/90/95/99 and at the thresholds for target FMRs 1e-2..1e-4 (flagged where the pair count
  cannot support the target), the DET curve, EER, ROC AUC, accuracy; per fold when pairs carry
  folds;
* **1:N identification** when identities are labelled: each identity with several images puts
  its last image aside as a *mated* probe and the rest in the gallery; single-image identities
  alternate between gallery distractors and *non-mated* probes.  Rank-1, CMC, FNIR and FPIR at
  the Similarity points, FNIR at FPIR 0.003/0.01/0.1, and the false candidates a 1:N search at
  the deployed threshold returns per probe;
* **per group** for every group column: FMR and FNMR at the deployed threshold and at 99 within
  each group (pairs whose two images share the group value), the max/min ratio across groups,
  flagged above ``ratio_limit``; and the worst-group FMR at every whole Similarity from 50 to 100,
  which governance policies can require (``agnosco:WorstGroupFMR``).

The result is an :class:`~.report.EvaluationReport` plus the score arrays the HTML report plots.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from agnosco import __version__
from agnosco.evaluation.datasets import Dataset
from agnosco.evaluation.describe import Scores
from agnosco.evaluation.metrics import (
    Rate,
    det_curve,
    failure_rates,
    group_rates,
    identification_metrics,
    threshold_for_fmr,
    verification_at,
)
from agnosco.evaluation.report import (
    AtTargetFMR,
    DatasetSummary,
    DetPoints,
    Enrolment,
    EvaluationReport,
    GroupColumn,
    Identification,
    ModelVersions,
    Thresholds,
    Verification,
    WorstGroupPoint,
)
from agnosco.operations.context import FACE_MODEL
from agnosco.vision.embedding import DESCRIPTOR_MODEL
from agnosco.vision.similarity import SimilarityCalibration

SIMILARITY_POINTS = (80.0, 90.0, 95.0, 99.0)
TARGET_FMRS = (1e-2, 1e-3, 1e-4)
FPIR_TARGETS = (0.003, 0.01, 0.1)
DET_POINTS = 400


@dataclass
class PairScores:
    genuine: np.ndarray
    impostor: np.ndarray
    #: per group column, per value: (genuine, impostor) of pairs within the group
    by_group: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    folds: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    lost: int = 0  # labelled pairs with an image that failed to enrol


@dataclass
class Evaluation:
    report: EvaluationReport
    pairs: PairScores


def pair_scores(dataset: Dataset, scores: Scores, matrix: np.ndarray | None = None) -> PairScores:
    """Genuine and impostor values of ``matrix`` (default: the Similarities) for the data set's
    pairs, overall, per group and per fold."""
    matrix = scores.similarity if matrix is None else matrix
    index = scores.index()
    sample = {s.name: s for s in dataset.samples}
    if dataset.pairs is not None:
        rows, cols, same, folds = [], [], [], []
        lost = 0
        for p in dataset.pairs:
            if p.a in index and p.b in index:
                rows.append(index[p.a])
                cols.append(index[p.b])
                same.append(p.same)
                folds.append(p.fold)
            else:
                lost += 1
        i, j = np.array(rows, dtype=int), np.array(cols, dtype=int)
        is_same = np.array(same, dtype=bool)
        fold_of = np.array(folds, dtype=object)
    else:
        lost = 0
        labels = [
            sample[n].identity if sample[n].identity else (n if dataset.distinct else None)
            for n in scores.names
        ]
        keep = np.array([label is not None for label in labels])
        i, j = np.triu_indices(len(scores.names), 1)
        mask = keep[i] & keep[j]
        i, j = i[mask], j[mask]
        ids = np.array(labels, dtype=object)
        is_same = ids[i] == ids[j]
        fold_of = np.array([None] * len(i), dtype=object)
    values = matrix[i, j] if len(i) else np.zeros(0)
    result = PairScores(values[is_same], values[~is_same], lost=lost)
    for column in dataset.group_columns:
        group = np.array([sample[n].groups.get(column) for n in scores.names], dtype=object)
        same_group = group[i] == group[j]
        result.by_group[column] = {
            str(value): (
                values[is_same & same_group & (group[i] == value)],
                values[~is_same & same_group & (group[i] == value)],
            )
            for value in sorted({g for g in group if g is not None})
        }
    for fold in sorted({f for f in fold_of if f}):
        in_fold = fold_of == fold
        result.folds[str(fold)] = (values[is_same & in_fold], values[~is_same & in_fold])
    return result


def evaluate(
    dataset: Dataset,
    scores: Scores,
    calibration: SimilarityCalibration,
    *,
    deployed_threshold: float = 80.0,
    ratio_limit: float = 2.0,
    mode: str = "in-process",
) -> Evaluation:
    pairs = pair_scores(dataset, scores)
    thresholds = Thresholds(
        deployed=deployed_threshold,
        similarity_points=SIMILARITY_POINTS,
        ratio_limit=ratio_limit,
    )
    verification = _verification(pairs, deployed_threshold)
    groups = _groups(pairs, deployed_threshold, ratio_limit)
    report = EvaluationReport(
        agnosco_version=__version__,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        mode=mode,
        model=ModelVersions(
            descriptor=DESCRIPTOR_MODEL,
            face_model_version=FACE_MODEL.version,
            calibration_version=calibration.version,
        ),
        dataset=DatasetSummary(
            source=str(dataset.source),
            fingerprint=dataset.fingerprint(),
            samples=len(dataset.samples),
            identities=len(dataset.identities),
            group_columns=tuple(dataset.group_columns),
            pairs_source="labelled pairs"
            if dataset.pairs is not None
            else (
                "every pair of enrolled images"
                + (" (each unlabelled image a different person)" if dataset.distinct else "")
            ),
        ),
        thresholds=thresholds,
        enrolment=_enrolment(dataset, scores),
        verification=verification,
        identification=_identification(dataset, scores, deployed_threshold),
        groups=groups,
        worst_group_fmr=_worst_group_fmr_curve(pairs),
        flags=_flags(thresholds, groups, verification),
    )
    return Evaluation(report, pairs)


def _enrolment(dataset: Dataset, scores: Scores) -> Enrolment:
    by_group = {}
    for column in dataset.group_columns:
        counts: dict[str, list[int]] = {}
        for s in dataset.samples:
            c = counts.setdefault(s.groups[column], [0, 0])
            c[0] += s.name in scores.failures
            c[1] += 1
        by_group[column] = failure_rates({k: (v[0], v[1]) for k, v in counts.items()})
    return Enrolment(
        overall=Rate.of(len(scores.failures), len(dataset.samples)),
        reasons={
            r: sum(1 for v in scores.failures.values() if v == r)
            for r in sorted(set(scores.failures.values()))
        },
        failed=tuple(sorted(scores.failures)),
        by_group=by_group,
    )


def _verification(pairs: PairScores, deployed: float) -> Verification:
    g, i = pairs.genuine, pairs.impostor
    at_target_fmr = []
    for target in TARGET_FMRS:
        found = threshold_for_fmr(i, target)
        fnmr: Rate | None = None
        if found.threshold is not None and len(g):
            fnmr = verification_at(g, i, found.threshold).fnmr
        at_target_fmr.append(AtTargetFMR(found, fnmr))
    det: DetPoints | None = None
    eer: float | None = None
    auc: float | None = None
    if len(g) and len(i):
        curve = det_curve(g, i)
        keep = np.unique(
            np.linspace(
                0, len(curve.thresholds) - 1, min(DET_POINTS, len(curve.thresholds))
            ).astype(int)
        )
        det = DetPoints(
            thresholds=tuple(curve.thresholds[keep].tolist()),
            fmr=tuple(curve.fmr[keep].tolist()),
            fnmr=tuple(curve.fnmr[keep].tolist()),
        )
        eer, auc = curve.eer, curve.auc
    return Verification(
        genuine_pairs=len(g),
        impostor_pairs=len(i),
        pairs_lost_to_enrolment=pairs.lost,
        at_similarity=tuple(verification_at(g, i, t) for t in SIMILARITY_POINTS),
        at_target_fmr=tuple(at_target_fmr),
        det=det,
        eer=eer,
        auc=auc,
        folds={fold: verification_at(fg, fi, deployed) for fold, (fg, fi) in pairs.folds.items()},
    )


def _identification(dataset: Dataset, scores: Scores, deployed: float) -> Identification | None:
    sample = {s.name: s for s in dataset.samples}
    by_identity: dict[str, list[str]] = {}
    for name in scores.names:
        identity = sample[name].identity or (name if dataset.distinct else None)
        if identity:
            by_identity.setdefault(identity, []).append(name)
    if len(by_identity) < 2:
        return None
    gallery, probes = [], []
    singles = 0
    for identity in sorted(by_identity):
        names = sorted(by_identity[identity])
        if len(names) > 1:
            gallery += [(n, identity) for n in names[:-1]]
            probes.append((names[-1], identity))
        else:
            (gallery if singles % 2 == 0 else probes).append((names[0], identity))
            singles += 1
    if not gallery or not probes:
        return None
    index = scores.index()
    matrix = scores.similarity[
        np.ix_([index[p] for p, _ in probes], [index[g] for g, _ in gallery])
    ]
    result = identification_metrics(
        matrix,
        [i for _, i in gallery],
        [i for _, i in probes],
        thresholds=SIMILARITY_POINTS,
        fpir_targets=FPIR_TARGETS,
    )
    return Identification(gallery_images=len(gallery), result=result, deployed_threshold=deployed)


def _groups(pairs: PairScores, deployed: float, ratio_limit: float) -> dict[str, GroupColumn]:
    return {
        column: GroupColumn(
            at_deployed=group_rates(groups, deployed, ratio_limit),
            at_99=group_rates(groups, 99.0, ratio_limit),
        )
        for column, groups in pairs.by_group.items()
    }


def _worst_group_fmr_curve(pairs: PairScores, min_trials: int = 30) -> tuple[WorstGroupPoint, ...]:
    """For each whole Similarity 50..100: the highest FMR of any group with at least
    ``min_trials`` impostor pairs, in any column, and which group (the overall FMR, as group
    ``all``, when no group qualifies).  Empty without impostor pairs: FMR is not measured."""
    if not len(pairs.impostor):
        return ()
    groups = [
        (column, value, impostor)
        for column, by_value in pairs.by_group.items()
        for value, (_, impostor) in by_value.items()
        if len(impostor) >= min_trials
    ] or [("all", "all", pairs.impostor)]
    curve = []
    for t in range(50, 101):
        fmr, column, value = max(
            ((float(np.mean(imp >= t)), c, v) for c, v, imp in groups), key=lambda x: x[0]
        )
        curve.append(WorstGroupPoint(threshold=float(t), fmr=fmr, column=column, group=value))
    return tuple(curve)


def _flags(
    thresholds: Thresholds, groups: dict[str, GroupColumn], verification: Verification
) -> tuple[str, ...]:
    """Plain-language warnings: group disparities over the limit, unsupported FMR targets."""
    flags = []
    limit, deployed = thresholds.ratio_limit, thresholds.deployed
    for column, result in groups.items():
        for what, d in (("FMR", result.at_deployed.fmr), ("FNMR", result.at_deployed.fnmr)):
            if d.flagged and d.ratio is not None:
                size = (
                    "without bound (the best group had no errors)"
                    if math.isinf(d.ratio)
                    else f"{d.ratio:.1f}x"
                )
                flags.append(
                    f"{what} differs across {column} groups by {size} at Similarity {deployed:g} "
                    f"(worst: {d.worst_group}, best: {d.best_group}; limit {limit:g}x)"
                )
    for entry in verification.at_target_fmr:
        if not entry.target.supported:
            flags.append(entry.target.note)
    return tuple(dict.fromkeys(flags))  # the same warning once
