"""agnosco.evaluation.report_html: the page holds the right sections and numbers, is one
self-contained file (PNG data URIs only, no URLs, no scripts), parses, and renders in Chromium."""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from agnosco.evaluation.evaluate import Evaluation
from agnosco.evaluation.report_html import render_html
from tests.evaluation.conftest import DARK, OLD

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
SECTIONS = ("summary", "enrolment", "verification", "identification", "groups", "how-to-read")


class _Walker(HTMLParser):
    """Walks the page, checking that every element is closed in order, collecting img sources
    and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        self.links += [
            v or "" for k, v in attrs if k in ("href", "src", "action", "srcset", "poster")
        ]
        if "id" in values:
            self.ids.add(values["id"] or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (
            f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        )
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _walk(page: str) -> _Walker:
    walker = _Walker()
    walker.feed(page)
    walker.close()
    assert walker.stack == [], f"unclosed elements: {walker.stack}"
    return walker


def _check_self_contained(page: str) -> _Walker:
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower() and "url(" not in page
    walker = _walk(page)
    assert "script" not in walker.tags and "link" not in walker.tags and "iframe" not in walker.tags
    assert set(SECTIONS) <= walker.ids
    for src in walker.links:
        assert src.startswith("data:image/png;base64,"), src[:60]
    for src in walker.images:
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 150
    return walker


def _text(walker: _Walker) -> str:
    return re.sub(r"\s+", " ", "".join(walker.text))


def _words(walker: _Walker) -> str:
    """The text with a space between elements."""
    return re.sub(r"\s+", " ", " ".join(walker.text))


# --- real evaluations -------------------------------------------------------------------------


def test_utkface_report(utkface_evaluation: Evaluation) -> None:
    report = utkface_evaluation.report
    page = render_html(utkface_evaluation)
    walker = _check_self_contained(page)
    text = _text(walker)
    verification = report.verification
    assert verification.genuine_pairs == 0
    assert f"{verification.impostor_pairs:,} impostor" in text
    assert report.dataset.fingerprint[:12] in text and report.model.calibration_version in text
    # the flags, in the highlighted box, with the ratio shortened to three digits
    assert report.flags and 'class="box flags"' in page
    for column in ("age_bucket", "race"):
        ratio = report.groups[column].at_deployed.fmr.ratio
        assert f"FMR differs across {column} groups by {ratio:.1f}x at Similarity 80" in text
    # headline: FMR at the deployed threshold with its interval; FNMR cannot be measured
    fmr = verification.at_similarity[0].fmr
    assert f"FMR {100 * fmr.rate:.2f}% [{100 * fmr.low:.2f}%, {100 * fmr.high:.2f}%]" in text
    assert "FNMR: not measured" in text
    # impostor-only: FMR against threshold by group, no DET; a bar chart per group column
    for column in report.dataset.group_columns:
        assert f'alt="FMR by {column} (some groups have no genuine pairs)"' in page
        assert f'alt="FMR by {column} at Similarity 80"' in page
    assert 'alt="DET' not in page
    fcp = report.identification.result.points[0].false_candidates_per_probe
    assert f"A search at Similarity 80 returns on average {fcp:.2f} wrong people per probe" in text
    assert "Rank-1 identification rate: not measured (no mated probes)" in text
    assert "flagged" in text and "∞" in text  # FMR at 99 has groups without errors
    for term in (
        "FMR, false match rate",
        "FNMR, false non-match rate",
        "FNIR",
        "FPIR",
        "Wilson 95% interval",
    ):
        assert term in text
    assert len(walker.images) == 1 + 3 + 1 + 3  # enrolment, FMR curves, histogram, group FMR bars


def test_deepface_report(deepface_evaluation: Evaluation) -> None:
    report = deepface_evaluation.report
    page = render_html(deepface_evaluation)
    walker = _check_self_contained(page)
    text = _text(walker)
    verification = report.verification
    assert (
        f"{verification.genuine_pairs:,} genuine" in text
        and f"{verification.impostor_pairs:,} impostor" in text
    )
    assert len(report.flags) == 2
    for flag in report.flags:
        assert html.escape(flag) in page  # no long decimals to shorten here
    assert (
        'alt="DET: all pairs"' in page
        and 'alt="Similarity histogram"' in page
        and 'alt="CMC curve"' in page
    )
    assert (
        "cannot resolve FMR 0.001" in text
        and "no non-mated probes: FPIR cannot be measured" in text
    )
    assert "Rank-1 identification rate: 100% [77.2%, 100%]" in text
    assert "The data set has no group columns" in text
    assert f"Equal error rate {100 * verification.eer:.3g}%" in text


# --- synthetic evaluations --------------------------------------------------------------------


def test_synthetic_full_report(synthetic) -> None:
    evaluation = synthetic("full")
    report = evaluation.report
    page = render_html(evaluation)
    walker = _check_self_contained(page)
    text = _text(walker)
    # a group value with markup is escaped everywhere, never emitted as markup
    assert DARK not in page and html.escape(DARK) in page and DARK in text
    v = report.verification
    assert v.genuine_pairs > 0 and v.impostor_pairs > 0
    assert f"{v.genuine_pairs:,} genuine" in text and f"{v.impostor_pairs:,} impostor" in text
    assert report.enrolment.failed == ("D1.png",) and "Reasons: no face detected: 1." in text
    # the higher impostor scores within DARK are flagged, with the ratio shortened
    disparity = report.groups["tone"].at_deployed.fmr
    assert disparity.flagged and disparity.worst_group == DARK
    assert (
        html.escape(
            f"FMR differs across tone groups by {disparity.ratio:.1f}x at Similarity 80 "
            f"(worst: {DARK}, best: light; limit 2x)"
        )
        in page
    )
    unsupported = [f for f in report.flags if "cannot resolve" in f]
    assert unsupported and all(html.escape(f) in page for f in unsupported)
    # "age" mixes a group with genuine pairs and one without: a DET and an FMR-threshold plot
    assert (
        'alt="DET by age"' in page
        and 'alt="FMR by age (some groups have no genuine pairs)"' in page
    )
    assert 'alt="DET by tone"' in page and 'alt="FMR by tone at Similarity 80"' in page
    assert (
        html.escape(OLD) in page
    )  # in the tables; the plots' labels went through mathtext unharmed
    point = report.verification.at_similarity[0]
    assert f"FNMR {100 * point.fnmr.rate:.2f}%" in text
    assert "Rank-1 identification rate" in text and "wrong people per probe" in text
    assert 'alt="CMC curve"' in page


def test_synthetic_impostor_only(synthetic) -> None:
    page = render_html(synthetic("impostor-only"))
    text = _text(_check_self_contained(page))
    assert "FNMR: not measured" in text and "0 genuine" in text
    assert (
        'alt="FMR by tone (some groups have no genuine pairs)"' in page and 'alt="DET' not in page
    )


def test_unmeasured_values_say_not_measured(synthetic) -> None:
    """A group without pairs, a ratio without errors to compare and rank-1 without mated probes
    read "not measured"; the unbounded ratio reads ∞; no "nan" or "inf" anywhere."""
    walker = _check_self_contained(render_html(synthetic("empty-group")))
    text, words = _text(walker), _words(walker)
    assert not re.search(r"\b(nan|inf|infinity)\b", words, re.IGNORECASE)
    assert "Rank-1 identification rate: not measured (no mated probes)" in text
    assert "medium not measured no trials not measured no trials" in words  # FMR at 80 and 99
    assert "FMR at 80 ∞ dark light flagged" in words
    assert "FMR at 99 not measured — — —" in words  # no ratio, no worst or best group


def test_synthetic_folds(synthetic) -> None:
    evaluation = synthetic("folds")
    page = render_html(evaluation)
    text = _text(_check_self_contained(page))
    assert set(evaluation.report.verification.folds) == {"fold1", "fold2"}
    assert "Per fold, at Similarity 80" in text and "fold1" in text and "fold2" in text


def test_synthetic_nothing_to_compare(synthetic) -> None:
    evaluation = synthetic("empty")
    assert evaluation.report.identification is None
    page = render_html(evaluation)
    walker = _check_self_contained(page)
    text = _text(walker)
    assert "FMR: not measured (no impostor pairs)" in text and "FNMR: not measured" in text
    assert "1:N identification Not measured" in _words(walker) and "no group columns" in text
    assert "50.0%" in text  # one of the two images failed to enrol
    assert "No curve: there are no impostor pairs." in text
    assert len(walker.images) == 0


def test_deployed_threshold_between_similarity_points(synthetic) -> None:
    """A deployed threshold that is not one of the fixed points is still summarised."""
    evaluation = synthetic("full")
    report = evaluation.report
    report = replace(report, thresholds=replace(report.thresholds, deployed=85.0))
    text = _text(_walk(render_html(Evaluation(report, evaluation.pairs))))
    assert "At the deployed threshold, Similarity 85" in text
    assert "False candidates were not measured at the deployed threshold" in text


# --- in a browser -----------------------------------------------------------------------------


def _chromium() -> str:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no Chromium binary found (/usr/bin/chromium, chromium, chromium-browser, google-chrome): "
        "the browser rendering test needs headless Chromium"
    )


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(
        [binary, *flags, *args], check=False, capture_output=True, text=True, timeout=120
    )


def test_renders_in_headless_chromium(request, synthetic, tmp_path: Path) -> None:
    binary = _chromium()
    try:  # the richest report available: the real UTKFace one, else a synthetic one
        evaluation = request.getfixturevalue("utkface_evaluation")
    except pytest.skip.Exception:
        evaluation = synthetic("full")
    page = tmp_path / "report.html"
    page.write_text(render_html(evaluation), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "evaluation-report.png"
    shot.unlink(missing_ok=True)

    run = _run_chromium(
        binary,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1200,3000",
        page.as_uri(),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Uncaught" not in run.stderr
    assert shot.is_file() and shot.read_bytes().startswith(PNG_SIGNATURE)
    with Image.open(shot) as image:
        assert image.size == (1200, 3000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
        assert colours is not None and len(colours) > 1, "the screenshot is blank"

    dom = _run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr
    title = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8")).group(1)
    assert f"<title>{title}</title>" in dom.stdout
    assert re.search(r'<img alt="[^"]+" src="data:image/png;base64,', dom.stdout)
    assert 'id="groups"' in dom.stdout or evaluation.report.dataset.group_columns == ()
