"""Fit the mapping from RetinaFace's detections to dlib's face box, and print its constants.

dlib's 68-point shape predictor (landmarks, hence pose, attributes and the descriptor's
alignment) is initialised from a face box and was trained on the boxes of dlib's own HOG
detector, ``dlib.get_frontal_face_detector()``.  RetinaFace's boxes follow another convention
(WIDER FACE's, forehead to chin, taller than wide), so Agnosco turns each RetinaFace detection
into the box HOG would give.  This tool measures that mapping on ``lfw-dev`` (250 x 250 LFW
photos): it runs both detectors, pairs the faces both find, fits several candidate mappings
on ``--fit`` images and compares them on ``--check`` other images by

* the IoU of the mapped box with HOG's box (mean, median, 10th percentile, share >= 0.7), and
* for the chosen mapping, how far the 68 landmarks dlib predicts from the mapped box lie from
  those it predicts from HOG's box (mean point distance over the eye distance, per face).

Candidate mappings (``side`` is the box's side: HOG's boxes are squares):

* ``box``: centre = RetinaFace box centre + (ax * width, ay * height); side = k * sqrt(w * h).
* ``points``: side = ke * eye distance + km * eye-to-mouth distance; centre = midpoint of the
  eyes' and the mouth's centres + (ax, ay) * side, in image axes.
* ``points-rotated``: as ``points`` with (ax, ay) in the face's own axes (rotated by the angle
  of the eye line), so a tilted face keeps its box over the face.
* ``points-box-side``: centre from the points as in ``points``; side = k * sqrt(w * h) of
  RetinaFace's box, which does not shrink as a face turns (the eye distance does; HOG finds
  frontal faces only, so a points-only mapping never learns what a profile's box should be;
  a points mapping with the side floored at a multiple of the box's fits to the floor alone).

Each is started from closed-form medians and refined by a coordinate search maximising the
mean IoU on the fit images; the one with the best mean IoU on the check images is chosen, and
its printed constants are pasted into ``agnosco/vision/detectors/retinaface.py``.

    python tools/fit_retinaface_box.py [--data ../shared/data] [--fit 400] [--check 1500]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agnosco.vision.detectors.hog import HogDetector
from agnosco.vision.detectors.retinaface import RetinaFaceDetector
from agnosco.vision.geometry import PixelBox
from agnosco.vision.image import decode_image
from agnosco.vision.landmarks import predict_landmarks

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Pair:
    """One face found by both detectors."""

    hog: np.ndarray  # x0, y0, x1, y1
    box: np.ndarray  # RetinaFace's own box
    points: np.ndarray  # 5 x 2
    image: Path


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU of two N x 4 arrays of boxes."""
    iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(union - inter, 1e-9)


def collect(paths: list[Path]) -> list[Pair]:
    """Faces both detectors find: each HOG box with the RetinaFace detection it overlaps most
    (IoU >= 0.3), when that detection overlaps no other HOG box more."""
    hog, retina = HogDetector(), RetinaFaceDetector(min_score=0.5)
    pairs = []
    for path in paths:
        pixels = decode_image(path.read_bytes()).pixels
        hboxes = np.array([[d.box.x0, d.box.y0, d.box.x1, d.box.y1] for d in hog.detect(pixels)])
        found = retina.candidates(pixels)
        if not len(hboxes) or not len(found):
            continue
        table = np.array([[iou(h[None], b[None])[0] for b in found.boxes] for h in hboxes])
        for i, h in enumerate(hboxes):
            j = int(np.argmax(table[i]))
            if table[i, j] >= 0.3 and int(np.argmax(table[:, j])) == i:
                pairs.append(Pair(h, found.boxes[j], found.points[j], path))
    return pairs


# --- candidate mappings: parameters -> (N x 4 boxes) ------------------------------------------


def _features(pairs: list[Pair]) -> dict[str, np.ndarray]:
    pts = np.stack([p.points for p in pairs])
    box = np.stack([p.box for p in pairs])
    eyes = (pts[:, 0] + pts[:, 1]) / 2
    mouth = (pts[:, 3] + pts[:, 4]) / 2
    eye_vec = pts[:, 1] - pts[:, 0]
    return {
        "box": box,
        "mid": (eyes + mouth) / 2,
        "d_eyes": np.linalg.norm(eye_vec, axis=1),
        "d_mouth": np.linalg.norm(mouth - eyes, axis=1),
        "angle": np.arctan2(eye_vec[:, 1], eye_vec[:, 0]),
        "hog": np.stack([p.hog for p in pairs]),
    }


def _square(cx: np.ndarray, cy: np.ndarray, side: np.ndarray) -> np.ndarray:
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def map_box(f: dict[str, np.ndarray], p: np.ndarray) -> np.ndarray:
    ax, ay, k = p
    b = f["box"]
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return _square(
        (b[:, 0] + b[:, 2]) / 2 + ax * w, (b[:, 1] + b[:, 3]) / 2 + ay * h, k * np.sqrt(w * h)
    )


def map_points(f: dict[str, np.ndarray], p: np.ndarray) -> np.ndarray:
    ke, km, ax, ay = p
    side = ke * f["d_eyes"] + km * f["d_mouth"]
    return _square(f["mid"][:, 0] + ax * side, f["mid"][:, 1] + ay * side, side)


def map_points_rotated(f: dict[str, np.ndarray], p: np.ndarray) -> np.ndarray:
    ke, km, ax, ay = p
    side = ke * f["d_eyes"] + km * f["d_mouth"]
    cos, sin = np.cos(f["angle"]), np.sin(f["angle"])
    dx, dy = (ax * cos - ay * sin) * side, (ax * sin + ay * cos) * side
    return _square(f["mid"][:, 0] + dx, f["mid"][:, 1] + dy, side)


def map_points_box_side(f: dict[str, np.ndarray], p: np.ndarray) -> np.ndarray:
    k, ax, ay = p
    b = f["box"]
    side = k * np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
    return _square(f["mid"][:, 0] + ax * side, f["mid"][:, 1] + ay * side, side)


def _start_box(f: dict[str, np.ndarray]) -> np.ndarray:
    b, hog = f["box"], f["hog"]
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    ax = np.median(((hog[:, 0] + hog[:, 2]) - (b[:, 0] + b[:, 2])) / 2 / w)
    ay = np.median(((hog[:, 1] + hog[:, 3]) - (b[:, 1] + b[:, 3])) / 2 / h)
    k = np.median((hog[:, 2] - hog[:, 0]) / np.sqrt(w * h))
    return np.array([ax, ay, k])


def _start_points(f: dict[str, np.ndarray]) -> np.ndarray:
    hog = f["hog"]
    side = hog[:, 2] - hog[:, 0]
    design = np.stack([f["d_eyes"], f["d_mouth"]], axis=1)
    (ke, km), *_ = np.linalg.lstsq(design, side, rcond=None)
    ax = np.median(((hog[:, 0] + hog[:, 2]) / 2 - f["mid"][:, 0]) / side)
    ay = np.median(((hog[:, 1] + hog[:, 3]) / 2 - f["mid"][:, 1]) / side)
    return np.array([ke, km, ax, ay])


def _start_points_box_side(f: dict[str, np.ndarray]) -> np.ndarray:
    k = _start_box(f)[2]
    return np.array([k, *_start_points(f)[2:]])


#: name -> (mapping, starting parameters, parameter names)
MAPPINGS: dict[str, tuple[Callable, Callable, tuple[str, ...]]] = {
    "box": (map_box, _start_box, ("ax", "ay", "k")),
    "points": (map_points, _start_points, ("ke", "km", "ax", "ay")),
    "points-rotated": (map_points_rotated, _start_points, ("ke", "km", "ax", "ay")),
    "points-box-side": (map_points_box_side, _start_points_box_side, ("k", "ax", "ay")),
}


def refine(mapping: Callable, f: dict[str, np.ndarray], start: np.ndarray) -> np.ndarray:
    """Coordinate search for the parameters maximising the mean IoU with HOG's boxes."""
    best = start.astype(float).copy()
    score = iou(mapping(f, best), f["hog"]).mean()
    step = np.maximum(np.abs(best) * 0.05, 0.01)
    for _ in range(200):
        improved = False
        for i in range(len(best)):
            for sign in (1, -1):
                trial = best.copy()
                trial[i] += sign * step[i]
                s = iou(mapping(f, trial), f["hog"]).mean()
                if s > score:
                    best, score, improved = trial, s, True
        if not improved:
            step /= 2
            if np.all(step < 1e-4):
                break
    return best


def landmark_agreement(pairs: list[Pair], boxes: np.ndarray) -> np.ndarray:
    """Per face: mean distance between the 68 points predicted from HOG's box and from the
    mapped box, over the distance between the eye centres of HOG's prediction."""
    out = []
    cache: dict[Path, np.ndarray] = {}
    for pair, box in zip(pairs, boxes):
        if pair.image not in cache:
            cache = {pair.image: decode_image(pair.image.read_bytes()).pixels}
        pixels = cache[pair.image]
        ref = predict_landmarks(pixels, PixelBox(*pair.hog))
        got = predict_landmarks(pixels, PixelBox(*box))
        eye = np.linalg.norm(ref[36:42].mean(axis=0) - ref[42:48].mean(axis=0))
        out.append(np.mean(np.linalg.norm(ref - got, axis=1)) / eye)
    return np.array(out)


def summary(values: np.ndarray) -> str:
    return (
        f"mean {np.mean(values):.3f}  median {np.median(values):.3f}  p10 {np.percentile(values, 10):.3f}  "
        f">=0.7 {np.mean(values >= 0.7):.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--fit", type=int, default=400, help="images to fit on")
    parser.add_argument("--check", type=int, default=1500, help="other images to check on")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()

    paths = sorted((args.data / "lfw-dev" / "lfw").glob("*/*.jpg"))
    if not paths:
        raise SystemExit(f"no lfw-dev images under {args.data}")
    order = np.random.default_rng(args.seed).permutation(len(paths))
    fit_paths = [paths[i] for i in order[: args.fit]]
    check_paths = [paths[i] for i in order[args.fit : args.fit + args.check]]
    fit, check = collect(fit_paths), collect(check_paths)
    print(
        f"faces found by both: {len(fit)} in {len(fit_paths)} fit images, "
        f"{len(check)} in {len(check_paths)} check images"
    )
    ffit, fcheck = _features(fit), _features(check)

    results = {}
    for name, (mapping, start, _) in MAPPINGS.items():
        params = refine(mapping, ffit, start(ffit))
        on_fit = iou(mapping(ffit, params), ffit["hog"])
        on_check = iou(mapping(fcheck, params), fcheck["hog"])
        results[name] = (params, on_check)
        print(f"{name:15s} params {np.round(params, 4).tolist()}")
        print(f"{'':15s} IoU with HOG, fit:   {summary(on_fit)}")
        print(f"{'':15s} IoU with HOG, check: {summary(on_check)}")
    raw = iou(fcheck["box"], fcheck["hog"])
    print(f"{'(unmapped)':15s} IoU with HOG, check: {summary(raw)}")

    chosen = max(results, key=lambda n: float(np.mean(results[n][1])))
    params, on_check = results[chosen]
    mapping = MAPPINGS[chosen][0]
    agreement = landmark_agreement(check, mapping(fcheck, params))
    unmapped = landmark_agreement(check, fcheck["box"])
    print(f"\nchosen: {chosen} (best mean IoU on the check images)")
    print(
        "68 landmarks predicted from the mapped box vs from HOG's box, mean distance over the "
        f"eye distance: median face {np.median(agreement):.4f}, p90 {np.percentile(agreement, 90):.4f}"
        f" (from RetinaFace's unmapped box: median {np.median(unmapped):.4f}, "
        f"p90 {np.percentile(unmapped, 90):.4f})"
    )
    names = MAPPINGS[chosen][2]
    print(f"\nconstants of {chosen}: " + ", ".join(f"{n} = {v:.4f}" for n, v in zip(names, params)))


if __name__ == "__main__":
    main()
