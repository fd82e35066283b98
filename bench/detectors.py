"""Compare Agnosco's face detectors on the shared data: recall, false faces and speed.

Counts are matched per image, not per box (the shared sets label face counts, not boxes):
an image expecting ``n`` faces scores ``min(found, n)`` hits and ``max(0, found - n)``
extra faces.  Sets (``../shared/data``, see the READMEs there):

* multi-face: deepface's ``selfie-many-people.jpg`` (7 faces, three cut by the frame),
  ``couple.jpg`` (2) and ``img11_reflection.jpg`` (a person and her mirror reflection: 2);
* portraits: deepface's 60 single-person JPEGs (extra faces there are often real people in
  the background);
* crowd: ``crowds/volleyball-team.jpg``, the players and staff in front (25 faces counted by
  eye; RetinaFace's boxes 30-45 px tall, 25-38 px in dlib's geometry that every detector here
  returns) and hundreds of spectators behind (<= 19 px); "foreground" counts boxes >= 22 px;
* UTKFace: 591 face chips, detection failures per race, gender and age bucket;
* no faces: 22 images, every face found is false (``coins.png`` is a hard negative);
* lfw-dev: 5,381 LFW photos, images where no face is found (skipped with ``--quick``).

Time is detection only, on the decoded image, after one warm-up call.

    python bench/detectors.py [--data ../shared/data] [--detectors retinaface hog] [--quick]
    python bench/detectors.py --detectors retinaface --scores 0.5 0.7 0.8 0.9 --quick   # the score sweep
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from agnosco.errors import ServiceError
from agnosco.vision.detectors import DETECTORS, make_detector
from agnosco.vision.detectors.retinaface import RetinaFaceDetector
from agnosco.vision.image import decode_image

MULTI_FACE = {"selfie-many-people.jpg": 7, "couple.jpg": 2, "img11_reflection.jpg": 2}
FOREGROUND = (
    22  # px (dlib geometry): the volleyball photo's players are taller, its spectators shorter
)
GROUPS = ("race", "gender", "age_bucket")


@dataclass
class Item:
    path: Path
    want: int
    groups: dict[str, str] = field(default_factory=dict)


def image_sets(data: Path, quick: bool) -> dict[str, list[Item]]:
    deepface = sorted((data / "deepface-pairs" / "images").glob("*.jpg"))
    utk = data / "demographics-utkface"
    with open(utk / "labels.csv", newline="") as fh:
        chips = [Item(utk / r["file"], 1, {g: r[g] for g in GROUPS}) for r in csv.DictReader(fh)]
    with open(data / "no-faces" / "labels.csv", newline="") as fh:
        no_faces = [data / "no-faces" / row["file"] for row in csv.DictReader(fh)]
    sets = {
        "multi-face (deepface)": [
            Item(p, MULTI_FACE[p.name]) for p in deepface if p.name in MULTI_FACE
        ],
        "portraits (deepface)": [Item(p, 1) for p in deepface if p.name not in MULTI_FACE],
        "crowd (volleyball)": [Item(data / "crowds" / "volleyball-team.jpg", 0)],
        "chips (utkface)": chips,
        "no faces": [Item(p, 0) for p in no_faces if p.suffix.lower() in (".jpg", ".png")],
    }
    if not quick:
        sets["lfw-dev"] = [Item(p, 1) for p in sorted((data / "lfw-dev" / "lfw").glob("*/*.jpg"))]
    return sets


def decode(path: Path):  # type: ignore[no-untyped-def]
    try:
        return decode_image(path.read_bytes()).pixels
    except ServiceError:
        return None  # e.g. the WebP file named .jpg: not a Rekognition input


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    parser.add_argument("--detectors", nargs="*", default=sorted(DETECTORS))
    parser.add_argument("--quick", action="store_true", help="skip lfw-dev (5,381 images)")
    parser.add_argument(
        "--scores",
        nargs="*",
        type=float,
        default=[],
        help="also run retinaface at each of these score floors (its default: "
        "the shipped MIN_SCORE)",
    )
    args = parser.parse_args()
    sets = image_sets(args.data, args.quick)
    cache = {
        i.path: decode(i.path) for name, items in sets.items() if name != "lfw-dev" for i in items
    }

    print(
        f"{'detector':11s} {'set':22s} {'images':>6s} {'hits':>11s} {'recall':>7s} {'extra':>6s} {'ms/img':>7s}"
    )
    details = []
    detectors = [(name, make_detector(name)) for name in args.detectors]
    detectors += [(f"rf@{score:g}", RetinaFaceDetector(min_score=score)) for score in args.scores]
    for name, detector in detectors:
        detector.detect(next(p for p in cache.values() if p is not None))  # load outside the timing
        for set_name, items in sets.items():
            hits = expected = extra = n = 0
            elapsed = 0.0
            per_image, failed = [], []
            groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
            for item in items:
                pixels = cache[item.path] if item.path in cache else decode(item.path)
                if pixels is None:
                    continue
                start = time.perf_counter()
                found = detector.detect(pixels)
                elapsed += time.perf_counter() - start
                n += 1
                hits += min(len(found), item.want)
                expected += item.want
                extra += max(0, len(found) - item.want)
                per_image.append((item, found))
                if item.want and not found:
                    failed.append(item.path.name)
                for kind, label in item.groups.items():
                    groups[(kind, label)][0] += 1
                    groups[(kind, label)][1] += not found
            recall = f"{hits / expected:.4f}" if expected else "-"
            shown_extra = "-" if set_name.startswith("crowd") else str(extra)
            print(
                f"{name:11s} {set_name:22s} {n:6d} {hits:5d}/{expected:<5d} {recall:>7s} "
                f"{shown_extra:>6s} {1000 * elapsed / max(n, 1):7.1f}"
            )
            details.append(describe(name, set_name, per_image, failed, groups))
    print()
    for lines in details:
        for line in lines:
            print(line)


def describe(detector, set_name, per_image, failed, groups) -> list[str]:  # type: ignore[no-untyped-def]
    """The per-set detail lines printed after the table."""
    head = f"{detector}, {set_name}:"
    if set_name.startswith("multi-face"):
        return [head + " " + ", ".join(f"{i.path.name} {len(f)}/{i.want}" for i, f in per_image)]
    if set_name.startswith("crowd"):
        ((_, found),) = per_image
        tall = sum(d.box.height >= FOREGROUND for d in found)
        heights = sorted((d.box.height for d in found), reverse=True)
        gap = next((h for h in heights if h < FOREGROUND), None)
        return [
            f"{head} {len(found)} faces, {tall} of them >= {FOREGROUND} px tall (foreground); "
            f"the next tallest box {gap:.2f} px"
            if gap is not None
            else f"{head} {len(found)} faces, {tall} foreground"
        ]
    if set_name.startswith("no faces"):
        false = {i.path.name: [round(d.score, 3) for d in f] for i, f in per_image if f}
        return [f"{head} false faces by file (scores): {false or 'none'}"]
    if set_name.startswith("chips"):
        lines = [f"{head} detection failures per group"]
        for kind in GROUPS:
            cells = sorted((label, v) for (k, label), v in groups.items() if k == kind)
            lines.append(
                f"  {kind:10s} "
                + "  ".join(f"{label} {v[1]}/{v[0]} ({v[1] / v[0]:.1%})" for label, v in cells)
            )
        worst = max(v[1] / v[0] for v in groups.values()) if groups else 0.0
        lines.append(f"  worst group failure rate {worst:.1%}")
        return lines
    if set_name == "lfw-dev" or set_name.startswith("portraits"):
        shown = ", ".join(failed[:20]) + (" ..." if len(failed) > 20 else "")
        extra = [i.path.name for i, f in per_image if len(f) > i.want]
        line = f"{head} no face found in {len(failed)} of {len(per_image)} images{': ' + shown if failed else ''}"
        if set_name.startswith("portraits"):
            line += f"; more than one face in {extra}"
        return [line]
    return []


if __name__ == "__main__":
    main()
