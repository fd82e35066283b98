"""Measure how each QualityFilter measure relates to matching, to set the bars of
``agnosco/operations/quality_filter.py`` (see ``docs/quality-filter.md``).

What matters when a face is indexed or compared is whether a genuine pair still matches.
Genuine (same-person) pairs of ``lfw-dev/pairs.csv`` are compared with Agnosco's own pipeline
(``FaceAnalyzer``, ``decode_image``, the shipped ``SimilarityCalibration``): the reference side
(``file_a``) undegraded, its descriptor computed once, the probe side (``file_b``) degraded in
controlled steps.  For every step the tables give the false non-match rate at Similarity 80
(FNMR, Wilson 95% interval) and the mean Similarity, next to the quality measure the pipeline
reports for the degraded face:

* size: the probe shrunk so its box's short side is 12 ... 64 px, pasted on a plain
  1300 x 866 canvas (a family photo's size), several probes per canvas -> SMALL_BOUNDING_BOX;
* blur: Gaussian sigma steps -> the reported Sharpness -> LOW_SHARPNESS;
* darkness (pixel scale and gamma steps) and over-exposure (scale up, clipped) -> the
  reported Brightness -> LOW_BRIGHTNESS;
* pose: the natural yaw/pitch of LFW faces, pairs bucketed by the larger |angle| of the two
  faces -> EXTREME_POSE;
* detector confidence: pairs bucketed by the lower confidence of the two faces (natural and
  degraded probes), and the confidence of every false face on ``no-faces/`` -> LOW_CONFIDENCE.

The face of an LFW image is the detection nearest its centre; in a degraded probe, the
detection nearest where that face was moved to (within half its side), else "not detected".
FNMR is over detected probes (the filter only ever sees detected faces); undetected ones are
counted apart.  Finally the bars of ``quality_filter.BARS`` are applied to every probe: the
share each level drops per step, and the rule's suggested bars (``--rule``) from the tables.

    python tools/measure_quality_bars.py                  # ~6-9 min on 2 cores
    python tools/measure_quality_bars.py --pairs 150 --natural-pairs 600   # a quick look
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from agnosco.evaluation.datasets import read_pairs
from agnosco.evaluation.metrics import wilson_interval
from agnosco.operations.quality_filter import BARS, blur_sharpness, filter_reasons
from agnosco.vision.embedding import descriptor_distance
from agnosco.vision.image import decode_image
from agnosco.vision.pipeline import FaceAnalysis, FaceAnalyzer
from agnosco.vision.similarity import SimilarityCalibration

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
THRESHOLD = 80.0
LEVELS = ("LOW", "MEDIUM", "HIGH")

SIZE_STEPS = (12, 16, 20, 24, 28, 32, 40, 48, 64)
CANVAS = (1300, 866)  # width, height: a ~1300 px photo
BLUR_SIGMAS = (0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0)
DARK_SCALES = (0.5, 0.3, 0.2, 0.12, 0.08, 0.05, 0.03)
DARK_GAMMAS = (2.0, 3.0, 4.5)
BRIGHT_SCALES = (1.6, 2.2, 3.0)

SHARPNESS_EDGES = (0, 2.5, 5, 7.5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100.01)
BRIGHTNESS_EDGES = (0, 2, 3, 4, 6, 8, 10, 15, 20, 30, 40, 60, 70, 75, 80, 85, 90, 95, 100.01)
ANGLE_EDGES = (0, 10, 20, 30, 40, 50, 60, 180)
SIGNED_PITCH_EDGES = (-90, -40, -30, -20, -10, 0, 10, 20, 30, 40, 90)
CONFIDENCE_EDGES = (0, 60, 70, 80, 90, 95, 99, 99.9, 100.01)
MIN_TRIALS = 30  # a bucket with fewer genuine pairs sets no bar


@dataclass
class Face:
    """What the filter sees of one face, and its descriptor."""

    confidence: float
    side: float  # short side of the box, pixels of the image sent
    brightness: float
    sharpness: float  # as reported
    blur: float  # Sharpness as LOW_SHARPNESS judges it (dim faces compensated)
    yaw: float
    pitch: float
    descriptor: np.ndarray
    reasons: dict[str, list[str]]  # level -> filter_reasons with the current BARS
    cx: float  # box centre, pixels
    cy: float

    @classmethod
    def of(cls, face: FaceAnalysis, width: int, height: int) -> Face:
        box = face.box
        return cls(
            confidence=face.confidence,
            side=min(box.width * width, box.height * height),
            brightness=face.quality.brightness,
            sharpness=face.quality.sharpness,
            blur=blur_sharpness(face.quality),
            yaw=face.pose.yaw,
            pitch=face.pose.pitch,
            descriptor=face.descriptor,
            reasons={level: filter_reasons(face, level, width, height) for level in LEVELS},
            cx=(box.left + box.width / 2) * width,
            cy=(box.top + box.height / 2) * height,
        )


@dataclass
class Probe:
    """One degraded probe compared with its pair's reference."""

    kind: str
    step: str
    face: Face | None  # None: not detected
    similarity: float = math.nan
    clean_yaw: float = math.nan  # the undegraded probe's yaw

    @property
    def detected(self) -> bool:
        return self.face is not None

    @property
    def matched(self) -> bool:
        return self.detected and self.similarity >= THRESHOLD


@dataclass
class Measurements:
    fnmr0: float = math.nan
    natural: list[tuple[Face, Face, float]] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def nearest(
    faces: Sequence[FaceAnalysis], width: int, height: int, cx: float, cy: float, within: float
) -> FaceAnalysis | None:
    best, best_d = None, within
    for face in faces:
        b = face.box
        d = math.hypot((b.left + b.width / 2) * width - cx, (b.top + b.height / 2) * height - cy)
        if d <= best_d:
            best, best_d = face, d
    return best


class Bench:
    def __init__(self, analyzer: FaceAnalyzer, calibration: SimilarityCalibration) -> None:
        self.analyzer = analyzer
        self.calibration = calibration

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(self.calibration.similarity(descriptor_distance(a, b)))

    def analyse(self, data: bytes) -> tuple[list[FaceAnalysis], int, int]:
        image = decode_image(data)
        return self.analyzer.describe(image), image.width, image.height

    def subject(self, path: Path) -> tuple[Face | None, np.ndarray]:
        """The face nearest the centre of an LFW image, and the image's pixels."""
        image = decode_image(path.read_bytes())
        width, height = image.width, image.height
        faces = self.analyzer.describe(image)
        face = nearest(faces, width, height, width / 2, height / 2, within=max(width, height))
        return (Face.of(face, width, height) if face else None), image.pixels

    def probe(
        self,
        kind: str,
        step: str,
        pixels: np.ndarray,
        cx: float,
        cy: float,
        side: float,
        reference: Face,
    ) -> Probe:
        faces, width, height = self.analyse(png(pixels))
        face = nearest(faces, width, height, cx, cy, within=side / 2)
        if face is None:
            return Probe(kind, step, None)
        found = Face.of(face, width, height)
        return Probe(kind, step, found, self.similarity(found.descriptor, reference.descriptor))

    def canvas_probes(
        self,
        step: str,
        items: list[tuple[np.ndarray, Face, Face]],
        target: float,
        rng: np.random.Generator,
    ) -> list[Probe]:
        """Probes shrunk so their face's short side is ``target`` px, packed on 1300 px canvases."""
        width, height = CANVAS
        out: list[Probe] = []
        # cells big enough for a 150 px LFW image shrunk to the largest step
        cols, rows = 6, 4
        cw, ch = width // cols, height // rows
        per_canvas = cols * rows
        for start in range(0, len(items), per_canvas):
            chunk = items[start : start + per_canvas]
            canvas = np.empty((height, width, 3), np.uint8)
            canvas[:] = rng.integers(90, 170, size=3, dtype=np.uint8)
            placed = []
            for k, (pixels, probe_face, reference) in enumerate(chunk):
                factor = target / probe_face.side
                h0, w0 = pixels.shape[:2]
                size = (max(1, round(w0 * factor)), max(1, round(h0 * factor)))
                interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
                small = cv2.resize(pixels, size, interpolation=interp)
                fx, fy = probe_face.cx * factor, probe_face.cy * factor
                # a window of at most one cell, centred on the face
                sx = int(np.clip(round(fx - cw / 2), 0, max(0, small.shape[1] - cw)))
                sy = int(np.clip(round(fy - ch / 2), 0, max(0, small.shape[0] - ch)))
                small = small[sy : sy + ch, sx : sx + cw]
                x0 = (k % cols) * cw + (cw - small.shape[1]) // 2
                y0 = (k // cols) * ch + (ch - small.shape[0]) // 2
                canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
                placed.append((x0 + fx - sx, y0 + fy - sy, reference, probe_face.yaw))
            faces, w, h = self.analyse(png(canvas))
            for cx, cy, reference, yaw in placed:
                face = nearest(faces, w, h, cx, cy, within=target / 2)
                if face is None:
                    out.append(Probe("size", step, None))
                else:
                    found = Face.of(face, w, h)
                    out.append(
                        Probe(
                            "size",
                            step,
                            found,
                            self.similarity(found.descriptor, reference.descriptor),
                            yaw,
                        )
                    )
        return out


# --- degradations -----------------------------------------------------------------------------


def blur(sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda p: cv2.GaussianBlur(p, (0, 0), sigma)


def scale(k: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda p: np.clip(np.rint(p.astype(np.float32) * k), 0, 255).astype(np.uint8)


def gamma(g: float) -> Callable[[np.ndarray], np.ndarray]:
    table = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** g), 0, 255).astype(np.uint8)
    return lambda p: table[p]


DEGRADATIONS: list[tuple[str, str, Callable[[np.ndarray], np.ndarray]]] = [
    *[("blur", f"sigma {s:g}", blur(s)) for s in BLUR_SIGMAS],
    *[("dark", f"x{k:g}", scale(k)) for k in DARK_SCALES],
    *[("dark", f"gamma {g:g}", gamma(g)) for g in DARK_GAMMAS],
    *[("bright", f"x{k:g}", scale(k)) for k in BRIGHT_SCALES],
]


# --- measurement ------------------------------------------------------------------------------


def measure(
    bench: Bench, data: Path, n_pairs: int, n_natural: int, seed: int, log: Callable[[str], None]
) -> Measurements:
    root = data / "lfw-dev"
    genuine = [p for p in read_pairs(root / "pairs.csv") if p.same]
    order = list(range(len(genuine)))
    random.Random(seed).shuffle(order)
    natural_idx = order[: n_natural or len(order)]
    subset_idx = set(order[:n_pairs])
    files = sorted({f for i in natural_idx for f in (genuine[i].file_a, genuine[i].file_b)})
    log(f"natural: {len(natural_idx)} genuine pairs, {len(files)} images")
    probe_files = {genuine[i].file_b for i in subset_idx}
    cache: dict[str, tuple[Face | None, np.ndarray | None]] = {}
    t0 = time.time()
    for n, name in enumerate(files):
        face, pixels = bench.subject(root / name)
        cache[name] = (face, pixels if name in probe_files else None)
        if n % 500 == 499:
            log(f"  {n + 1}/{len(files)} images, {time.time() - t0:.0f} s")
    m = Measurements()
    for i in natural_idx:
        a, b = cache[genuine[i].file_a][0], cache[genuine[i].file_b][0]
        if a is not None and b is not None:
            m.natural.append((a, b, bench.similarity(a.descriptor, b.descriptor)))
    subset = []
    for i in sorted(subset_idx):
        a = cache[genuine[i].file_a][0]
        b, pixels = cache[genuine[i].file_b]
        if a is not None and b is not None and pixels is not None:
            subset.append((pixels, b, a))
    clean = [bench.similarity(b.descriptor, a.descriptor) for _, b, a in subset]
    m.fnmr0 = float(np.mean(np.asarray(clean) < THRESHOLD)) if clean else math.nan
    for (_, b, _), s in zip(subset, clean):
        m.probes.append(Probe("clean", "clean", b, s))
    log(f"degraded: {len(subset)} pairs (clean FNMR {100 * m.fnmr0:.1f}%)")

    rng = np.random.default_rng(seed)
    t0 = time.time()
    for target in SIZE_STEPS:
        m.probes.extend(bench.canvas_probes(f"{target} px", subset, float(target), rng))
    log(f"  size: {time.time() - t0:.0f} s")
    for kind, step, fn in DEGRADATIONS:
        t0 = time.time()
        for pixels, b, a in subset:
            m.probes.append(bench.probe(kind, step, fn(pixels), b.cx, b.cy, b.side, a))
        log(f"  {kind} {step}: {time.time() - t0:.0f} s")
    return m


def no_faces(bench: Bench, data: Path) -> list[tuple[str, Face]]:
    folder = data / "no-faces"
    with (folder / "labels.csv").open(newline="") as fh:
        names = [row["file"] for row in csv.DictReader(fh) if row["file"].startswith("images/")]
    found = []
    for name in names:
        faces, width, height = bench.analyse((folder / name).read_bytes())
        found.extend((name, Face.of(f, width, height)) for f in faces)
    return found


def utkface(bench: Bench, data: Path) -> list[tuple[str, Face | None]]:
    """(race group, the chip's largest face) for every UTKFace chip: who would the bars drop?"""
    folder = data / "demographics-utkface"
    with (folder / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        faces, width, height = bench.analyse((folder / row["file"]).read_bytes())
        out.append((row["race"], Face.of(faces[0], width, height) if faces else None))
    return out


def crowd(bench: Bench, data: Path) -> list[Face]:
    path = data / "crowds" / "volleyball-team.jpg"
    faces, width, height = bench.analyse(path.read_bytes())
    return [Face.of(f, width, height) for f in faces]


# --- tables -----------------------------------------------------------------------------------


def pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def fnmr_cell(errors: int, trials: int) -> str:
    if not trials:
        return "-"
    low, high = wilson_interval(errors, trials)
    return f"{100 * errors / trials:.1f}% [{100 * low:.1f}-{100 * high:.1f}]"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def q(values: Sequence[float], p: float) -> float:
    return float(np.percentile(values, p)) if len(values) else math.nan


def drop_share(probes: Sequence[Probe], level: str) -> str:
    detected = [p for p in probes if p.face is not None]
    if not detected:
        return "-"
    return pct(sum(bool(p.face.reasons[level]) for p in detected) / len(detected))  # type: ignore[union-attr]


def step_rows(probes: list[Probe], kind: str, measure: Callable[[Face], float]) -> list[list[str]]:
    steps: dict[str, list[Probe]] = {}
    for p in probes:
        if p.kind == kind:
            steps.setdefault(p.step, []).append(p)
    rows = []
    for step, group in steps.items():
        det = [p for p in group if p.face is not None]
        values = [measure(p.face) for p in det]  # type: ignore[arg-type]
        conf = [p.face.confidence for p in det]  # type: ignore[union-attr]
        errors = sum(not p.matched for p in det)
        if not det:
            rows.append([step, f"0/{len(group)}", *["-"] * 7])
            continue
        rows.append(
            [
                step,
                f"{len(det)}/{len(group)}",
                f"{q(values, 50):.1f} ({q(values, 10):.1f}-{q(values, 90):.1f})",
                f"{q(conf, 50):.1f} / {q(conf, 5):.1f}",
                fnmr_cell(errors, len(det)),
                f"{np.mean([p.similarity for p in det]):.1f}" if det else "-",
                *[drop_share(group, level) for level in LEVELS],
            ]
        )
    return rows


@dataclass
class Curve:
    """FNMR per bucket of one measure, higher ``x`` = better quality."""

    x: list[float]  # median measure in the bucket (negated for angles)
    fnmr: list[float]
    trials: list[int]


def bucket_rows(
    samples: list[tuple[float, bool]], edges: Sequence[float], negate: bool = False
) -> tuple[list[list[str]], Curve]:
    """``samples``: (measure, non-match) pairs; rows per [edge, next edge) bucket."""
    rows, curve = [], Curve([], [], [])
    values = np.array([s[0] for s in samples])
    misses = np.array([s[1] for s in samples], dtype=bool)
    for lo, hi in itertools.pairwise(edges):
        sel = (values >= lo) & (values < hi)
        n, e = int(sel.sum()), int(misses[sel].sum())
        label = f"{lo:g}-{min(hi, 100) if hi <= 101 else hi:g}"
        rows.append([label, str(n), fnmr_cell(e, n)])
        if n >= MIN_TRIALS:
            x = float(np.median(values[sel]))
            curve.x.append(-x if negate else x)
            curve.fnmr.append(e / n)
            curve.trials.append(n)
    if negate:
        curve = Curve(curve.x[::-1], curve.fnmr[::-1], curve.trials[::-1])
    return rows, curve


def monotone(fnmr: Sequence[float], trials: Sequence[int]) -> list[float]:
    """FNMR made non-increasing in quality (pool-adjacent-violators, weighted by pairs): a
    noisy good-quality bucket cannot set a bar above worse buckets that pass."""
    blocks: list[list[float]] = []  # [errors, trials, buckets]
    for y, n in zip(fnmr, trials):
        blocks.append([y * n, float(n), 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] < blocks[-1][0] / blocks[-1][1]:
            e, n2, k = blocks.pop()
            blocks[-1][0] += e
            blocks[-1][1] += n2
            blocks[-1][2] += k
    out: list[float] = []
    for e, n2, k in blocks:
        out += [e / n2] * int(k)
    return out


def crossing(curve: Curve, limit: float) -> float | None:
    """The best-quality point where the (monotone) FNMR rises above ``limit`` going down in
    quality, linearly interpolated between measured points: faces below it fail.  None: no
    point fails."""
    xs, ys = curve.x, monotone(curve.fnmr, curve.trials)
    for i in range(len(xs) - 1, -1, -1):  # from the best quality down
        if ys[i] > limit:
            if i == len(xs) - 1:
                return xs[i]
            x0, y0, x1, y1 = xs[i], ys[i], xs[i + 1], ys[i + 1]
            return x0 + (x1 - x0) * (ys[i] - limit) / (y0 - y1) if y0 != y1 else x1
    return None


def limits(fnmr0: float, rule: tuple[float, float, float]) -> dict[str, float]:
    low, medium, high = rule
    return {"LOW": low, "MEDIUM": fnmr0 + medium, "HIGH": fnmr0 + high}


def _reason_shares(faces: Sequence[Face], level: str) -> str:
    counts: dict[str, int] = {}
    for f in faces:
        for r in f.reasons[level]:
            counts[r] = counts.get(r, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{r.lower()} {pct(c / len(faces))}" for r, c in ranked) or (
        "-" if not faces else "none"
    )


def dropped_at(faces: Sequence[Face], level: str) -> tuple[list[Face], dict[str, int]]:
    """The faces ``level`` drops, and how many times each reason is given."""
    dropped = [f for f in faces if f.reasons[level]]
    counts: dict[str, int] = {}
    for f in dropped:
        for r in f.reasons[level]:
            counts[r] = counts.get(r, 0) + 1
    return dropped, counts


def drop_cells(faces: Sequence[Face]) -> list[str]:
    cells = []
    for level in LEVELS:
        dropped, counts = dropped_at(faces, level)
        top = ", ".join(
            f"{r.lower()} {c}" for r, c in sorted(counts.items(), key=lambda kv: -kv[1])[:2]
        )
        cells.append(
            f"{pct(len(dropped) / len(faces))}" + (f" ({top})" if top else "") if faces else "-"
        )
    return cells


def report_groups(chips: list[tuple[str, Face | None]], crowd_faces: list[Face]) -> str:
    out = [
        "\n### How the bars fall across race groups: UTKFace chips (200 px, many upscaled and soft)\n"
    ]
    rows = []
    for race in sorted({r for r, _ in chips}):
        faces = [f for r, f in chips if r == race and f is not None]
        total = sum(r == race for r, _ in chips)
        rows.append(
            [
                race,
                f"{len(faces)}/{total}",
                f"{q([f.brightness for f in faces], 5):.1f} / {q([f.brightness for f in faces], 50):.1f}",
                f"{q([f.sharpness for f in faces], 5):.1f} / {q([f.sharpness for f in faces], 50):.1f}",
                *drop_cells(faces),
            ]
        )
    out.append(
        table(
            [
                "race",
                "detected",
                "Brightness p5 / p50",
                "Sharpness p5 / p50",
                "dropped LOW",
                "MEDIUM",
                "HIGH",
            ],
            rows,
        )
    )
    out.append("\n### A real group photo: crowds/volleyball-team.jpg (1000 x 644), by face size\n")
    rows = []
    for lo, hi in ((0, 16), (16, 24), (24, 32), (32, 48), (48, 1e9)):
        faces = [f for f in crowd_faces if lo <= f.side < hi]
        label = f"{lo}-{hi:g} px" if hi < 1e9 else f">= {lo} px"
        rows.append(
            [
                label,
                str(len(faces)),
                f"{q([f.confidence for f in faces], 50):.1f}" if faces else "-",
                f"{q([f.sharpness for f in faces], 50):.1f}" if faces else "-",
                *drop_cells(faces),
            ]
        )
    out.append(
        table(
            [
                "box short side",
                "faces",
                "confidence median",
                "Sharpness median",
                "dropped LOW",
                "MEDIUM",
                "HIGH",
            ],
            rows,
        )
    )
    return "\n".join(out)


def report(
    m: Measurements, false_faces: list[tuple[str, Face]], rule: tuple[float, float, float]
) -> str:
    out = []
    probes = m.probes
    header = [
        "step",
        "detected",
        "{measure} median (p10-p90)",
        "confidence median / p5",
        "FNMR @80 [95% CI]",
        "mean Similarity",
        "dropped LOW",
        "MEDIUM",
        "HIGH",
    ]

    clean = [p for p in probes if p.kind == "clean"]
    clean_row = step_rows(clean, "clean", lambda f: f.side)
    out.append(
        f"Clean probes (undegraded, faces of 150 px LFW images): FNMR at Similarity 80 "
        f"{pct(m.fnmr0)} of {len(clean)} pairs.\n"
    )

    out.append("### Size (probe shrunk onto a 1300 x 866 canvas) -> SMALL_BOUNDING_BOX\n")
    out.append(
        table(
            [h.format(measure="box short side px") for h in header],
            clean_row + step_rows(probes, "size", lambda f: f.side),
        )
    )
    out.append("\nSharpness and brightness the pipeline reports for the shrunk faces:\n")
    size_rows = []
    for step in dict.fromkeys(p.step for p in probes if p.kind == "size"):
        det = [p.face for p in probes if p.kind == "size" and p.step == step and p.face]
        moved = [
            abs(p.face.yaw - p.clean_yaw)
            for p in probes  # type: ignore[union-attr]
            if p.kind == "size" and p.step == step and p.face
        ]
        size_rows.append(
            [
                step,
                f"{q([f.sharpness for f in det], 50):.1f} ({q([f.sharpness for f in det], 10):.1f})",
                f"{q([f.brightness for f in det], 50):.1f}",
                f"{q([abs(f.yaw) for f in det], 50):.1f}",
                f"{q(moved, 50):.1f} / {q(moved, 90):.1f}",
            ]
        )
    out.append(
        table(
            [
                "step",
                "Sharpness median (p10)",
                "Brightness median",
                "|yaw| median",
                "|yaw - clean yaw| median / p90",
            ],
            size_rows,
        )
    )
    out.append("\nWhy each level drops shrunk faces (share of detected faces per reason):\n")
    why = []
    for step in dict.fromkeys(p.step for p in probes if p.kind == "size"):
        det = [p.face for p in probes if p.kind == "size" and p.step == step and p.face]
        why.append([step, *[_reason_shares(det, level) for level in LEVELS]])
    out.append(table(["step", *LEVELS], why))

    blur_fn: Callable[[Face], float] = lambda f: f.blur
    out.append("\n### Blur (Gaussian, on the 150 px probe) -> LOW_SHARPNESS\n")
    out.append(
        "Sharpness here is as LOW_SHARPNESS judges it (`quality_filter.blur_sharpness`: "
        "faces dimmer than Brightness 40 compensated); blurring leaves Brightness as is.\n"
    )
    out.append(
        table(
            [h.format(measure="Sharpness") for h in header],
            step_rows(clean, "clean", blur_fn) + step_rows(probes, "blur", blur_fn),
        )
    )
    sharp = [(p.face.blur, not p.matched) for p in probes if p.kind in ("clean", "blur") and p.face]
    sharp_rows, sharp_curve = bucket_rows(sharp, SHARPNESS_EDGES)
    out.append("\nBy Sharpness as LOW_SHARPNESS judges it (clean and blurred probes pooled):\n")
    out.append(table(["Sharpness", "pairs", "FNMR @80 [95% CI]"], sharp_rows))

    bright_fn: Callable[[Face], float] = lambda f: f.brightness
    out.append("\n### Darkness and over-exposure -> LOW_BRIGHTNESS\n")
    out.append(
        table(
            [h.format(measure="Brightness") for h in header],
            step_rows(clean, "clean", bright_fn)
            + step_rows(probes, "dark", bright_fn)
            + step_rows(probes, "bright", bright_fn),
        )
    )
    light = [
        (p.face.brightness, not p.matched)
        for p in probes
        if p.kind in ("clean", "dark", "bright") and p.face
    ]
    light_rows, light_curve = bucket_rows(light, BRIGHTNESS_EDGES)
    dark_curve = (
        Curve(
            *[
                list(v)
                for v in zip(
                    *[
                        (x, y, n)
                        for x, y, n in zip(light_curve.x, light_curve.fnmr, light_curve.trials)
                        if x < 50
                    ]
                )
            ]
        )
        if light_curve.x
        else Curve([], [], [])
    )
    out.append(
        "\nSharpness of the darkened and over-exposed probes, reported / as LOW_SHARPNESS "
        "judges it (medians):\n"
    )
    out.append(
        table(
            ["step", "Brightness", "Sharpness reported", "Sharpness judged"],
            [
                [
                    f"{kind} {step}",
                    f"{q([f.brightness for f in det], 50):.1f}",
                    f"{q([f.sharpness for f in det], 50):.1f}",
                    f"{q([f.blur for f in det], 50):.1f}",
                ]
                for kind, step in dict.fromkeys(
                    (p.kind, p.step) for p in probes if p.kind in ("clean", "dark", "bright")
                )
                for det in [
                    [p.face for p in probes if p.kind == kind and p.step == step and p.face]
                ]
            ],
        )
    )
    over = [
        (x, y, n) for x, y, n in zip(light_curve.x, light_curve.fnmr, light_curve.trials) if x >= 50
    ]
    over_curve = Curve(
        [-x for x, _, _ in over][::-1], [y for _, y, _ in over][::-1], [n for _, _, n in over][::-1]
    )
    out.append("\nBy reported Brightness (clean, darkened and over-exposed probes pooled):\n")
    out.append(table(["Brightness", "pairs", "FNMR @80 [95% CI]"], light_rows))
    nat_faces = [f for a, b, _ in m.natural for f in (a, b)]
    out.append(
        "\nNatural LFW faces: "
        + "; ".join(
            f"{name} p1 {q(v, 1):.1f}, p5 {q(v, 5):.1f}, p50 {q(v, 50):.1f}, p95 {q(v, 95):.1f}, p99 {q(v, 99):.1f}"
            for name, v in (
                ("Brightness", [f.brightness for f in nat_faces]),
                ("Sharpness", [f.sharpness for f in nat_faces]),
                ("box side px", [f.side for f in nat_faces]),
            )
        )
        + "."
    )

    out.append("\n### Pose (natural LFW pairs) -> EXTREME_POSE\n")
    nat = m.natural
    yaw = [(max(abs(a.yaw), abs(b.yaw)), s < THRESHOLD) for a, b, s in nat]
    pitch = [(max(abs(a.pitch), abs(b.pitch)), s < THRESHOLD) for a, b, s in nat]
    yaw_rows, yaw_curve = bucket_rows(yaw, ANGLE_EDGES, negate=True)
    pitch_rows, pitch_curve = bucket_rows(pitch, ANGLE_EDGES, negate=True)
    out.append(
        f"{len(nat)} genuine pairs, FNMR at 80 {pct(np.mean([s < THRESHOLD for *_, s in nat]))}; "
        "a pair is bucketed by the larger angle of its two faces.\n"
    )
    out.append(table(["max |yaw|", "pairs", "FNMR @80 [95% CI]"], yaw_rows))
    out.append("")
    out.append(table(["max |pitch|", "pairs", "FNMR @80 [95% CI]"], pitch_rows))
    steeper = [
        (a.pitch if abs(a.pitch) >= abs(b.pitch) else b.pitch, s < THRESHOLD) for a, b, s in nat
    ]
    signed_rows, signed_curve = bucket_rows(steeper, SIGNED_PITCH_EDGES)
    down_curve = _side(signed_curve, lambda x: x < 0, negate=False)
    up_curve = _side(signed_curve, lambda x: x >= 0, negate=True)
    out.append("\nBy the signed pitch of the face tilted more (> 0: up):\n")
    out.append(table(["pitch", "pairs", "FNMR @80 [95% CI]"], signed_rows))
    signed = [f.pitch for a, b, _ in nat for f in (a, b)]
    yaws = [abs(f.yaw) for a, b, _ in nat for f in (a, b)]
    out.append(
        f"\nFaces: |yaw| p50 {q(yaws, 50):.1f}, p95 {q(yaws, 95):.1f}, p99 {q(yaws, 99):.1f}, "
        f"max {max(yaws):.1f}; pitch p1 {q(signed, 1):.1f}, p50 {q(signed, 50):.1f}, "
        f"p99 {q(signed, 99):.1f}."
    )

    out.append("\n### Detector confidence -> LOW_CONFIDENCE\n")
    conf_nat = [(min(a.confidence, b.confidence), s < THRESHOLD) for a, b, s in nat]
    conf_rows, _ = bucket_rows(conf_nat, CONFIDENCE_EDGES)
    out.append("Natural pairs, by the lower confidence of the two faces:\n")
    out.append(table(["confidence", "pairs", "FNMR @80 [95% CI]"], conf_rows))
    conf_all = [(p.face.confidence, not p.matched) for p in probes if p.face]
    conf_all_rows, _ = bucket_rows(conf_all, CONFIDENCE_EDGES)
    out.append("\nAll probes (clean and degraded), by the probe's confidence:\n")
    out.append(table(["confidence", "pairs", "FNMR @80 [95% CI]"], conf_all_rows))
    conf_curves: dict[str, Curve] = {}
    columns = []
    for level in LEVELS:
        residual = [
            (p.face.confidence, not p.matched)
            for p in probes
            if p.face and not [r for r in p.face.reasons[level] if r != "LOW_CONFIDENCE"]
        ]
        level_rows, conf_curves[level] = bucket_rows(residual, CONFIDENCE_EDGES)
        columns.append(level_rows)
    out.append(
        "\nProbes (clean and degraded) that every other bar of a level keeps, by the "
        "probe's confidence (what LOW_CONFIDENCE adds at that level): pairs, FNMR:\n"
    )
    out.append(
        table(
            ["confidence", *LEVELS],
            [[cells[0][0], *[f"{c[1]}: {c[2]}" for c in cells]] for cells in zip(*columns)],
        )
    )
    out.append(f"\nFalse faces on no-faces/ ({len(false_faces)}):\n")
    out.append(
        table(
            [
                "image",
                "confidence",
                "side px",
                "Sharpness",
                "Brightness",
                "|yaw|",
                "LOW",
                "MEDIUM",
                "HIGH",
            ],
            [
                [
                    name,
                    f"{f.confidence:.1f}",
                    f"{f.side:.0f}",
                    f"{f.sharpness:.1f}",
                    f"{f.brightness:.1f}",
                    f"{abs(f.yaw):.0f}",
                    *[",".join(f.reasons[level]) or "kept" for level in LEVELS],
                ]
                for name, f in false_faces
            ],
        )
    )

    out.append("\n### Natural LFW faces dropped by the current BARS\n")
    faces = [f for a, b, _ in nat for f in (a, b)]
    rows = []
    for level in LEVELS:
        dropped, counts = dropped_at(faces, level)
        rows.append(
            [
                level,
                pct(len(dropped) / len(faces)),
                ", ".join(f"{r} {c}" for r, c in sorted(counts.items())) or "-",
            ]
        )
    out.append(table(["level", "faces dropped", "reasons"], rows))

    lim = limits(m.fnmr0, rule)
    out.append(
        f"\n### Suggested bars (rule: a face fails a level where FNMR at 80 exceeds LOW "
        f"{pct(lim['LOW'])}, MEDIUM clean+{100 * rule[1]:g} pp = {pct(lim['MEDIUM'])}, "
        f"HIGH clean+{100 * rule[2]:g} pp = {pct(lim['HIGH'])}; buckets of >= {MIN_TRIALS} pairs)\n"
    )
    size_curve = steps_curve([p for p in probes if p.kind == "size"], lambda f: f.side)
    blur_curve = steps_curve([p for p in probes if p.kind == "blur"], lambda f: f.blur)
    rows = []
    for name, curve, negate in (
        ("box short side px (steps)", size_curve, False),
        ("Sharpness (buckets)", sharp_curve, False),
        ("Sharpness (blur steps)", blur_curve, False),
        ("Brightness, dark side (buckets)", dark_curve, False),
        ("Brightness, over-exposed side (buckets)", over_curve, True),
        ("|yaw| (buckets)", yaw_curve, True),
        ("|pitch| (buckets)", pitch_curve, True),
        ("pitch up (buckets)", up_curve, True),
        ("pitch down, as |pitch| (buckets)", down_curve, True),
        ("confidence (probes the level's other bars keep)", None, False),
    ):
        cells = []
        for level in LEVELS:
            x = crossing(conf_curves[level] if curve is None else curve, lim[level])
            cells.append("none fails" if x is None else f"{abs(x) if negate or x < 0 else x:.1f}")
        rows.append([name, *cells])
    out.append(table(["measure", "LOW", "MEDIUM", "HIGH"], rows))
    return "\n".join(out)


def _side(curve: Curve, keep: Callable[[float], bool], negate: bool) -> Curve:
    """The buckets of a signed curve on one side of 0, higher x = better quality."""
    points = [
        (-x if negate else x, y, n) for x, y, n in zip(curve.x, curve.fnmr, curve.trials) if keep(x)
    ]
    points.sort()
    return Curve([p[0] for p in points], [p[1] for p in points], [p[2] for p in points])


def steps_curve(probes: list[Probe], measure: Callable[[Face], float]) -> Curve:
    steps: dict[str, list[Probe]] = {}
    for p in probes:
        steps.setdefault(p.step, []).append(p)
    points = []
    for group in steps.values():
        det = [p for p in group if p.face is not None]
        if len(det) >= MIN_TRIALS:
            points.append(
                (
                    float(np.median([measure(p.face) for p in det])),  # type: ignore[arg-type]
                    sum(not p.matched for p in det) / len(det),
                    len(det),
                )
            )
    points.sort()
    return Curve([p[0] for p in points], [p[1] for p in points], [p[2] for p in points])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--pairs", type=int, default=400, help="genuine pairs degraded (seeded)")
    parser.add_argument(
        "--natural-pairs",
        type=int,
        default=0,
        help="genuine pairs for the natural pose/confidence tables (0: all 2,100)",
    )
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument(
        "--rule",
        type=float,
        nargs=3,
        default=(0.5, 0.10, 0.03),
        metavar=("LOW", "MEDIUM_PP", "HIGH_PP"),
        help="FNMR limits: LOW absolute, MEDIUM and HIGH above the clean FNMR",
    )
    parser.add_argument("--detector", help="a detector name (default: the pipeline's default)")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    analyzer = FaceAnalyzer(args.detector) if args.detector else FaceAnalyzer()
    bench = Bench(analyzer, SimilarityCalibration.load())
    started = time.time()
    m = measure(bench, args.data, args.pairs, args.natural_pairs, args.seed, log)
    false_faces = no_faces(bench, args.data)
    chips = utkface(bench, args.data)
    crowd_faces = crowd(bench, args.data)
    print(
        f"Detector `{analyzer.detector.name}`, calibration {bench.calibration.version}, "
        f"seed {args.seed}, {time.time() - started:.0f} s.\n"
    )
    print(
        "Bars applied (quality_filter.BARS): "
        + "; ".join(f"{level} {BARS[level]}" for level in LEVELS)
        + "\n"
    )
    print(report(m, false_faces, tuple(args.rule)))
    print(report_groups(chips, crowd_faces))
    return 0


if __name__ == "__main__":
    sys.exit(main())
