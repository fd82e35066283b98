"""Accuracy metrics for ``agnosco evaluate``: pure functions over comparison scores.

Conventions (shared by every function here):

* A **score** is higher when the two faces are more likely the same person (the evaluator
  passes Similarity 0-100).  A comparison is a **match** when ``score >= threshold``.
* **Genuine** (mated) comparisons are of the same person, **impostor** (non-mated) ones of
  different people.  Terms follow ISO/IEC 19795-1 and NIST IR 8280 (FRVT Part 3,
  demographic effects; the identification terms are those of NIST IR 8271, FRVT Part 2):

  - FMR(t), false match rate = impostor comparisons with score >= t / impostor comparisons;
  - FNMR(t), false non-match rate = genuine comparisons with score < t / genuine comparisons.
    Failures to detect or enrol a face are *not* folded into FNMR here; they are reported
    separately per group by :func:`failure_rates` (ISO/IEC 19795-1's FTE/FTA);
  - 1:N search, rank-independent (candidate list length R = gallery size):
    FPIR(t), false positive identification rate = non-mated probes with *any* candidate
    scoring >= t / non-mated probes; FNIR(t), false negative identification rate = mated
    probes whose own identity scores < t / mated probes.

* Every error rate is a :class:`Rate`: counts, the rate (None with no trials) and its
  Wilson score 95% interval, so that a small sample shows as a wide interval.
* A value the data cannot measure (a rate without trials, a ratio without two groups to
  compare) is None in the records below, never ``nan``; only :class:`DetCurve`'s arrays and
  :func:`bootstrap_interval`, which are numpy's, carry ``nan``.
* An operating point from data is *supported* only when there are at least
  ``ceil(3 / target)`` trials: by the "rule of three", n trials without a single error
  bound the rate below about 3/n at 95% confidence, so fewer trials cannot show that a
  rate as small as the target was reached.
* Each record of the evaluation report has ``to_json`` (an object of JSON values: None is
  ``null``) and ``from_json`` (through :class:`~.json_fields.JsonFields`, which also reads the
  ``"nan"``/``"inf"`` strings of reports written before ``null``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agnosco.evaluation.json_fields import JsonFields, JsonObject

__all__ = [
    "DetCurve",
    "FpirOperatingPoint",
    "GroupComparison",
    "GroupRates",
    "IdentificationResult",
    "OpenSetPoint",
    "Rate",
    "RateDisparity",
    "ThresholdAtFMR",
    "VerificationPoint",
    "bootstrap_interval",
    "det_curve",
    "failure_rates",
    "group_rates",
    "identification_metrics",
    "threshold_for_fmr",
    "verification_at",
    "wilson_interval",
]

# Acklam's rational approximation of the inverse normal CDF (relative error < 1.15e-9,
# refined by one Halley step below to full double precision).
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)


def _norm_ppf(p: float) -> float:
    """The standard normal quantile: x with P(Z <= x) = p, for 0 < p < 1."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    low = 0.02425
    if p < low or p > 1 - low:
        q = math.sqrt(-2 * math.log(p if p < low else 1 - p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1
        )
        x = x if p < low else -x
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5])
            * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1)
        )
    e = 0.5 * math.erfc(-x / math.sqrt(2)) - p
    u = e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion ``successes / trials``.

    ``(0.0, 1.0)`` when ``trials == 0``.  Bounds are clamped to [0, 1]; the lower bound is
    exactly 0 when there are no successes and the upper exactly 1 when all are successes.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes}/{trials}")
    if trials == 0:
        return (0.0, 1.0)
    z = _norm_ppf(1 - (1 - confidence) / 2)
    p, n, z2 = successes / trials, trials, z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == trials else min(1.0, center + half)
    return (low, high)


@dataclass(frozen=True)
class Rate:
    """An error rate: ``rate = errors / trials`` (None without trials: not measured), Wilson 95%
    [low, high] ((0, 1) without trials)."""

    errors: int
    trials: int
    rate: float | None
    low: float
    high: float

    @classmethod
    def of(cls, errors: int, trials: int) -> Rate:
        low, high = wilson_interval(int(errors), int(trials))
        rate = float(errors / trials) if trials else None
        return cls(int(errors), int(trials), rate, low, high)

    def to_json(self) -> JsonObject:
        return {
            "errors": self.errors,
            "trials": self.trials,
            "rate": self.rate,
            "low": self.low,
            "high": self.high,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> Rate:
        return cls(
            errors=data.integer("errors"),
            trials=data.integer("trials"),
            rate=data.measured("rate"),
            low=data.number("low"),
            high=data.number("high"),
        )


def _scores(values: Any, name: str = "scores") -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if np.isnan(arr).any():
        raise ValueError(f"{name} contain NaN: scores must be ordered")
    return arr


def _count_at_or_above(sorted_scores: np.ndarray, t: Any) -> Any:
    return len(sorted_scores) - np.searchsorted(sorted_scores, t, side="left")


@dataclass(frozen=True)
class VerificationPoint:
    """1:1 results at one threshold.

    ``accuracy`` is the share of *all* pairs decided right (genuine matched, impostor not
    matched), with its Wilson 95% interval in ``accuracy_low``/``accuracy_high``; it depends on
    the genuine/impostor mix, so prefer FMR and FNMR, which do not.  It is None without pairs.
    """

    threshold: float
    fmr: Rate
    fnmr: Rate
    accuracy: float | None
    accuracy_low: float
    accuracy_high: float

    def to_json(self) -> JsonObject:
        return {
            "threshold": self.threshold,
            "fmr": self.fmr.to_json(),
            "fnmr": self.fnmr.to_json(),
            "accuracy": self.accuracy,
            "accuracy_low": self.accuracy_low,
            "accuracy_high": self.accuracy_high,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> VerificationPoint:
        return cls(
            threshold=data.number("threshold"),
            fmr=Rate.from_json(data.nested("fmr")),
            fnmr=Rate.from_json(data.nested("fnmr")),
            accuracy=data.measured("accuracy"),
            accuracy_low=data.number("accuracy_low"),
            accuracy_high=data.number("accuracy_high"),
        )


def verification_at(
    genuine: np.ndarray, impostor: np.ndarray, threshold: float
) -> VerificationPoint:
    """FMR (impostor scores >= threshold), FNMR (genuine scores < threshold) and accuracy."""
    gen, imp = _scores(genuine, "genuine"), _scores(impostor, "impostor")
    false_matches = int(np.count_nonzero(imp >= threshold))
    false_non_matches = int(np.count_nonzero(gen < threshold))
    trials = len(gen) + len(imp)
    right = trials - false_matches - false_non_matches
    low, high = wilson_interval(right, trials)
    return VerificationPoint(
        threshold=float(threshold),
        fmr=Rate.of(false_matches, len(imp)),
        fnmr=Rate.of(false_non_matches, len(gen)),
        accuracy=right / trials if trials else None,
        accuracy_low=low,
        accuracy_high=high,
    )


@dataclass(frozen=True, eq=False)
class DetCurve:
    """The whole error trade-off: at each ``thresholds[i]`` (every distinct score, descending),
    ``fmr[i]`` and ``fnmr[i]`` as :func:`verification_at` defines them (nan for an empty side).

    ``eer`` is the equal error rate, linearly interpolated between the two consecutive points
    where FNMR - FMR changes sign (the curve starts at FMR 0, FNMR 1 above every score).
    ``auc`` is the ROC area, P(genuine > impostor) + 0.5 P(genuine == impostor), exact.  Both
    are None unless there are genuine and impostor scores.
    """

    thresholds: np.ndarray
    fmr: np.ndarray
    fnmr: np.ndarray
    eer: float | None
    auc: float | None
    n_genuine: int
    n_impostor: int


def det_curve(genuine: np.ndarray, impostor: np.ndarray) -> DetCurve:
    """FMR and FNMR at every distinct score, the EER and the ROC AUC (see :class:`DetCurve`)."""
    gen, imp = np.sort(_scores(genuine, "genuine")), np.sort(_scores(impostor, "impostor"))
    ng, ni = len(gen), len(imp)
    thresholds = np.unique(np.concatenate([gen, imp]))[::-1]
    nan = np.full(len(thresholds), np.nan)
    fmr = _count_at_or_above(imp, thresholds) / ni if ni else nan
    fnmr = np.searchsorted(gen, thresholds, side="left") / ng if ng else nan.copy()
    eer: float | None = None
    auc: float | None = None
    if ng and ni:
        x = np.concatenate([[0.0], fmr])
        y = np.concatenate([[1.0], fnmr])
        d = y - x  # non-increasing; 1 at the start, <= 0 at the lowest score (FNMR is 0 there)
        i = int(np.argmax(d <= 0))
        alpha = d[i - 1] / (d[i - 1] - d[i])
        eer = float(x[i - 1] + alpha * (x[i] - x[i - 1]))
        _, inverse, counts = np.unique(
            np.concatenate([gen, imp]), return_inverse=True, return_counts=True
        )
        ends = np.cumsum(counts)
        midranks = ends - (counts - 1) / 2.0
        u = midranks[inverse[:ng]].sum() - ng * (ng + 1) / 2.0
        auc = float(u / (ng * ni))
    for arr in (thresholds, fmr, fnmr):
        arr.flags.writeable = False
    return DetCurve(thresholds, fmr, fnmr, eer, auc, ng, ni)


def _required(target: float) -> int:
    return math.ceil(round(3.0 / target, 9))


def _threshold_at(
    scores: np.ndarray, target: float, trials: str, rate: str
) -> tuple[float | None, float | None, bool, int, str]:
    """The smallest threshold t with share(scores >= t) <= target, as used for FMR and FPIR."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target {rate} must be in (0, 1), got {target}")
    n, need = len(scores), _required(target)
    if n == 0:
        return None, None, False, need, f"no {trials}: {rate} cannot be measured"
    ordered = np.sort(scores)[::-1]
    allowed = min(math.floor(round(target * n, 9)), n - 1)  # false accepts the target allows
    # Any t above ordered[allowed] keeps at most `allowed` scores; at t == ordered[allowed]
    # at least allowed + 1 pass.  So the smallest such t is the next float above it.
    threshold = float(np.nextafter(ordered[allowed], np.inf))
    achieved = int(np.count_nonzero(ordered >= threshold)) / n
    supported = n >= need
    note = (
        ""
        if supported
        else (
            f"{n} {trials} cannot resolve {rate} {target:g}: at least {need} = ceil(3/{target:g}) "
            f"are needed (rule of three: n error-free trials bound the rate only below ~3/n)"
        )
    )
    return threshold, achieved, supported, need, note


@dataclass(frozen=True)
class ThresholdAtFMR:
    """The smallest threshold whose FMR <= ``target_fmr`` on the given impostor scores.

    ``threshold`` and ``achieved_fmr`` are None without impostor pairs.  ``supported`` is False
    when there are fewer than ``required_impostors = ceil(3 / target_fmr)`` pairs; ``note`` says
    why.  The threshold is still computed then, but the data cannot show that FMR is that low.
    """

    target_fmr: float
    threshold: float | None
    achieved_fmr: float | None
    impostors: int
    required_impostors: int
    supported: bool
    note: str

    def to_json(self) -> JsonObject:
        return {
            "target_fmr": self.target_fmr,
            "threshold": self.threshold,
            "achieved_fmr": self.achieved_fmr,
            "impostors": self.impostors,
            "required_impostors": self.required_impostors,
            "supported": self.supported,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> ThresholdAtFMR:
        return cls(
            target_fmr=data.number("target_fmr"),
            threshold=data.measured("threshold"),
            achieved_fmr=data.measured("achieved_fmr"),
            impostors=data.integer("impostors"),
            required_impostors=data.integer("required_impostors"),
            supported=data.boolean("supported"),
            note=data.text("note"),
        )


def threshold_for_fmr(impostor: np.ndarray, target_fmr: float) -> ThresholdAtFMR:
    """The threshold that keeps FMR <= ``target_fmr`` (0 < target < 1), just above the
    (k+1)-th highest impostor score with k = floor(target * n)."""
    imp = _scores(impostor, "impostor")
    threshold, achieved, supported, need, note = _threshold_at(
        imp, target_fmr, "impostor pairs", "FMR"
    )
    return ThresholdAtFMR(float(target_fmr), threshold, achieved, len(imp), need, supported, note)


def bootstrap_interval(
    values: Any,
    statistic: Callable[[np.ndarray], float],
    *,
    n: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``values`` resampled (with
    replacement, along axis 0, ``n`` times, seeded); ``(nan, nan)`` for no values."""
    arr = np.asarray(values)
    if len(arr) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    stats = np.array(
        [statistic(arr[rng.integers(0, len(arr), len(arr))]) for _ in range(n)], dtype=float
    )
    alpha = (1 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return (float(low), float(high))


@dataclass(frozen=True)
class OpenSetPoint:
    """1:N results at one threshold (rank-independent, R = gallery size).

    ``false_candidates_per_probe``: wrong identities scoring >= threshold, summed over all
    probes (mated and non-mated) and divided by their number (None without probes).
    """

    threshold: float
    fnir: Rate
    fpir: Rate
    false_candidates_per_probe: float | None

    def to_json(self) -> JsonObject:
        return {
            "threshold": self.threshold,
            "fnir": self.fnir.to_json(),
            "fpir": self.fpir.to_json(),
            "false_candidates_per_probe": self.false_candidates_per_probe,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> OpenSetPoint:
        return cls(
            threshold=data.number("threshold"),
            fnir=Rate.from_json(data.nested("fnir")),
            fpir=Rate.from_json(data.nested("fpir")),
            false_candidates_per_probe=data.measured("false_candidates_per_probe"),
        )


@dataclass(frozen=True)
class FpirOperatingPoint:
    """The smallest threshold with FPIR <= ``target_fpir`` (from the non-mated probes' top
    scores) and FNIR there; ``supported`` False below ``ceil(3 / target)`` non-mated probes.
    ``threshold``, ``achieved_fpir`` and ``fnir`` are None without non-mated probes."""

    target_fpir: float
    threshold: float | None
    achieved_fpir: float | None
    fnir: Rate | None
    supported: bool
    note: str

    def to_json(self) -> JsonObject:
        return {
            "target_fpir": self.target_fpir,
            "threshold": self.threshold,
            "achieved_fpir": self.achieved_fpir,
            "fnir": None if self.fnir is None else self.fnir.to_json(),
            "supported": self.supported,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> FpirOperatingPoint:
        fnir = data.nested_or_none("fnir")
        return cls(
            target_fpir=data.number("target_fpir"),
            threshold=data.measured("threshold"),
            achieved_fpir=data.measured("achieved_fpir"),
            fnir=None if fnir is None else Rate.from_json(fnir),
            supported=data.boolean("supported"),
            note=data.text("note"),
        )


@dataclass(frozen=True)
class IdentificationResult:
    """1:N search results.  A gallery identity's score is its best-scoring gallery entry.

    ``rank1`` is the share of mated probes whose own identity has the top score, with a Wilson
    95% interval; ties count against the probe (rank = identities scoring >= its own).
    ``cmc[k]`` is the share of mated probes with rank <= k + 1, for ranks 1..min(10,
    identities).  Probes are mated when their identity is in the gallery.  Without mated
    probes ``rank1`` is None and ``cmc`` empty.
    """

    probes: int
    mated: int
    non_mated: int
    identities: int
    rank1: float | None
    rank1_low: float
    rank1_high: float
    cmc: tuple[float, ...]
    points: tuple[OpenSetPoint, ...]
    at_fpir: tuple[FpirOperatingPoint, ...]

    def to_json(self) -> JsonObject:
        return {
            "probes": self.probes,
            "mated": self.mated,
            "non_mated": self.non_mated,
            "identities": self.identities,
            "rank1": self.rank1,
            "rank1_low": self.rank1_low,
            "rank1_high": self.rank1_high,
            "cmc": list(self.cmc),
            "points": [p.to_json() for p in self.points],
            "at_fpir": [p.to_json() for p in self.at_fpir],
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> IdentificationResult:
        ranks = data.measured_numbers("cmc")
        cmc = tuple(share for share in ranks if share is not None)
        if len(cmc) != len(ranks):  # older reports: "nan" at every rank without mated probes
            cmc = ()
        return cls(
            probes=data.integer("probes"),
            mated=data.integer("mated"),
            non_mated=data.integer("non_mated"),
            identities=data.integer("identities"),
            rank1=data.measured("rank1"),
            rank1_low=data.number("rank1_low"),
            rank1_high=data.number("rank1_high"),
            cmc=cmc,
            points=tuple(OpenSetPoint.from_json(p) for p in data.each("points")),
            at_fpir=tuple(FpirOperatingPoint.from_json(p) for p in data.each("at_fpir")),
        )


def identification_metrics(
    similarity: np.ndarray,
    gallery_ids: Sequence[str],
    probe_ids: Sequence[str],
    thresholds: Sequence[float],
    fpir_targets: Sequence[float] = (0.003, 0.01, 0.1),
) -> IdentificationResult:
    """Rank-1, CMC, FNIR/FPIR/false candidates per threshold and FNIR at FPIR targets.

    ``similarity`` is probes x gallery entries; ``gallery_ids`` names each entry's identity
    (identities may repeat), ``probe_ids`` each probe's.
    """
    sim = np.asarray(similarity, dtype=float)
    if sim.ndim != 2 or sim.shape != (len(probe_ids), len(gallery_ids)):
        raise ValueError(
            f"similarity must be probes x gallery = "
            f"{(len(probe_ids), len(gallery_ids))}, got {sim.shape}"
        )
    if np.isnan(sim).any():
        raise ValueError("similarity contains NaN: scores must be ordered")
    names = sorted(set(gallery_ids))
    column = {name: j for j, name in enumerate(names)}
    codes = np.array([column[g] for g in gallery_ids], dtype=int)
    if names:
        order = np.argsort(codes, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
        ident = np.maximum.reduceat(sim[:, order], starts, axis=1)  # probes x identities
    else:
        ident = np.empty((len(probe_ids), 0))
    true_col = np.array([column.get(p, -1) for p in probe_ids], dtype=int)
    mated = true_col >= 0
    own = np.zeros(ident.shape, dtype=bool)
    mated_rows = np.flatnonzero(mated)
    own[mated_rows, true_col[mated_rows]] = True
    own_score = ident[mated_rows, true_col[mated_rows]]
    ranks = np.count_nonzero(ident[mated] >= own_score[:, None], axis=1)
    top = ident.max(axis=1) if names else np.full(len(probe_ids), -np.inf)
    non_mated_top = top[~mated]
    n_mated, n_non = int(mated.sum()), int((~mated).sum())

    hits = int(np.count_nonzero(ranks == 1))
    low, high = wilson_interval(hits, n_mated)
    cmc_ranks = min(10, len(names)) if n_mated else 0
    cmc = tuple(float(np.count_nonzero(ranks <= r) / n_mated) for r in range(1, cmc_ranks + 1))

    def fnir_at(t: float) -> Rate:
        return Rate.of(int(np.count_nonzero(own_score < t)), n_mated)

    points = []
    for t in thresholds:
        wrong = int(np.count_nonzero((ident >= t) & ~own))
        points.append(
            OpenSetPoint(
                threshold=float(t),
                fnir=fnir_at(t),
                fpir=Rate.of(int(np.count_nonzero(non_mated_top >= t)), n_non),
                false_candidates_per_probe=wrong / len(probe_ids) if len(probe_ids) else None,
            )
        )
    at_fpir = []
    for target in fpir_targets:
        cut, achieved, supported, _, note = _threshold_at(
            non_mated_top, target, "non-mated probes", "FPIR"
        )
        at_fpir.append(
            FpirOperatingPoint(
                float(target), cut, achieved, None if cut is None else fnir_at(cut), supported, note
            )
        )
    return IdentificationResult(
        probes=len(probe_ids),
        mated=n_mated,
        non_mated=n_non,
        identities=len(names),
        rank1=hits / n_mated if n_mated else None,
        rank1_low=low,
        rank1_high=high,
        cmc=cmc,
        points=tuple(points),
        at_fpir=tuple(at_fpir),
    )


@dataclass(frozen=True)
class GroupRates:
    fmr: Rate
    fnmr: Rate

    def to_json(self) -> JsonObject:
        return {"fmr": self.fmr.to_json(), "fnmr": self.fnmr.to_json()}

    @classmethod
    def from_json(cls, data: JsonFields) -> GroupRates:
        return cls(Rate.from_json(data.nested("fmr")), Rate.from_json(data.nested("fnmr")))


@dataclass(frozen=True)
class RateDisparity:
    """Max/min of one error rate across the ``included`` groups (those with >= min_trials
    trials); ``excluded`` groups are listed in the comparison but not used.

    ``ratio`` is None (not measured) with fewer than two included groups or no errors in any,
    and ``math.inf`` when an included group has no errors while another has some (``note``
    says so).  ``flagged`` when ``ratio > ratio_limit``.

    JSON has no infinity: an unbounded ratio is written ``"ratio": null, "unbounded": true``.
    """

    ratio: float | None
    worst_group: str | None
    best_group: str | None
    included: tuple[str, ...]
    excluded: tuple[str, ...]
    flagged: bool
    note: str

    def to_json(self) -> JsonObject:
        unbounded = self.ratio == math.inf
        return {
            "ratio": None if unbounded else self.ratio,
            "unbounded": unbounded,
            "worst_group": self.worst_group,
            "best_group": self.best_group,
            "included": list(self.included),
            "excluded": list(self.excluded),
            "flagged": self.flagged,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> RateDisparity:
        # Older reports wrote the unbounded ratio as "inf" (measured() reads it) and no flag.
        unbounded = data.boolean_or_omitted("unbounded")
        return cls(
            ratio=math.inf if unbounded else data.measured("ratio"),
            worst_group=data.optional_text("worst_group"),
            best_group=data.optional_text("best_group"),
            included=data.texts("included"),
            excluded=data.texts("excluded"),
            flagged=data.boolean("flagged"),
            note=data.text("note"),
        )


@dataclass(frozen=True)
class GroupComparison:
    """Per-group FMR and FNMR at one threshold and their disparities (NIST IR 8280 style)."""

    threshold: float
    ratio_limit: float
    min_trials: int
    groups: Mapping[str, GroupRates]
    fmr: RateDisparity
    fnmr: RateDisparity

    def to_json(self) -> JsonObject:
        return {
            "threshold": self.threshold,
            "ratio_limit": self.ratio_limit,
            "min_trials": self.min_trials,
            "groups": {name: rates.to_json() for name, rates in self.groups.items()},
            "fmr": self.fmr.to_json(),
            "fnmr": self.fnmr.to_json(),
        }

    @classmethod
    def from_json(cls, data: JsonFields) -> GroupComparison:
        return cls(
            threshold=data.number("threshold"),
            ratio_limit=data.number("ratio_limit"),
            min_trials=data.integer("min_trials"),
            groups={name: GroupRates.from_json(g) for name, g in data.by_name("groups").items()},
            fmr=RateDisparity.from_json(data.nested("fmr")),
            fnmr=RateDisparity.from_json(data.nested("fnmr")),
        )


def _disparity(
    rates: Mapping[str, Rate], ratio_limit: float, min_trials: int, what: str
) -> RateDisparity:
    measured = {
        g: r.rate for g, r in rates.items() if r.trials >= min_trials and r.rate is not None
    }
    included = tuple(measured)
    excluded = tuple(g for g in rates if g not in measured)
    if len(included) < 2:
        return RateDisparity(
            None,
            None,
            None,
            included,
            excluded,
            False,
            f"fewer than two groups with at least {min_trials} {what} trials",
        )
    worst = max(included, key=lambda g: measured[g])
    best = min(included, key=lambda g: measured[g])
    hi, lo = measured[worst], measured[best]
    if hi == 0:
        return RateDisparity(
            None,
            None,
            None,
            included,
            excluded,
            False,
            f"no {what} errors in any compared group",
        )
    if lo == 0:
        ratio = math.inf
        note = (
            f"group {best!r} has no errors in {rates[best].trials} {what} trials, so the "
            f"ratio is unbounded; compare the groups' upper bounds instead"
        )
    else:
        ratio, note = hi / lo, ""
    return RateDisparity(ratio, worst, best, included, excluded, ratio > ratio_limit, note)


def group_rates(
    scores_by_group: Mapping[str, tuple[np.ndarray, np.ndarray]],
    threshold: float,
    ratio_limit: float,
    min_trials: int = 30,
) -> GroupComparison:
    """FMR and FNMR per group (``group -> (genuine, impostor)``) at ``threshold`` and, for each
    rate separately, the max/min ratio across groups with at least ``min_trials`` trials."""
    groups = {}
    for name, (genuine, impostor) in scores_by_group.items():
        point = verification_at(genuine, impostor, threshold)
        groups[name] = GroupRates(point.fmr, point.fnmr)
    return GroupComparison(
        threshold=float(threshold),
        ratio_limit=float(ratio_limit),
        min_trials=int(min_trials),
        groups=groups,
        fmr=_disparity({g: r.fmr for g, r in groups.items()}, ratio_limit, min_trials, "impostor"),
        fnmr=_disparity({g: r.fnmr for g, r in groups.items()}, ratio_limit, min_trials, "genuine"),
    )


def failure_rates(failed: Mapping[str, tuple[int, int]]) -> dict[str, Rate]:
    """Detection or enrolment failure rate per group, from ``group -> (failures, attempts)``."""
    return {group: Rate.of(failures, attempts) for group, (failures, attempts) in failed.items()}
