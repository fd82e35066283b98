"""agnosco.evaluation.metrics: every expected number below is worked out by hand in a comment."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agnosco.evaluation.json_fields import JsonFields, ReportFormatError
from agnosco.evaluation.metrics import (
    GroupComparison,
    IdentificationResult,
    Rate,
    ThresholdAtFMR,
    VerificationPoint,
    _norm_ppf,
    bootstrap_interval,
    det_curve,
    failure_rates,
    group_rates,
    identification_metrics,
    threshold_for_fmr,
    verification_at,
    wilson_interval,
)

GENUINE = np.array([90.0, 80.0, 70.0, 60.0])
IMPOSTOR = np.array([85.0, 50.0, 40.0, 30.0, 20.0])


# --- Wilson interval -------------------------------------------------------------------------


def test_normal_quantile():
    assert _norm_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-9)
    assert _norm_ppf(0.5) == pytest.approx(0.0, abs=1e-12)
    assert _norm_ppf(0.001) == pytest.approx(-3.090232306167813, abs=1e-9)  # tail branch


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        # Published 95% Wilson intervals (e.g. Newcombe 1998, Table I; Brown, Cai & DasGupta).
        (0, 10, (0.0, 0.2775)),
        (5, 10, (0.2366, 0.7634)),
        (10, 10, (0.7225, 1.0)),  # mirror image of 0/10
        # 1/2: centre 0.5, half-width 1.96/(1+1.96^2/2) * sqrt(0.125 + 1.96^2/16) = 0.4055.
        (1, 2, (0.0945, 0.9055)),
    ],
)
def test_wilson_interval_published_values(successes, trials, expected):
    low, high = wilson_interval(successes, trials)
    assert low == pytest.approx(expected[0], abs=1e-4)
    assert high == pytest.approx(expected[1], abs=1e-4)


def test_wilson_interval_edge_cases():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    narrow, wide = wilson_interval(5, 10, 0.80), wilson_interval(5, 10, 0.99)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_rate_of():
    r = Rate.of(1, 5)
    assert (r.errors, r.trials, r.rate) == (1, 5, 0.2)
    assert r.low < 0.2 < r.high
    empty = Rate.of(0, 0)
    assert empty.rate is None and (empty.low, empty.high) == (0.0, 1.0)


# --- 1:1 verification ------------------------------------------------------------------------


def test_verification_at_hand_computed():
    # At 75: impostor 85 is >= 75 -> FMR 1/5; genuine 70 and 60 are < 75 -> FNMR 2/4.
    # Right decisions: 9 pairs - 1 false match - 2 false non-matches = 6/9.
    p = verification_at(GENUINE, IMPOSTOR, 75.0)
    assert (p.fmr.errors, p.fmr.trials, p.fmr.rate) == (1, 5, 0.2)
    assert (p.fnmr.errors, p.fnmr.trials, p.fnmr.rate) == (2, 4, 0.5)
    assert p.accuracy == pytest.approx(6 / 9)
    assert (p.accuracy_low, p.accuracy_high) == pytest.approx(wilson_interval(6, 9))


def test_verification_threshold_is_inclusive():
    # score >= threshold is a match: at 80 genuine 80 matches (FNMR 2/4: 70, 60) and at 85
    # impostor 85 matches (FMR 1/5) while genuine 80 no longer does (FNMR 3/4).
    assert verification_at(GENUINE, IMPOSTOR, 80.0).fnmr.errors == 2
    at85 = verification_at(GENUINE, IMPOSTOR, 85.0)
    assert (at85.fmr.errors, at85.fnmr.errors) == (1, 3)


def test_det_curve_hand_computed():
    c = det_curve(GENUINE, IMPOSTOR)
    assert c.thresholds.tolist() == [90, 85, 80, 70, 60, 50, 40, 30, 20]
    # impostors >= t out of 5; genuine < t out of 4.
    assert c.fmr.tolist() == pytest.approx([0, 0.2, 0.2, 0.2, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert c.fnmr.tolist() == pytest.approx([0.75, 0.75, 0.5, 0.25, 0, 0, 0, 0, 0])
    # FNMR - FMR goes +0.05 at t=70 (0.25 vs 0.2) to -0.2 at t=60 (0 vs 0.2); interpolating
    # 0.05/0.25 = 1/5 of the way, FMR stays 0.2 and FNMR falls 0.25 -> 0.2: EER = 0.2.
    assert c.eer == pytest.approx(0.2)
    # 20 genuine/impostor pairs; genuine 90 beats all 5 impostors, 80, 70 and 60 beat 4 each
    # (all but 85): 17 correctly ordered pairs -> AUC 17/20.
    assert c.auc == pytest.approx(0.85)
    assert (c.n_genuine, c.n_impostor) == (4, 5)


def test_auc_counts_ties_as_half():
    # Pairs (g, i): (50,50) tie = 0.5, (50,30) = 1, (40,50) = 0, (40,30) = 1 -> 2.5/4.
    assert det_curve([50.0, 40.0], [50.0, 30.0]).auc == pytest.approx(0.625)


def test_separable_scores_have_zero_eer_and_unit_auc():
    c = det_curve([90.0, 80.0], [10.0, 20.0, 30.0])
    assert c.eer == pytest.approx(0.0) and c.auc == 1.0


def test_degenerate_inputs_do_not_crash():
    # All equal: one threshold, where everything matches (FMR 1, FNMR 0); from the start
    # point (FMR 0, FNMR 1) the crossing is half way: EER 0.5; every pair ties: AUC 0.5.
    c = det_curve([50.0, 50.0], [50.0, 50.0])
    assert c.thresholds.tolist() == [50.0] and c.fmr.tolist() == [1.0]
    assert c.eer == pytest.approx(0.5) and c.auc == 0.5
    empty = det_curve([], [])
    assert len(empty.thresholds) == 0 and empty.eer is None and empty.auc is None
    one_sided = det_curve([], [10.0, 20.0])
    assert np.isnan(one_sided.fnmr).all() and one_sided.fmr.tolist() == [0.5, 1.0]
    assert one_sided.auc is None
    p = verification_at([], [], 50.0)
    assert p.fmr.rate is None and p.fnmr.rate is None and p.accuracy is None
    with pytest.raises(ValueError):
        det_curve([float("nan")], [1.0])


# --- threshold for a target FMR --------------------------------------------------------------


def test_threshold_for_fmr_ten_impostors():
    impostor = np.arange(10.0, 101.0, 10.0)  # 10, 20, ..., 100
    # FMR 0.1 of 10 allows 1 false match: the threshold is just above the 2nd highest (90),
    # letting only 100 through.  But 10 < ceil(3/0.1) = 30 pairs: unsupported.
    r = threshold_for_fmr(impostor, 0.1)
    assert r.threshold == np.nextafter(90.0, np.inf)
    assert r.achieved_fmr == 0.1
    assert (r.impostors, r.required_impostors, r.supported) == (10, 30, False)
    assert "30" in r.note
    # FMR 1e-3 allows no false match: just above the highest; needs 3000 pairs.
    r = threshold_for_fmr(impostor, 1e-3)
    assert r.threshold == np.nextafter(100.0, np.inf) and r.achieved_fmr == 0.0
    assert not r.supported and r.required_impostors == 3000 and "3000" in r.note


def test_threshold_for_fmr_supported_and_ties():
    # 30 impostors 1..30 at 0.1: 3 false matches allowed -> just above the 4th highest (27),
    # FMR 3/30; 30 >= ceil(3/0.1) = 30 pairs: supported, no note.
    r = threshold_for_fmr(np.arange(1.0, 31.0), 0.1)
    assert r.threshold == np.nextafter(27.0, np.inf) and r.achieved_fmr == pytest.approx(0.1)
    assert r.supported and r.note == ""
    # A tie at the top: 1 of 10 is allowed but both 90s pass together -> above 90, FMR 0.
    r = threshold_for_fmr([90.0, 90.0, 80, 70, 60, 50, 40, 30, 20, 10], 0.1)
    assert r.threshold == np.nextafter(90.0, np.inf) and r.achieved_fmr == 0.0
    r = threshold_for_fmr([], 0.01)
    assert r.threshold is None and r.achieved_fmr is None and not r.supported
    with pytest.raises(ValueError):
        threshold_for_fmr([1.0], 0.0)


# --- 1:N identification ----------------------------------------------------------------------

# Gallery: identity A twice, B, C.  Probes pA and pB are mated, pX and pY are not.
GALLERY = ["A", "A", "B", "C"]
PROBES = ["A", "B", "X", "Y"]
SIMILARITY = np.array(
    [
        [60.0, 92.0, 70.0, 10.0],  # pA: A = max(60, 92) = 92, B 70, C 10 -> rank 1
        [85.0, 20.0, 80.0, 30.0],  # pB: A 85 beats own B 80 -> rank 2
        [40.0, 50.0, 95.0, 20.0],  # pX: A = 50, B 95, C 20 (top 95)
        [30.0, 30.0, 60.0, 70.0],  # pY: A 30, B 60, C 70 (top 70)
    ]
)


def test_identification_hand_computed():
    res = identification_metrics(SIMILARITY, GALLERY, PROBES, thresholds=[90.0, 50.0])
    assert (res.probes, res.mated, res.non_mated, res.identities) == (4, 2, 2, 3)
    assert res.rank1 == 0.5  # pA at rank 1, pB at rank 2
    assert (res.rank1_low, res.rank1_high) == pytest.approx(wilson_interval(1, 2))
    assert res.cmc == (0.5, 1.0, 1.0)  # 3 identities -> ranks 1..3
    at90, at50 = res.points
    # t = 90: pA's own 92 is returned, pB's own 80 is not -> FNIR 1/2.  pX's top 95 >= 90,
    # pY's top 70 is not -> FPIR 1/2.  Wrong identities >= 90: only pX's B -> 1 / 4 probes.
    assert (at90.fnir.errors, at90.fnir.trials) == (1, 2)
    assert (at90.fpir.errors, at90.fpir.trials) == (1, 2)
    assert at90.false_candidates_per_probe == 0.25
    # t = 50: FNIR 0/2, FPIR 2/2.  Wrong identities >= 50: pA B70 (1), pB A85 (1),
    # pX A50 (its 2nd entry) and B95 (2), pY B60 and C70 (2) -> 6 / 4 probes = 1.5.
    assert (at50.fnir.errors, at50.fpir.errors) == (0, 2)
    assert at50.false_candidates_per_probe == 1.5


def test_identification_fpir_targets():
    res = identification_metrics(SIMILARITY, GALLERY, PROBES, [90.0], fpir_targets=(0.5, 0.1))
    half, tenth = res.at_fpir
    # Non-mated tops 95, 70.  FPIR 0.5 of 2 allows 1 -> just above 70; FNIR there: own 92
    # and 80 are both >= 70+ -> 0/2.  2 probes < ceil(3/0.5) = 6: unsupported.
    assert half.threshold == np.nextafter(70.0, np.inf) and half.achieved_fpir == 0.5
    assert half.fnir.errors == 0 and not half.supported and "6" in half.note
    # FPIR 0.1 of 2 allows none -> just above 95: both mated probes missed, FNIR 2/2.
    assert tenth.threshold == np.nextafter(95.0, np.inf) and tenth.achieved_fpir == 0.0
    assert tenth.fnir.errors == 2 and "30" in tenth.note


def test_identification_degenerate():
    res = identification_metrics(np.empty((0, 0)), [], [], [50.0])
    assert res.rank1 is None and res.cmc == () and res.at_fpir[0].threshold is None
    res = identification_metrics(np.full((2, 2), 50.0), ["A", "B"], ["A", "Z"], [50.0])
    assert res.rank1 == 0.0  # a tie with a wrong identity counts against the probe
    assert res.points[0].fpir.rate == 1.0
    # Identities but no mated probe: neither rank-1 nor any rank of the CMC is measured.
    res = identification_metrics(np.full((1, 2), 50.0), ["A", "B"], ["Z"], [50.0])
    assert res.mated == 0 and res.rank1 is None and res.cmc == ()
    with pytest.raises(ValueError):
        identification_metrics(np.zeros((2, 3)), ["A", "B"], ["A", "B"], [1.0])


# --- groups ----------------------------------------------------------------------------------


def _group(false_matches: int, impostors: int, misses: int = 0, genuine: int = 40):
    gen = np.array([10.0] * misses + [90.0] * (genuine - misses))
    imp = np.array([90.0] * false_matches + [10.0] * (impostors - false_matches))
    return gen, imp


def test_group_ratio_flagging_and_exclusion():
    groups = {
        "A": _group(2, 100),  # FMR 2/100 = 0.02
        "B": _group(1, 200),  # FMR 1/200 = 0.005
        "C": _group(5, 10),  # FMR 0.5 but only 10 impostor pairs < 30: excluded
    }
    cmp = group_rates(groups, threshold=50.0, ratio_limit=2.0)
    assert cmp.groups["A"].fmr.rate == 0.02 and cmp.groups["C"].fmr.rate == 0.5
    assert cmp.fmr.ratio == pytest.approx(4.0)  # 0.02 / 0.005
    assert (cmp.fmr.worst_group, cmp.fmr.best_group) == ("A", "B")
    assert cmp.fmr.included == ("A", "B") and cmp.fmr.excluded == ("C",)
    assert cmp.fmr.flagged
    assert not group_rates(groups, threshold=50.0, ratio_limit=5.0).fmr.flagged
    # No genuine pair is missed anywhere: the FNMR ratio is undefined, not flagged.
    assert cmp.fnmr.ratio is None and not cmp.fnmr.flagged and "no genuine" in cmp.fnmr.note


def test_group_ratio_zero_rate_is_infinite():
    cmp = group_rates({"A": _group(2, 100), "D": _group(0, 50)}, 50.0, ratio_limit=2.0)
    assert cmp.fmr.ratio == math.inf and cmp.fmr.flagged and "'D'" in cmp.fmr.note


def test_group_rates_degenerate():
    cmp = group_rates({"A": ([], []), "B": ([1.0], [])}, 50.0, ratio_limit=2.0)
    assert cmp.groups["A"].fmr.rate is None and cmp.fmr.ratio is None
    assert cmp.fmr.excluded == ("A", "B") and "fewer than two" in cmp.fmr.note
    assert not cmp.fmr.flagged


def test_failure_rates():
    rates = failure_rates({"Black": (1, 10), "none": (0, 0)})
    assert rates["Black"].rate == 0.1 and rates["Black"].trials == 10
    assert rates["none"].rate is None


# --- bootstrap and JSON ----------------------------------------------------------------------


def test_bootstrap_interval():
    values = np.array([0.0, 1.0] * 50)
    low, high = bootstrap_interval(values, np.mean, n=500, seed=1)
    assert 0.35 < low < 0.5 < high < 0.65
    assert bootstrap_interval(values, np.mean, n=500, seed=1) == (low, high)  # seeded
    assert bootstrap_interval([5.0] * 4, np.mean) == (5.0, 5.0)
    assert all(math.isnan(v) for v in bootstrap_interval([], np.mean))


def _through_json(record):  # type: ignore[no-untyped-def]
    """``record`` written as JSON text (no NaN allowed) and read back as its own type."""
    text = json.dumps(record.to_json(), allow_nan=False)
    return type(record).from_json(JsonFields(json.loads(text))), json.loads(text)


def test_records_round_trip_through_json():
    records = [
        verification_at(GENUINE, IMPOSTOR, 75.0),
        verification_at([], [], 50.0),  # nothing measured
        threshold_for_fmr(IMPOSTOR, 0.1),
        threshold_for_fmr([], 0.1),
        identification_metrics(SIMILARITY, GALLERY, PROBES, [90.0]),
        identification_metrics(np.empty((0, 0)), [], [], [50.0]),
        group_rates({"A": _group(2, 100), "D": _group(0, 50)}, 50.0, 2.0),  # unbounded ratio
        group_rates({"A": ([], []), "B": ([1.0], [])}, 50.0, 2.0),  # nothing to compare
    ]
    for record in records:
        back, _ = _through_json(record)
        assert back == record


def test_unmeasured_values_are_null_and_an_unbounded_ratio_says_so():
    _, empty = _through_json(verification_at([], [], 50.0))
    assert empty["fmr"]["rate"] is None and empty["accuracy"] is None
    _, unbounded = _through_json(group_rates({"A": _group(2, 100), "D": _group(0, 50)}, 50.0, 2.0))
    assert unbounded["fmr"]["ratio"] is None and unbounded["fmr"]["unbounded"] is True
    assert unbounded["fmr"]["flagged"] is True
    _, finite = _through_json(group_rates({"A": _group(2, 100), "B": _group(1, 200)}, 50.0, 2.0))
    assert finite["fmr"]["ratio"] == pytest.approx(4.0) and finite["fmr"]["unbounded"] is False
    _, none = _through_json(threshold_for_fmr([], 0.1))
    assert none["threshold"] is None and none["achieved_fmr"] is None


def test_records_read_the_strings_of_older_reports():
    # Reports written before null said "nan" (and "inf" for an unbounded ratio).
    rate = Rate.from_json(
        JsonFields({"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0})
    )
    assert rate == Rate.of(0, 0)
    old = group_rates({"A": _group(2, 100), "D": _group(0, 50)}, 50.0, 2.0).to_json()
    fmr = old["fmr"]
    assert isinstance(fmr, dict)
    fmr["ratio"] = "inf"
    del fmr["unbounded"]
    assert GroupComparison.from_json(JsonFields(old)).fmr.ratio == math.inf
    ranks = identification_metrics(np.full((1, 2), 50.0), ["A", "B"], ["Z"], [50.0]).to_json()
    ranks |= {"rank1": "nan", "cmc": ["nan", "nan"]}
    assert IdentificationResult.from_json(JsonFields(ranks)).cmc == ()


def test_a_wrong_field_is_named():
    point = verification_at(GENUINE, IMPOSTOR, 75.0).to_json()
    point["fmr"] = {**point["fmr"], "errors": "1"}
    with pytest.raises(ReportFormatError, match=r"point\.fmr\.errors: expected an integer"):
        VerificationPoint.from_json(JsonFields(point, "point"))
    with pytest.raises(ReportFormatError, match=r"target\.note: missing"):
        ThresholdAtFMR.from_json(
            JsonFields(
                {k: v for k, v in threshold_for_fmr([1.0], 0.5).to_json().items() if k != "note"},
                "target",
            )
        )


# --- properties ------------------------------------------------------------------------------

# Few distinct values so that ties (the hard case) are common.
scores = st.lists(
    st.one_of(st.integers(0, 10).map(float), st.floats(0, 100, allow_nan=False)), max_size=25
)


@given(scores, scores, st.floats(0, 100), st.floats(0, 100))
def test_rates_are_monotonic_in_threshold(genuine, impostor, t1, t2):
    lo, hi = sorted((t1, t2))
    a, b = verification_at(genuine, impostor, lo), verification_at(genuine, impostor, hi)
    assert a.fmr.errors >= b.fmr.errors
    assert a.fnmr.errors <= b.fnmr.errors


@given(scores, scores)
def test_det_curve_agrees_with_verification_at(genuine, impostor):
    c = det_curve(genuine, impostor)
    assert np.all(np.diff(c.thresholds) < 0)
    for t, fmr, fnmr in zip(c.thresholds, c.fmr, c.fnmr, strict=True):
        p = verification_at(genuine, impostor, t)
        # The curve's arrays are numpy's: nan where the record says None.
        assert (math.nan if p.fmr.rate is None else p.fmr.rate) == pytest.approx(fmr, nan_ok=True)
        assert (math.nan if p.fnmr.rate is None else p.fnmr.rate) == pytest.approx(
            fnmr, nan_ok=True
        )
    if genuine and impostor:
        g, i = np.array(genuine)[:, None], np.array(impostor)[None, :]
        brute = (np.sum(g > i) + 0.5 * np.sum(g == i)) / g.size / i.size
        assert c.auc == pytest.approx(brute)
        assert 0.0 <= c.eer <= 1.0


@given(st.lists(st.floats(0, 100), min_size=1, max_size=40), st.floats(0.01, 0.99))
def test_threshold_for_fmr_is_the_smallest(impostor, target):
    r = threshold_for_fmr(impostor, target)
    assert r.achieved_fmr <= target
    assert verification_at([], impostor, r.threshold).fmr.rate == r.achieved_fmr
    # One float lower the threshold lands on an impostor score, and FMR exceeds the target.
    below = float(np.nextafter(r.threshold, -np.inf))
    assert verification_at([], impostor, below).fmr.rate > target


def test_identification_ignores_gallery_order():
    # Interleaving the gallery (A's two entries apart) changes nothing: identity = best entry.
    order = [2, 0, 3, 1]
    shuffled = identification_metrics(
        SIMILARITY[:, order], [GALLERY[j] for j in order], PROBES, [90.0, 50.0]
    )
    assert shuffled == identification_metrics(SIMILARITY, GALLERY, PROBES, [90.0, 50.0])
