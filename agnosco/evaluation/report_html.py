"""The HTML report of ``agnosco evaluate``: one self-contained page a deployer can read.

Everything is inline: CSS in a ``<style>`` block, plots as base64 PNG ``<img>`` tags drawn on
matplotlib's object-oriented :class:`~matplotlib.figure.Figure` (Agg canvas, no pyplot state); no
scripts, no external URLs.  Numbers come from ``Evaluation.report`` (the records of
:mod:`.report` and :mod:`.metrics`), curves from the score arrays in ``Evaluation.pairs``.  Every
string from the data is escaped; a value the data cannot measure (None in the report, such as a
rate without trials) shows as "not measured".
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any, Protocol, TypeVar

import numpy as np
from matplotlib.figure import Figure

from agnosco.evaluation.evaluate import Evaluation
from agnosco.evaluation.metrics import (
    FpirOperatingPoint,
    GroupComparison,
    GroupRates,
    Rate,
    RateDisparity,
    ThresholdAtFMR,
    VerificationPoint,
    det_curve,
    verification_at,
)
from agnosco.evaluation.report import EvaluationReport, GroupColumn

__all__ = ["render_html"]

DASH = "—"
NOT_MEASURED = "not measured"
WIDTH, HEIGHT, DPI = 6.5, 4.0, 110
CURVE_POINTS = 1000  # longer DET curves keep one point per 1/50 decade
GENUINE, IMPOSTOR, ACCENT = "#1b7837", "#b2182b", "#2b5c8a"

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2430;
 max-width:62rem;margin:0 auto;padding:1.5rem 2rem 3rem;background:#fff}
h1{font-size:1.7rem;margin:.2rem 0 .3rem}h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
h2{font-size:1.3rem;margin-top:2.2rem;padding-bottom:.2rem;border-bottom:2px solid #d5dbe3}
.meta{color:#555f6d;font-size:.88rem}.meta code{font-size:.85rem}
.box{border-radius:6px;padding:.7rem 1rem;margin:1rem 0}.box h2{margin:0 0 .3rem;border:0;font-size:1.1rem}
.flags{background:#fff4e0;border:1px solid #e8a33d}.ok{background:#eaf6ec;border:1px solid #7cbf87}
.headline{background:#f3f6fa;border:1px solid #c9d3df}.box ul{margin:.2rem 0;padding-left:1.3rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.88rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d5dbe3;padding:.3rem .55rem;text-align:right;vertical-align:top}
th{background:#eef2f6}td:first-child,th:first-child,.l{text-align:left}
tr.deployed td{background:#fdf7e3;font-weight:600}.ci,.n{color:#5d6775;font-weight:400}.n{font-size:.8rem}
.note{color:#5d6775;font-size:.8rem;text-align:left;max-width:26rem}.bad{color:#a11d1d;font-weight:700}
.good{color:#1b6e2a}figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e3e7ec}
figcaption{color:#555f6d;font-size:.85rem}dt{font-weight:700;margin-top:.5rem}dd{margin-left:1.2rem}
footer{margin-top:2.5rem;color:#7a8290;font-size:.8rem}
"""

# --- formatting ------------------------------------------------------------------------------


def _esc(value: object) -> str:
    return html.escape(str(value))


def _pct(value: float | None) -> str:
    """A rate as a percentage to three significant digits, never in exponent form."""
    if value is None:
        return NOT_MEASURED
    if value == 0:
        return "0%"
    p = 100 * value
    if 50 < p < 100:  # keep the distance to 100% visible: 99.983%, never 100%
        return f"{p:.{min(6, max(1, 1 - math.floor(math.log10(100 - p))))}f}%"
    return f"{p:.{min(6, max(0, 2 - math.floor(math.log10(p))))}f}%"


def _sim(value: float | None) -> str:
    if value is None:
        return NOT_MEASURED
    return f"{value:g}" if value == round(value) else f"{value:.2f}"


def _count(value: float | None) -> str:
    if value is None:
        return NOT_MEASURED
    return "0" if value == 0 else f"{value:.2g}" if value < 0.1 else f"{value:.2f}"


def _rate(rate: Rate | None, counts: bool = True) -> str:
    """A :class:`Rate` as HTML: rate, Wilson interval and, with ``counts``, errors of trials."""
    if rate is None or not rate.trials:
        return f'{NOT_MEASURED}<br><span class="n">no trials</span>' if counts else NOT_MEASURED
    text = _interval(rate.rate, rate.low, rate.high)
    return text + (
        f'<br><span class="n">{rate.errors:,} of {rate.trials:,}</span>' if counts else ""
    )


def _interval(value: float | None, low: float, high: float) -> str:
    if value is None:
        return NOT_MEASURED
    return f'{_pct(value)} <span class="ci">[{_pct(low)}, {_pct(high)}]</span>'


def _short_numbers(text: str) -> str:
    """Long decimals in a message (a ratio like 38.061224489795926) to three significant digits."""
    return re.sub(
        r"\d+\.\d{4,}",
        lambda m: f"{float(m[0]):.3g}" if 0.001 <= float(m[0]) < 1000 else m[0],
        text,
    )


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    classes: Sequence[str] = (),
    left: Sequence[int] = (),
) -> str:
    """A table of plain-text ``headers`` and HTML cells (escaped by the caller); the columns in
    ``left`` hold text, the others numbers (right-aligned)."""
    align = [' class="l"' if k in left else "" for k in range(len(headers))]
    head = "".join(f"<th{a}>{_esc(h)}</th>" for a, h in zip(align, headers))
    body = "".join(
        f'<tr class="{classes[i] if i < len(classes) else ""}">'
        + "".join(f"<td{a}>{c}</td>" for a, c in zip(align, row))
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _supported(entry: ThresholdAtFMR | FpirOperatingPoint) -> str:
    if entry.supported:
        return '<span class="good">yes</span>'
    return f'<span class="bad">no</span><div class="note">{_esc(entry.note)}</div>'


# --- plots -----------------------------------------------------------------------------------


def _figure(height: float = HEIGHT) -> tuple[Figure, Any]:
    fig = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _plain(text: str) -> str:
    """Data as matplotlib text: ``$`` would start mathtext, a leading ``_`` hide a legend entry."""
    return (" " + text if text.startswith("_") else text).replace("$", r"\$")


def _img(fig: Figure, alt: str, caption: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    fig.clear()  # outside pyplot a Figure dies with its last reference; drop its artists now
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<figure><img alt="{_esc(alt)}" src="data:image/png;base64,{data}"><figcaption>{caption}</figcaption></figure>'


def _style(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(_plain(title), fontsize=11)
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.tick_params(labelsize=9)
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.figure.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)


def _mark(ax: Any, thresholds: Sequence[float]) -> None:
    """Dashed vertical lines at Similarity thresholds, labelled inside the top of the axes."""
    for t in thresholds:
        ax.axvline(t, color="#333", lw=1, ls="--")
        ax.text(
            t,
            0.98,
            f" {t:g} ",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            va="top",
            ha="right" if t > 90 else "left",
            color="#333",
        )


def _rate_bars(
    title: str, rows: Sequence[tuple[str, Rate]], xlabel: str, reference: float | None = None
) -> str:
    """Horizontal bars of the measured rates (%) with Wilson 95% error bars, top to bottom in
    ``rows`` order."""
    bars = [(label, r, r.rate) for label, r in rows if r.rate is not None]
    if not bars:
        return ""
    fig, ax = _figure(min(HEIGHT + 2, max(2.2, 1.1 + 0.3 * len(bars))))
    y = np.arange(len(bars))[::-1]
    rate = np.array([100 * value for _, _, value in bars])
    low = np.array([100 * r.low for _, r, _ in bars])
    high = np.array([100 * r.high for _, r, _ in bars])
    ax.barh(y, rate, color=ACCENT, alpha=0.8, height=0.6)
    ax.errorbar(rate, y, xerr=[rate - low, high - rate], fmt="none", ecolor="#222", capsize=3, lw=1)
    for k, (_, r, value) in enumerate(bars):
        ax.text(
            high[k] + high.max() * 0.02,
            y[k],
            f"{_pct(value)}  ({r.errors:,}/{r.trials:,})",
            va="center",
            fontsize=8,
        )
    if reference is not None:
        ax.axvline(
            100 * reference, color="#444", ls=":", lw=1.2, label=f"all pairs: {_pct(reference)}"
        )
    ax.set_yticks(y, [_plain(label) for label, _, _ in bars], fontsize=9)
    ax.set_xlim(0, high.max() * 1.45 or 1)
    ax.set_ylim(-0.7, len(bars) - 0.3)
    _style(ax, title, xlabel, "")
    return _img(fig, title, "Bars: observed rate; whiskers: Wilson 95% interval; (errors/trials).")


def _det_plot(
    title: str, curves: Sequence[tuple[str, np.ndarray, np.ndarray]], marks: Sequence[float]
) -> str:
    """FNMR against FMR on log-log axes, a rate of 0 drawn at the edge (half of 1/n) so that the
    whole trade-off shows; the first curve (all pairs) carries the ``marks`` thresholds."""
    fig, ax = _figure(HEIGHT + 0.6)
    floor_x = 0.5 / max(len(imp) for _, _, imp in curves)
    floor_y = 0.5 / max(len(gen) for _, gen, _ in curves)
    for k, (label, genuine, impostor) in enumerate(curves):
        det = det_curve(genuine, impostor)
        x, y = np.maximum(det.fmr, floor_x), np.maximum(det.fnmr, floor_y)
        if len(x) > CURVE_POINTS:
            kx, ky = np.round(50 * np.log10(x)), np.round(50 * np.log10(y))
            keep = np.r_[True, (np.diff(kx) != 0) | (np.diff(ky) != 0)]
            keep[-1] = True
            x, y = x[keep], y[keep]
        style = {"color": "black", "ls": "--", "lw": 1.6} if k == 0 else {"lw": 1.3}
        ax.plot(
            x, y, label=f"{_plain(label)} ({len(genuine):,} gen., {len(impostor):,} imp.)", **style
        )
    for t, marker in zip(marks, "os"):
        p = verification_at(curves[0][1], curves[0][2], t)
        if p.fmr.rate is None or p.fnmr.rate is None:  # (the first curve has both kinds of pair)
            continue
        ax.plot(
            max(p.fmr.rate, floor_x),
            max(p.fnmr.rate, floor_y),
            marker,
            color="black",
            ms=7,
            mfc="white",
            label=f"Similarity {t:g}",
        )
    ax.set(xscale="log", yscale="log", xlim=(floor_x / 1.5, 1.05), ylim=(floor_y / 1.5, 1.05))
    _style(ax, title, "FMR (false match rate)", "FNMR (false non-match rate)")
    return _img(
        fig,
        title,
        "Each threshold trades false matches (right) for false non-matches (up); lower-left "
        "is better. A rate of 0 is drawn at the left or bottom edge.",
    )


def _fmr_plot(title: str, curves: Sequence[tuple[str, np.ndarray]], marks: Sequence[float]) -> str:
    """FMR against the Similarity threshold (log FMR), for groups with impostor pairs only."""
    fig, ax = _figure(HEIGHT + 0.6)
    start = min(
        50.0, 10 * math.floor(np.quantile(curves[0][1], 0.05) / 10)
    )  # below: FMR ~1, nothing to see
    grid = np.linspace(start, 100, 1 + 4 * int(100 - start))
    for k, (label, impostor) in enumerate(curves):
        ordered = np.sort(impostor)
        fmr = (len(ordered) - np.searchsorted(ordered, grid, side="left")) / len(ordered)
        style = {"color": "black", "ls": "--", "lw": 1.6} if k == 0 else {"lw": 1.3}
        ax.plot(
            grid[fmr > 0], fmr[fmr > 0], label=f"{_plain(label)} ({len(impostor):,} imp.)", **style
        )
    _mark(ax, marks)
    ax.set(yscale="log", xlim=(start, 100))
    _style(ax, title, "Similarity threshold", "FMR (false match rate)")
    return _img(
        fig,
        title,
        "Share of impostor pairs (different people) scoring at or above each threshold; "
        "dashed: the deployed threshold and 99. A curve ends where no impostor pair scores higher.",
    )


def _histogram(genuine: np.ndarray, impostor: np.ndarray, marks: Sequence[float]) -> str:
    fig, ax = _figure()
    for values, colour, label in (
        (impostor, IMPOSTOR, "impostor (different people)"),
        (genuine, GENUINE, "genuine (same person)"),
    ):
        if len(values):
            bins = np.linspace(0, 100, 101)
            ax.hist(
                values,
                bins=bins,
                density=True,
                color=colour,
                alpha=0.45,
                label=f"{label}: {len(values):,}",
            )
            ax.hist(values, bins=bins, density=True, color=colour, histtype="step", lw=1.2)
    _mark(ax, marks)
    ax.set_xlim(0, 100)
    _style(
        ax,
        "Similarity of " + ("genuine and impostor pairs" if len(genuine) else "impostor pairs"),
        "Similarity",
        "share of pairs per 1-point bin",
    )
    return _img(
        fig,
        "Similarity histogram",
        "Each kind of pair normalised to area 1; dashed: the deployed "
        "threshold and 99. Impostors right of a line are false matches, genuine pairs left of it false "
        "non-matches.",
    )


def _cmc_plot(cmc: Sequence[float]) -> str:
    if not cmc:
        return ""
    fig, ax = _figure(3.0)
    ranks = np.arange(1, len(cmc) + 1)
    ax.plot(ranks, cmc, "o-", color=ACCENT)
    ax.set(ylim=(min(min(cmc) - 0.05, 0.9), 1.02), xticks=ranks)
    _style(ax, "Cumulative match characteristic", "rank", "mated probes found")
    return _img(
        fig, "CMC curve", "Share of mated probes whose own identity is among the top k candidates."
    )


# --- sections --------------------------------------------------------------------------------


class _AtThreshold(Protocol):
    @property
    def threshold(self) -> float: ...


_Point = TypeVar("_Point", bound=_AtThreshold)


def _at(points: Sequence[_Point], threshold: float) -> _Point | None:
    return next((p for p in points if p.threshold == threshold), None)


def _deployed_point(ev: Evaluation) -> VerificationPoint:
    """1:1 results at the deployed threshold, computed when it is none of the fixed points."""
    deployed = ev.report.thresholds.deployed
    return _at(ev.report.verification.at_similarity, deployed) or verification_at(
        ev.pairs.genuine, ev.pairs.impostor, deployed
    )


def _name(source: str) -> str:
    path = PurePath(source)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _header(r: EvaluationReport) -> str:
    d, m = r.dataset, r.model
    return (
        f'<header><h1>Accuracy report: {_esc(_name(d.source))}</h1><div class="meta">'
        f'Data set <code>{_esc(d.source)}</code> · fingerprint <code title="{_esc(d.fingerprint)}">'
        f"{_esc(d.fingerprint[:12])}</code> · {d.samples:,} images, {d.identities:,} labelled identities"
        f"<br>Evaluated {_esc(r.created.replace('T', ' '))} · agnosco {_esc(r.agnosco_version)} "
        f"({_esc(r.mode)}) · model <code>{_esc(m.descriptor)}</code> (face model "
        f"{_esc(m.face_model_version)}) · Similarity calibration {_esc(m.calibration_version)}</div></header>"
    )


def _false_candidates(r: EvaluationReport) -> str:
    ident, deployed = r.identification, r.thresholds.deployed
    if ident is None:
        return ""
    res = ident.result
    point = _at(res.points, deployed)
    if point is None:
        return f"<p>False candidates were not measured at the deployed threshold (Similarity {deployed:g}).</p>"
    return (
        f"<p>A search at Similarity {deployed:g} returns on average <b>{_count(point.false_candidates_per_probe)}"
        f" wrong people per probe</b> ({res.probes:,} probes searched against a gallery of "
        f"{ident.gallery_images:,} images of {res.identities:,} people).</p>"
    )


def _headline(rate: Rate, name: str, pairs: str, wrongly: str, missing: str) -> str:
    if rate.rate is None:
        return f"<li><b>{name}</b>: not measured ({missing}).</li>"
    x = rate.rate
    one_in = f", about 1 in {1 / x:,.0f}" if 0 < x < 0.5 else ""
    return (
        f"<li><b>{name} {_rate(rate, False)}</b>: {rate.errors:,} of {rate.trials:,} {pairs} were "
        f"wrongly {wrongly}{one_in}.</li>"
    )


def _summary(ev: Evaluation) -> str:
    r, point = ev.report, _deployed_point(ev)
    flags = list(dict.fromkeys(r.flags))  # one note can come from several targets
    box = (
        (
            '<div class="box flags"><h2>Flags</h2><ul>'
            + "".join(f"<li>{_esc(_short_numbers(f))}</li>" for f in flags)
            + "</ul></div>"
        )
        if flags
        else (
            '<div class="box ok"><h2>No flags</h2>No group disparity over the limit, '
            "and every FMR target is supported by enough pairs.</div>"
        )
    )
    items = [
        _headline(
            point.fmr, "FMR", "impostor pairs (different people)", "matched", "no impostor pairs"
        ),
        _headline(
            point.fnmr,
            "FNMR",
            "genuine pairs (same person)",
            "rejected",
            "no genuine pairs: no two images are labelled as the same person",
        ),
        f"<li><b>Failure to enrol</b> (no usable face): {_rate(r.enrolment.overall, False)}.</li>",
    ]
    return (
        f'<section id="summary">{box}<div class="box headline"><h2>At the deployed threshold, Similarity '
        f"{r.thresholds.deployed:g}</h2><ul>{''.join(items)}</ul>{_false_candidates(r)}"
        '<div class="n">Brackets: 95% Wilson intervals, the range the true rate plausibly lies in given this '
        "many trials.</div></div></section>"
    )


def _enrolment(r: EvaluationReport) -> str:
    e = r.enrolment
    reasons = ", ".join(f"{_esc(k)}: {v:,}" for k, v in e.reasons.items()) or "none"
    rows = [("all images", e.overall)] + [
        (f"{column}: {value}", groups[value])
        for column, groups in e.by_group.items()
        for value in sorted(groups)
    ]
    table = _table(
        ["Images", "Failed", "Of", "Failure to enrol [95%]"],
        [
            [_esc(label), f"{rate.errors:,}", f"{rate.trials:,}", _rate(rate, False)]
            for label, rate in rows
        ],
    )
    chart = _rate_bars("Failure to enrol", rows, "failure to enrol (%)") if len(rows) > 1 else ""
    return (
        '<section id="enrolment"><h2>Enrolment</h2><p>Images without a usable face cannot be compared; they '
        f"are counted here and left out of every error rate below. Reasons: {reasons}.</p>{table}{chart}</section>"
    )


def _verification(ev: Evaluation) -> str:
    r, v, pairs = ev.report, ev.report.verification, ev.pairs
    deployed = r.thresholds.deployed
    marks = sorted({deployed, 99.0})
    intro = (
        f"<p>Pairs: {_esc(r.dataset.pairs_source)}: <b>{v.genuine_pairs:,} genuine</b> (same "
        f"person) and <b>{v.impostor_pairs:,} impostor</b> (different people) pairs; "
        f"{v.pairs_lost_to_enrolment:,} labelled pairs lost to enrolment failures."
    )
    if v.eer is not None and v.auc is not None:
        intro += f" Equal error rate {_pct(v.eer)}; ROC AUC {v.auc:.4f}."
    rows = [
        [
            _sim(p.threshold),
            _rate(p.fmr),
            _rate(p.fnmr),
            _interval(p.accuracy, p.accuracy_low, p.accuracy_high),
        ]
        for p in v.at_similarity
    ]
    targets = [
        [
            f"{t.target_fmr:g}",
            _sim(t.threshold),
            _pct(t.achieved_fmr),
            _rate(e.fnmr),
            f"{t.impostors:,} / {t.required_impostors:,}",
            _supported(t),
        ]
        for e in v.at_target_fmr
        for t in [e.target]
    ]
    parts = [
        f'<section id="verification"><h2>1:1 verification</h2>{intro}</p>',
        "<h3>Error rates at fixed Similarity thresholds</h3>",
        _table(
            ["Similarity", "FMR [95%]", "FNMR [95%]", "Accuracy [95%]"],
            rows,
            ["deployed" if p.threshold == deployed else "" for p in v.at_similarity],
        ),
        "<h3>Thresholds for target false match rates</h3>",
        _table(
            [
                "Target FMR",
                "Similarity threshold",
                "FMR there",
                "FNMR there [95%]",
                "Impostor pairs / needed",
                "Supported",
            ],
            targets,
            left=[5],
        ),
        "<h3>Error trade-off</h3>",
        *_curve_plots(ev, marks),
    ]
    if len(pairs.genuine) or len(pairs.impostor):
        parts.append(_histogram(pairs.genuine, pairs.impostor, marks))
    if v.folds:
        parts += [
            f"<h3>Per fold, at Similarity {deployed:g}</h3>",
            _table(
                ["Fold", "FMR [95%]", "FNMR [95%]", "Accuracy"],
                [
                    [_esc(f), _rate(p.fmr), _rate(p.fnmr), _pct(p.accuracy)]
                    for f, p in v.folds.items()
                ],
            ),
        ]
    return "".join(parts) + "</section>"


def _curve_plots(ev: Evaluation, marks: Sequence[float]) -> list[str]:
    """Per group column a DET of the groups with both kinds of pairs and, when a group has only
    impostor pairs, FMR against threshold; without group columns, the all-pairs curve alone."""
    g, i = ev.pairs.genuine, ev.pairs.impostor
    plots = []
    for column, groups in ev.pairs.by_group.items():
        both = [(value, gen, imp) for value, (gen, imp) in groups.items() if len(gen) and len(imp)]
        if both and len(g) and len(i):
            plots.append(_det_plot(f"DET by {column}", [("all pairs", g, i), *both], marks))
        if any(len(imp) and not len(gen) for gen, imp in groups.values()):
            curves = [(value, imp) for value, (_, imp) in groups.items() if len(imp)]
            plots.append(
                _fmr_plot(
                    f"FMR by {column} (some groups have no genuine pairs)",
                    [("all pairs", i), *curves],
                    marks,
                )
            )
    if not plots and len(g) and len(i):
        plots.append(_det_plot("DET: all pairs", [("all pairs", g, i)], marks))
    elif not plots and len(i):
        plots.append(
            _fmr_plot("FMR against threshold (no genuine pairs)", [("all pairs", i)], marks)
        )
    return plots or ["<p>No curve: there are no impostor pairs.</p>"]


def _identification(r: EvaluationReport) -> str:
    ident, deployed = r.identification, r.thresholds.deployed
    if ident is None:
        return (
            '<section id="identification"><h2>1:N identification</h2><p>Not measured: a 1:N search needs '
            "at least two labelled identities (or unlabelled images declared distinct people).</p></section>"
        )
    res = ident.result
    rank1 = (
        _interval(res.rank1, res.rank1_low, res.rank1_high)
        if res.mated
        else f"{NOT_MEASURED} (no mated probes)"
    )
    points = _table(
        [
            "Similarity",
            "FNIR [95%] (mated probes)",
            "FPIR [95%] (non-mated probes)",
            "False candidates per probe",
        ],
        [
            [
                _sim(p.threshold),
                _rate(p.fnir),
                _rate(p.fpir),
                _count(p.false_candidates_per_probe),
            ]
            for p in res.points
        ],
        ["deployed" if p.threshold == deployed else "" for p in res.points],
    )
    targets = _table(
        ["Target FPIR", "Similarity threshold", "FPIR there", "FNIR there [95%]", "Supported"],
        [
            [
                f"{p.target_fpir:g}",
                _sim(p.threshold),
                _pct(p.achieved_fpir),
                _rate(p.fnir),
                _supported(p),
            ]
            for p in res.at_fpir
        ],
        left=[4],
    )
    if all(p.threshold is None for p in res.at_fpir):
        targets = "<p>" + "; ".join(sorted({_esc(p.note) for p in res.at_fpir})) + ".</p>"
    return (
        f'<section id="identification"><h2>1:N identification</h2><p>{res.probes:,} probes '
        f"({res.mated:,} mated: their person is in the gallery; {res.non_mated:,} non-mated) searched "
        f"against {ident.gallery_images:,} gallery images of {res.identities:,} people.</p>"
        f"<p><b>Rank-1 identification rate</b>: {rank1}.</p>{_false_candidates(r)}{points}"
        f"<h3>Thresholds for target false positive identification rates</h3>{targets}"
        f"{_cmc_plot(res.cmc)}</section>"
    )


def _disparities(comparison: GroupComparison, genuine: bool) -> list[tuple[str, RateDisparity]]:
    """The comparison's disparities to show: FMR's, and FNMR's when there are genuine pairs."""
    return [("FMR", comparison.fmr)] + ([("FNMR", comparison.fnmr)] if genuine else [])


def _rates(rates: GroupRates, genuine: bool) -> list[Rate]:
    """One group's rates to show: FMR, and FNMR when there are genuine pairs."""
    return [rates.fmr] + ([rates.fnmr] if genuine else [])


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return NOT_MEASURED
    return "∞" if math.isinf(ratio) else f"{ratio:.1f}×"


def _disparity_rows(result: GroupColumn, genuine: bool) -> list[list[str]]:
    rows = []
    for comparison in (result.at_deployed, result.at_99):
        for what, d in _disparities(comparison, genuine):
            status = (
                '<span class="bad">flagged</span>'
                if d.flagged
                else DASH
                if d.ratio is None
                else '<span class="good">within limit</span>'
            )
            rows.append(
                [
                    f"{what} at {_sim(comparison.threshold)}",
                    _ratio(d.ratio),
                    _esc(d.worst_group or DASH),
                    _esc(d.best_group or DASH),
                    status,
                    f'<div class="note">{_esc(d.note)}</div>',
                ]
            )
    return rows


def _group_column(column: str, result: GroupColumn, overall_fmr: float | None) -> str:
    at_d, at_99 = result.at_deployed, result.at_99
    deployed = _sim(at_d.threshold)
    genuine = any(rates.fnmr.trials for rates in at_d.groups.values())
    kinds = ["FMR", "FNMR"] if genuine else ["FMR"]
    rows = [
        [_esc(g)] + [_rate(rate) for at in (at_d, at_99) for rate in _rates(at.groups[g], genuine)]
        for g in at_d.groups
    ]
    return "".join(
        [
            f"<h3>{_esc(column)}</h3>",
            _table(["Group"] + [f"{k} at {t}" for t in (deployed, "99") for k in kinds], rows),
            ""
            if genuine
            else '<p class="n">No genuine pairs within these groups: FNMR is not measured.</p>',
            _table(
                ["Rate", "Max/min ratio", "Worst group", "Best group", "Status", "Note"],
                _disparity_rows(result, genuine),
                left=[2, 3, 4, 5],
            ),
            f'<p class="n">Groups with fewer than {at_d.min_trials} trials are listed but not compared.</p>',
            _rate_bars(
                f"FMR by {column} at Similarity {deployed}",
                [(g, rates.fmr) for g, rates in at_d.groups.items()],
                "FMR (%)",
                overall_fmr,
            ),
        ]
    )


def _groups(ev: Evaluation) -> str:
    r = ev.report
    if not r.groups:
        return (
            '<section id="groups"><h2>Groups</h2><p>The data set has no group columns, so error rates '
            "could not be compared across demographic groups.</p></section>"
        )
    deployed = r.thresholds.deployed
    parts = [
        (
            '<section id="groups"><h2>Groups</h2><p>A pair counts for a group when both of its images belong '
            "to it. Groups are compared by the ratio of the highest to the lowest rate among the groups with "
            f"enough trials; a ratio above {r.thresholds.ratio_limit:g}× is flagged.</p>"
        )
    ]
    worst = _at(r.worst_group_fmr, deployed)
    if worst:
        parts.append(
            f"<p>Highest FMR of any group at Similarity {deployed:g}: <b>{_pct(worst.fmr)}</b> "
            f"({_esc(worst.column)}: {_esc(worst.group)}).</p>"
        )
    overall = _deployed_point(ev).fmr.rate
    parts += [_group_column(column, result, overall) for column, result in r.groups.items()]
    return "".join(parts) + "</section>"


HOW_TO_READ = """<section id="how-to-read"><h2>How to read this report</h2><dl>
<dt>Similarity and threshold</dt><dd>Every comparison gets a Similarity from 0 to 100; two faces <i>match</i> when
their Similarity is at or above the threshold. A higher threshold means fewer false matches and more missed ones.</dd>
<dt>FMR, false match rate</dt><dd>The share of impostor pairs (two different people) wrongly matched. An FMR of
1% means one comparison of different people in a hundred is taken for the same person.</dd>
<dt>FNMR, false non-match rate</dt><dd>The share of genuine pairs (the same person twice) wrongly not matched.</dd>
<dt>FNIR, false negative identification rate</dt><dd>In a 1:N search, the share of searches for someone who is in
the gallery that do not return them at or above the threshold.</dd>
<dt>FPIR, false positive identification rate</dt><dd>The share of searches for someone who is <i>not</i> in the
gallery that still return at least one candidate at or above the threshold.</dd>
<dt>Wilson 95% interval</dt><dd>The bracketed range after a rate: given the number of trials, the true rate lies in
it with 95% confidence. Few trials give wide intervals; a rate of 0% out of n trials only shows that the true rate is
below the upper bound (about 3/n).</dd>
<dt>Supported</dt><dd>A target rate is supported when there are at least 3/target trials; with fewer, the data
cannot show that so low a rate was reached.</dd></dl></section>"""


def render_html(evaluation: Evaluation) -> str:
    """The evaluation as one self-contained HTML page (inline CSS and PNG plots, no scripts)."""
    r = evaluation.report
    body = "".join(
        [
            _header(r),
            _summary(evaluation),
            _enrolment(r),
            _verification(evaluation),
            _identification(r),
            _groups(evaluation),
            HOW_TO_READ,
        ]
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>Agnosco accuracy report: '
        f"{_esc(_name(r.dataset.source))}</title><style>{CSS}</style></head><body>{body}<footer>Produced "
        "by <code>agnosco evaluate</code>. The full numbers are in the JSON report saved beside this file."
        "</footer></body></html>\n"
    )
