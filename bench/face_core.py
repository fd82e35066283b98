"""Agnosco's face core vs the face_recognition library, on the same images and pairs, in one run.

Both tools go from encoded bytes to descriptors of every face of each image: decode, detect,
landmarks, descriptor (Agnosco also computes pose, quality and Rekognition's landmarks on the
way).  One face stands for each image in pair verification, chosen the same way for both tools,
two ways:

* ``largest``: the largest face, as CompareFaces and SearchFacesByImage choose it (the headline);
* ``central``: the face nearest the image centre, which is the person an LFW image is named
  after (LFW's images are centred on that face; others at the edges are bystanders).

An image in which a tool finds no face makes its pairs "different" for that tool (and is
counted as a no-face failure).  The two tools run image by image, interleaved, so both see the
same machine state.

Sets (from ``shared/data``):

* ``lfw-dev``: LFW View 2 folds 4-10, 4,200 official pairs, scored with the LFW protocol: for
  each fold, the distance threshold that is best on the other six folds, applied to that fold;
  the mean and spread of the seven fold accuracies.  Also accuracy at each tool's default
  threshold on all pairs: Agnosco's Similarity 80 (Rekognition's default ``FaceMatchThreshold``
  and ``SimilarityThreshold``), face_recognition's distance 0.6.
* ``deepface-pairs``: ``pairs.csv`` (520 upstream pairs) and ``pairs_exhaustive.csv`` (1,830),
  at the default thresholds and at each tool's best threshold on the set.

Prints per-image time (mean, median) for both and the ratio, per set.

    pip install --no-deps face_recognition==1.3.0   # the peer, beside dlib-bin
    python bench/face_core.py [--data ../shared/data] [--sets lfw-dev deepface-pairs] [--limit N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from agnosco.evaluation.datasets import Pair, read_pairs, rekognition_bytes
from agnosco.vision.image import decode_image
from agnosco.vision.pipeline import FaceAnalyzer
from agnosco.vision.similarity import SimilarityCalibration

PEER_THRESHOLD = 0.6  # face_recognition's documented default tolerance
DEFAULT_SIMILARITY = 80.0  # Rekognition's default match threshold

CHOICES = ("largest", "central")


@dataclass(frozen=True)
class FoundFace:
    """One face a tool found: its box centre and area in pixels, and its descriptor."""

    centre: tuple[float, float]
    area: float
    vector: np.ndarray


@dataclass(frozen=True)
class Found:
    """Every face a tool found in one image of ``width`` x ``height`` pixels."""

    width: int
    height: int
    faces: list[FoundFace]

    def choose(self, rule: str) -> np.ndarray | None:
        if not self.faces:
            return None
        if rule == "largest":
            return max(self.faces, key=lambda f: f.area).vector
        cx, cy = self.width / 2, self.height / 2
        return min(self.faces, key=lambda f: np.hypot(f.centre[0] - cx, f.centre[1] - cy)).vector


Describe = Callable[[bytes], Found]


def peer_describe(data: bytes) -> Found:
    """face_recognition as its README uses it: HOG detector (upsample 1), 5-point alignment."""
    import face_recognition

    pixels = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    boxes = face_recognition.face_locations(pixels)
    vectors = face_recognition.face_encodings(pixels, boxes) if boxes else []
    faces = [
        FoundFace(((l + r) / 2, (t + b) / 2), float((b - t) * (r - l)), v)
        for (t, r, b, l), v in zip(boxes, vectors)
    ]
    return Found(pixels.shape[1], pixels.shape[0], faces)


def agnosco_describer(analyzer: FaceAnalyzer) -> Describe:
    def describe(data: bytes) -> Found:
        image = decode_image(data)
        height, width = image.pixels.shape[:2]
        faces = [
            FoundFace(
                ((f.box.left + f.box.width / 2) * width, (f.box.top + f.box.height / 2) * height),
                f.box.width * width * f.box.height * height,
                f.descriptor,
            )
            for f in analyzer.describe(image)
        ]
        return Found(width, height, faces)

    return describe


@dataclass
class ToolRun:
    """One tool's faces and per-image seconds on one set."""

    found: dict[str, Found] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def distances(self, pairs: list[Pair], rule: str) -> np.ndarray:
        """Distance per pair between the faces ``rule`` chooses; infinite where either image
        has no face."""
        out = np.full(len(pairs), np.inf)
        for i, p in enumerate(pairs):
            a, b = self.found[p.file_a].choose(rule), self.found[p.file_b].choose(rule)
            if a is not None and b is not None:
                out[i] = float(np.linalg.norm(a - b))
        return out


def accuracy(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(((distances <= threshold) == same).mean())


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) maximising accuracy over every cut point between distances."""
    finite = np.sort(distances[np.isfinite(distances)])
    if len(finite) == 0:
        return float((~same).mean()), 0.0
    cuts = np.concatenate([[finite[0] - 1e-6], (finite[1:] + finite[:-1]) / 2, [finite[-1]]])
    order = np.argsort(distances, kind="stable")
    ranked_same = same[order]
    # Accepting the k smallest distances: right = genuine among them + impostors beyond them.
    genuine_within = np.concatenate([[0], np.cumsum(ranked_same)])
    impostor_beyond = (~same).sum() - np.concatenate([[0], np.cumsum(~ranked_same)])
    right = genuine_within + impostor_beyond  # index k: the k smallest accepted
    accepted = np.searchsorted(np.sort(distances), cuts, side="right")
    k = int(np.argmax(right[accepted]))
    return float(right[accepted][k] / len(same)), float(cuts[k])


def lfw_protocol(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> list[float]:
    """Accuracy of each fold at the threshold best on the other folds."""
    result = []
    for fold in sorted(set(folds)):
        held_out = folds == fold
        _, threshold = best_threshold(distances[~held_out], same[~held_out])
        result.append(accuracy(distances[held_out], same[held_out], threshold))
    return result


def run_set(files: dict[str, Path], tools: dict[str, Describe]) -> dict[str, ToolRun]:
    runs = {name: ToolRun() for name in tools}
    for i, (name, path) in enumerate(files.items()):
        data = rekognition_bytes(path)
        for tool, describe in tools.items():
            start = time.perf_counter()
            runs[tool].found[name] = describe(data)
            runs[tool].seconds.append(time.perf_counter() - start)
        if (i + 1) % 500 == 0:
            print(f"  ... {i + 1}/{len(files)} images", flush=True)
    return runs


def print_speed(runs: dict[str, ToolRun]) -> None:
    print("  per-image time, bytes -> descriptors of every face (s):")
    for tool, run in runs.items():
        print(
            f"    {tool:17s} mean {statistics.mean(run.seconds):.4f}  "
            f"median {statistics.median(run.seconds):.4f}"
        )
    agnosco, peer = runs["agnosco"], runs["face_recognition"]
    print(
        f"    speed-up (face_recognition / agnosco): "
        f"{statistics.mean(peer.seconds) / statistics.mean(agnosco.seconds):.2f}x mean, "
        f"{statistics.median(peer.seconds) / statistics.median(agnosco.seconds):.2f}x median"
    )
    for tool, run in runs.items():
        missing = sorted(k for k, v in run.found.items() if not v.faces)
        print(
            f"    {tool}: no face found in {len(missing)} of {len(run.found)} images "
            f"({100 * len(missing) / len(run.found):.2f}%)"
            + (f": {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}" if missing else "")
        )


def report_pairs(
    name: str, pairs: list[Pair], runs: dict[str, ToolRun], default_distance: float, protocol: bool
) -> None:
    same = np.array([p.same for p in pairs])
    print(f"  {name}: {len(pairs)} pairs ({int(same.sum())} same)")
    for rule in CHOICES:
        print(f"   the {rule} face of each image:")
        for tool, run in runs.items():
            d = run.distances(pairs, rule)
            default = default_distance if tool == "agnosco" else PEER_THRESHOLD
            label = (
                f"Similarity {DEFAULT_SIMILARITY:.0f} (distance {default:.3f})"
                if tool == "agnosco"
                else f"distance {PEER_THRESHOLD}"
            )
            best, at = best_threshold(d, same)
            line = (
                f"    {tool:17s} at {label}: {accuracy(d, same, default):.4f}; "
                f"best {best:.4f} at distance {at:.3f}"
            )
            if protocol and len({p.fold for p in pairs}) > 1:
                folds = np.array([p.fold for p in pairs])
                per_fold = lfw_protocol(d, same, folds)
                line += (
                    f"; {len(per_fold)}-fold protocol {statistics.mean(per_fold):.4f} "
                    f"± {statistics.stdev(per_fold):.4f} ("
                    + " ".join(f"{a:.3f}" for a in per_fold)
                    + ")"
                )
            print(line)


STAGE_SAMPLE = 300  # images per set timed stage by stage (after the interleaved run)


def print_stages(paths: list[Path], analyzer: FaceAnalyzer) -> None:
    """Where Agnosco's time goes: each step of ``FaceAnalyzer.analyze`` timed on its own, on
    up to :data:`STAGE_SAMPLE` images spread through ``paths``."""
    from agnosco.vision.embedding import compute_descriptors
    from agnosco.vision.landmarks import predict_landmarks
    from agnosco.vision.pose import estimate_pose
    from agnosco.vision.quality import measure_quality

    sample = [
        paths[i * len(paths) // min(len(paths), STAGE_SAMPLE)]
        for i in range(min(len(paths), STAGE_SAMPLE))
    ]
    totals = {
        "decode": 0.0,
        "detect": 0.0,
        "68 landmarks": 0.0,
        "pose + quality": 0.0,
        "chips + descriptors": 0.0,
    }
    faces = 0
    for path in sample:
        data = rekognition_bytes(path)
        t0 = time.perf_counter()
        image = decode_image(data)
        t1 = time.perf_counter()
        detections = analyzer.detector.detect(image.pixels)
        t2 = time.perf_counter()
        shapes = [predict_landmarks(image.pixels, d.box) for d in detections]
        t3 = time.perf_counter()
        height, width = image.pixels.shape[:2]
        for d, points in zip(detections, shapes):
            estimate_pose(points, width, height)
            measure_quality(image.pixels, d.box)
        t4 = time.perf_counter()
        if detections:
            compute_descriptors(image.pixels, [d.points for d in detections])
        t5 = time.perf_counter()
        faces += len(detections)
        for key, seconds in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            totals[key] += seconds
    whole = sum(totals.values())
    print(
        f"  where Agnosco's time goes ({len(sample)} images, {faces} faces; ms per image, share):"
    )
    for key, seconds in totals.items():
        print(
            f"    {key:20s} {1000 * seconds / len(sample):7.2f}  {100 * seconds / whole:5.1f}%"
            + (
                f"   ({1000 * seconds / faces:.2f} ms per face)"
                if faces and key != "decode" and key != "detect"
                else ""
            )
        )


def spread(pairs: list[Pair], limit: int | None) -> list[Pair]:
    """``limit`` pairs taken at even steps through ``pairs`` (every fold, both kinds), or all."""
    if limit is None or limit >= len(pairs):
        return pairs
    return [pairs[i * len(pairs) // limit] for i in range(limit)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    parser.add_argument("--sets", nargs="*", default=["lfw-dev", "deepface-pairs"])
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="N pairs of each pairs file, evenly spread (a quick run)",
    )
    args = parser.parse_args()

    analyzer = FaceAnalyzer()
    tools: dict[str, Describe] = {
        "agnosco": agnosco_describer(analyzer),
        "face_recognition": peer_describe,
    }
    calibration = SimilarityCalibration.load()
    default_distance = calibration.distance_at(DEFAULT_SIMILARITY)
    warm = rekognition_bytes(args.data / "deepface-pairs" / "images" / "img1.jpg")
    for describe in tools.values():  # load every model before timing
        describe(warm)

    layouts = {
        "lfw-dev": (args.data / "lfw-dev", args.data / "lfw-dev", ["pairs.csv"], True),
        "deepface-pairs": (
            args.data / "deepface-pairs",
            args.data / "deepface-pairs" / "images",
            ["pairs.csv", "pairs_exhaustive.csv"],
            False,
        ),
    }
    for set_name in args.sets:
        root, images, pair_files, protocol = layouts[set_name]
        pair_sets = {f: spread(read_pairs(root / f), args.limit) for f in pair_files}
        names = sorted(
            {n for pairs in pair_sets.values() for p in pairs for n in (p.file_a, p.file_b)}
        )
        print(f"\n{set_name}: {len(names)} images", flush=True)
        runs = run_set({n: images / n for n in names}, tools)
        print_speed(runs)
        print_stages([images / n for n in names], analyzer)
        print("  pair verification accuracy:")
        for pair_file, pairs in pair_sets.items():
            report_pairs(pair_file, pairs, runs, default_distance, protocol)


if __name__ == "__main__":
    main()
