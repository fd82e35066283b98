"""Fit the shipped distance -> Similarity calibration and print its error rates per population.

Descriptors come from Agnosco's own pipeline (the largest face of each image) on
``shared/data``.  Populations, each with its impostor (different-person) pairs:

* ``lfw-dev``: every cross-identity pair of its 5,381 images (3,040 adults, mostly public
  figures); genuine pairs: every same-identity pair.  Groups: gender (``images.csv``).
* ``utkface``: every pair of the 591 UTKFace chips, each a different person of all ages and
  five race groups.  Groups: race, gender, age bucket, adult (18+) or minor.
* ``deepface``: every cross-identity pair of deepface-pairs' 61 portraits (13 people);
  genuine: its 140 same-person pairs.

The fit (``agnosco.evaluation.calibrate.fit_calibration``, the code ``agnosco calibrate``
runs) takes the impostor pairs of ``lfw-dev`` and of UTKFace's adults, each population weighing
the same whatever its number of pairs (``lfw-dev`` has 145 times UTKFace's adults): Similarity
80 is FMR 1e-2 on average over the two, 90 is 1e-3, 95 is 1e-4 (UTKFace's 99k adult pairs
resolve no further) and 99 is 1e-5, extrapolated log-linearly from the 1e-3..1e-4 decade.
UTKFace's minors are reported, not fitted: children are confused far more often, and a scale
bent to them would lose its meaning for everyone else.  deepface's 1,690 pairs are too few to
resolve more than 1e-2, so they are reported, not fitted.  The table then shows, per
population and group, what each threshold really gives.

    python tools/calibrate_similarity.py --write     # refit and write the shipped artifact
    python tools/calibrate_similarity.py             # the table for the shipped calibration
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agnosco.evaluation.calibrate import fit_calibration, write_calibration
from agnosco.evaluation.datasets import read_identities, read_pairs, rekognition_bytes
from agnosco.evaluation.metrics import wilson_interval
from agnosco.vision.image import decode_image
from agnosco.vision.pipeline import PIPELINE_VERSION, FaceAnalyzer
from agnosco.vision.similarity import DEFAULT_CALIBRATION, SimilarityCalibration

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (80.0, 90.0, 95.0, 99.0)
FITTED = ("lfw-dev", "utkface")  # populations the shipped calibration is fitted on


@dataclass
class Population:
    """Descriptors of one data set, with an identity and group labels per image."""

    name: str
    vectors: np.ndarray  # N x 128, rows of images with a face
    identities: list[str]
    groups: dict[str, list[str]]  # group kind -> label per row
    failed: int

    def pair_indices(self) -> tuple[np.ndarray, np.ndarray]:
        return np.triu_indices(len(self.vectors), 1)

    def distances(self) -> tuple[np.ndarray, np.ndarray]:
        """(distance, same identity) for every pair i < j."""
        v = self.vectors.astype(np.float64)
        sq = (v**2).sum(1)
        i, j = self.pair_indices()
        d = np.empty(len(i))
        for start in range(0, len(i), 5_000_000):  # bounded memory for lfw-dev's 14.5M pairs
            a, b = i[start : start + 5_000_000], j[start : start + 5_000_000]
            d[start : start + len(a)] = np.sqrt(
                np.maximum(sq[a] + sq[b] - 2 * (v[a] * v[b]).sum(1), 0)
            )
        ids = np.array(self.identities)
        return d, ids[i] == ids[j]


def describe(
    paths: list[Path], analyzer: FaceAnalyzer, cache: Path | None
) -> list[np.ndarray | None]:
    """Largest-face descriptor of each image (None: no face), cached by image hash."""
    known: dict[str, np.ndarray] = {}
    if cache and cache.exists():
        known = dict(np.load(cache))
    out: list[np.ndarray | None] = []
    for n, path in enumerate(paths):
        data = rekognition_bytes(path)
        key = hashlib.sha256(data).hexdigest()
        if key not in known:
            faces = analyzer.describe(decode_image(data), max_faces=1)
            known[key] = faces[0].descriptor if faces else np.full(128, np.nan, np.float32)
            print(f"\rdescribed {n + 1}/{len(paths)}", end="", file=sys.stderr)
        out.append(None if np.isnan(known[key]).any() else known[key])
    print(file=sys.stderr)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **known)
    return out


def population(
    name: str,
    paths: list[Path],
    identities: list[str],
    groups: dict[str, list[str]],
    analyzer: FaceAnalyzer,
    cache: Path | None,
) -> Population:
    vectors = describe(paths, analyzer, cache)
    keep = [i for i, v in enumerate(vectors) if v is not None]
    return Population(
        name,
        np.stack([vectors[i] for i in keep]),
        [identities[i] for i in keep],
        {kind: [labels[i] for i in keep] for kind, labels in groups.items()},
        failed=len(paths) - len(keep),
    )


def load_populations(data: Path, analyzer: FaceAnalyzer, cache: Path | None) -> list[Population]:
    lfw = data / "lfw-dev"
    with open(lfw / "images.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    lfw_pop = population(
        "lfw-dev",
        [lfw / r["file"] for r in rows],
        [r["identity"] for r in rows],
        {"gender": [r["gender"] for r in rows]},
        analyzer,
        cache,
    )
    utk = data / "demographics-utkface"
    with open(utk / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    utk_pop = population(
        "utkface",
        [utk / r["file"] for r in rows],
        [r["file"] for r in rows],
        {
            "race": [r["race"] for r in rows],
            "gender": [r["gender"] for r in rows],
            "age": [r["age_bucket"] for r in rows],
            "ages": ["18+" if int(r["age"]) >= 18 else "under 18" for r in rows],
        },
        analyzer,
        cache,
    )
    deepface = data / "deepface-pairs"
    ids = read_identities(deepface / "identities.csv")
    # The 61 one-person portraits the pair lists label (not the group photos).
    names = sorted(
        {f for p in read_pairs(deepface / "pairs_exhaustive.csv") for f in (p.file_a, p.file_b)}
    )
    df_pop = population(
        "deepface",
        [deepface / "images" / n for n in names],
        [ids[n] for n in names],
        {},
        analyzer,
        cache,
    )
    return [lfw_pop, utk_pop, df_pop]


def adult_impostors(pop: Population) -> np.ndarray:
    """Distances of the population's impostor pairs, without pairs involving a minor."""
    d, same = pop.distances()
    keep = ~same
    if "ages" in pop.groups:
        adult = np.array([label == "18+" for label in pop.groups["ages"]])
        i, j = pop.pair_indices()
        keep &= adult[i] & adult[j]
    return d[keep]


def rate_cell(matched: int, trials: int) -> str:
    """``rate (matched/trials)``; with none matched, the 95% Wilson upper bound too."""
    if trials == 0:
        return "-"
    if matched == 0:
        return f"0 (0/{trials}; < {wilson_interval(0, trials)[1]:.0e})"
    return f"{matched / trials:.1e} ({matched}/{trials})"


def print_tables(cal: SimilarityCalibration, pops: list[Population]) -> None:
    print(
        f"Calibration {cal.version}; distances at each Similarity: "
        + ", ".join(f"{s:.0f} -> {cal.distance_at(s):.3f}" for s in THRESHOLDS)
        + "\n"
    )
    print(
        "| population / group | impostor pairs | "
        + " | ".join(f"FMR at {s:.0f}" for s in THRESHOLDS)
        + " |"
    )
    print("|---|---:|" + "---:|" * len(THRESHOLDS))
    genuine_rows = []
    for pop in pops:
        d, same = pop.distances()
        sims = cal.similarity(d)
        imp = ~same
        rows = [(f"**{pop.name}** (all)", imp)]
        i, j = pop.pair_indices()
        for kind, labels in pop.groups.items():
            lab = np.array(labels)
            for value in sorted(set(labels)):
                # a pair belongs to a group when both faces do
                rows.append(
                    (f"{pop.name}: {kind} {value}", imp & (lab[i] == value) & (lab[j] == value))
                )
        for label, mask in rows:
            n = int(mask.sum())
            if n == 0:
                continue
            cells = [rate_cell(int((sims[mask] >= s).sum()), n) for s in THRESHOLDS]
            print(f"| {label} | {n} | " + " | ".join(cells) + " |")
        if same.any():
            genuine_rows.append((pop.name, sims[same]))
    print(
        "\n| genuine pairs | pairs | " + " | ".join(f"FNMR at {s:.0f}" for s in THRESHOLDS) + " |"
    )
    print("|---|---:|" + "---:|" * len(THRESHOLDS))
    for name, sims in genuine_rows:
        cells = [rate_cell(int((sims < s).sum()), len(sims)) for s in THRESHOLDS]
        print(f"| {name} | {len(sims)} | " + " | ".join(cells) + " |")
    print("\nfaces not found: " + ", ".join(f"{p.name} {p.failed}" for p in pops))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=None, help="npz file caching descriptors")
    parser.add_argument("--write", action="store_true", help="write the calibration artifact")
    args = parser.parse_args()
    pops = load_populations(args.data, FaceAnalyzer(), args.cache)

    if args.write:
        impostors = {pop.name: adult_impostors(pop) for pop in pops if pop.name in FITTED}
        counts = ", ".join(f"{name} {len(d)}" for name, d in impostors.items())
        document = fit_calibration(
            impostors,
            version="unset",
            fitted_on=f"shared/data adult impostor pairs, each population weighing the same: "
            f"{counts}; pipeline {PIPELINE_VERSION}",
        )
        # the date and a digest of the anchors: a refit that moves them gets a new version
        digest = hashlib.sha256(
            json.dumps(document["fmr_anchors"], sort_keys=True).encode()
        ).hexdigest()
        document["version"] = f"{dt.date.today().isoformat()}-{digest[:8]}"
        out = ROOT / "agnosco" / "vision" / "data" / DEFAULT_CALIBRATION
        write_calibration(document, out)
        print(f"wrote {out}", file=sys.stderr)
    print_tables(SimilarityCalibration.load(), pops)


if __name__ == "__main__":
    main()
