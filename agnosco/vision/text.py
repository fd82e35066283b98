"""Text in images: lines and words read by PP-OCRv6 (small) through rapidocr, on onnxruntime.

The models are the three ONNX files inside the ``rapidocr==3.10.0`` wheel (Apache-2.0 code;
weights Apache-2.0 from PaddleOCR, see the wheel's ``MODEL_LICENSES.md``): the
``PP-OCRv6_det_small`` text detector (DB: a probability map of text, boxes from its contours),
the ``ch_ppocr_mobile_v2.0_cls`` direction classifier (a line upside down is turned before it is
read) and the ``PP-OCRv6_small_rec`` recogniser (CTC over a character set of Chinese, Japanese
kana and kanji, and Latin with its accented letters; rapidocr lists 50 languages for it).  Their
paths are given to rapidocr explicitly, so it never looks for, or downloads, anything else.

How an image is read:

* The detector sees the image scaled to :data:`DETECTOR_SIDE` on its long side, up or down
  (rapidocr's ``Det.limit_type=max`` only ever shrinks; its default, ``min`` 736, enlarges every
  image until its *short* side is 736 px and takes about 4x as long on a photo; a page scan
  smaller than 960 px merges dense lines unless it is enlarged).
* Each detected line is cut out of the image (at up to 2000 px on the long side, rapidocr's
  ``Global.max_side_len``), turned upright if the classifier says it is upside down, and read;
  the recogniser gives a character per CTC column it fires on, with its probability.
* **Words** are the line's characters between spaces, as Rekognition defines them.  A word's
  box comes from the recogniser's columns of its first and last characters, mapped back through
  the line's perspective crop by rapidocr's own geometry (``rapidocr.cal_rec_boxes``, which its
  ``return_word_box`` option uses); its confidence is the mean probability of its characters.
  (rapidocr's own ``return_word_box`` output is not used as it is: it pairs each word with the
  probability of the line's *n*-th character, and splits a word where the recogniser left a gap
  in its columns, and cuts Chinese text into single characters.)
* A line's confidence is the mean probability of its words' characters; its polygon is the
  detector's quadrilateral.

Geometry leaves this module in ratios of the upright image, as everywhere in ``vision/``.  The
module knows nothing of HTTP or of Rekognition's filters, limits and wire format
(``operations/detect_text.py``).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from agnosco.vision.geometry import Box, Point
from agnosco.vision.image import DecodedImage
from agnosco.vision.models import MODELS, ModelUnavailableError, onnx_session

WHEEL, WHEEL_VERSION = "rapidocr", "3.10.0"
#: The wheel's ONNX files (``rapidocr/models/``), by rapidocr's configuration section.
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}
#: Agnosco's numbering of its text model, reported as TextModelVersion: 1.0 is PP-OCRv6 small
#: detection and recognition with the v2.0 mobile direction classifier, as rapidocr 3.10.0 runs
#: them with the settings of this module.
TEXT_MODEL_VERSION = "1.0"
#: The detector's input, long side in pixels (see the module docstring).
DETECTOR_SIDE = 960
#: onnxruntime intra-op threads per model (each OCR call holds the model's run lock), without
#: spinning waits, as RetinaFace runs (``detectors/retinaface.py``).
THREADS = min(2, os.cpu_count() or 1)
#: Lines whose mean character probability is below this are dropped by rapidocr before words are
#: made (its default); Rekognition's own default word filter (MinConfidence 80) is stricter.
MIN_LINE_SCORE = 0.5

Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True, slots=True)
class TextWord:
    """A word: characters between spaces, with its polygon (top-left, top-right, bottom-right,
    bottom-left, as the text runs) in ratios of the upright image."""

    text: str
    confidence: float  # 0-100: the mean probability of its characters
    polygon: Quad

    @property
    def box(self) -> Box:
        return bounds(self.polygon)


@dataclass(frozen=True, slots=True)
class TextLine:
    """A line of text as the detector found it, and its words in reading order."""

    text: str
    confidence: float  # 0-100: the mean probability of its words' characters
    polygon: Quad
    words: tuple[TextWord, ...]

    @property
    def box(self) -> Box:
        return bounds(self.polygon)


def bounds(polygon: tuple[Point, ...]) -> Box:
    """The axis-aligned box around ``polygon``."""
    xs, ys = [p.x for p in polygon], [p.y for p in polygon]
    return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def model_paths() -> dict[str, Path]:
    """The wheel's ONNX files by configuration section.

    :raises ModelUnavailableError: rapidocr is not installed, or not with its models."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailableError(
            f"The text models are missing: install the {WHEEL}=={WHEEL_VERSION} wheel "
            f"(pip install --no-deps {WHEEL}=={WHEEL_VERSION}; pyproject.toml lists what it needs)."
        ) from None
    paths = {
        section: Path(str(dist.locate_file(f"rapidocr/models/{name}")))
        for section, name in MODEL_FILES.items()
    }
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise ModelUnavailableError(
            f"{WHEEL} {dist.version} is installed without {', '.join(missing)}: "
            f"reinstall {WHEEL}=={WHEEL_VERSION}."
        )
    return paths


def engine_params(paths: dict[str, Path] | None = None) -> dict[str, Any]:
    """rapidocr's configuration as Agnosco runs it (the benchmark's bare call uses it too)."""
    paths = paths or model_paths()
    return {
        "Det.limit_type": "max",
        "Det.limit_side_len": DETECTOR_SIDE,
        "Global.text_score": MIN_LINE_SCORE,
        "Global.return_word_box": True,
        "Global.log_level": "error",  # it logs "detection result is empty" for every blank image
        "EngineConfig.onnxruntime.intra_op_num_threads": THREADS,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        **{f"{section}.model_path": str(path) for section, path in paths.items()},
    }


def _load() -> Any:
    paths = model_paths()
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:  # one of the dependencies pyproject.toml declares for it
        raise ModelUnavailableError(f"rapidocr cannot be imported: {exc}") from exc
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    engine: Any = RapidOCR(params=engine_params(paths))
    # rapidocr opens each model on first use; open them now, under the registry's load lock, and
    # run each on a session of ours: rapidocr's leave onnxruntime's threads spinning between
    # operators, which takes the CPU from every other request (retinaface.py runs the same way).
    for component, section in (
        (engine._load_det_model(), "Det"),
        (engine._load_cls_model(), "Cls"),
        (engine._load_rec_model(), "Rec"),
    ):
        component.session.session = onnx_session(paths[section], THREADS)
    return engine


_OCR = MODELS.register("pp-ocrv6-small (rapidocr 3.10.0, onnxruntime)", _load)


def scaled_for_detector(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """``pixels`` with its long side at :data:`DETECTOR_SIDE` when it is shorter (enlarged
    pixels per original pixel is the factor); larger images are left to rapidocr, which shrinks
    the detector's input and reads lines from the image itself."""
    long_side = max(pixels.shape[:2])
    if long_side >= DETECTOR_SIDE:
        return pixels, 1.0
    factor = DETECTOR_SIDE / long_side
    size = (round(pixels.shape[1] * factor), round(pixels.shape[0] * factor))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_CUBIC), factor


class TextReader:
    """Reads the text of an image; safe to share between threads (one call runs at a time)."""

    def read(self, image: DecodedImage) -> list[TextLine]:
        """Every line the models read in ``image``, top to bottom, with its words.

        :raises ModelUnavailableError: the models are not installed."""
        bgr = np.ascontiguousarray(image.pixels[:, :, ::-1])
        work, _ = scaled_for_detector(bgr)
        engine = _OCR.get()
        with _OCR.run_lock:  # rapidocr keeps per-call state on its detector
            raw = read_lines(engine, work)
        height, width = work.shape[:2]
        return [_in_ratios(line, width, height) for line in raw]


@dataclass(frozen=True)
class RawWord:
    text: str
    probabilities: list[float]
    quad: np.ndarray  # 4 x 2 pixels of the image read


@dataclass(frozen=True)
class RawLine:
    quad: np.ndarray
    words: list[RawWord]


def read_lines(engine: Any, bgr: np.ndarray) -> list[RawLine]:
    """rapidocr's pipeline (``RapidOCR.__call__``) up to recognition, then words of our own
    from the recogniser's character columns; geometry in pixels of ``bgr``."""
    from rapidocr.ch_ppocr_rec.typings import WordInfo, WordType
    from rapidocr.utils.process_img import map_boxes_to_original, map_img_to_original

    img, op_record = engine.preprocess_img(bgr)
    det, cls, rec, crops = engine.run_ocr_steps(img, op_record)
    if det.boxes is None or rec.txts is None or not rec.word_results:
        return []
    height, width = bgr.shape[:2]
    quads = map_boxes_to_original(det.boxes, op_record, height, width)
    ratio = op_record["preprocess"]
    crops = map_img_to_original(crops, ratio["ratio_h"], ratio["ratio_w"])
    turned = [
        "180" in label and score > engine.cfg.Cls.cls_thresh
        for label, score in (cls.cls_res or [("", 0.0)] * len(crops))
    ]
    boxes = engine.cal_rec_boxes
    lines = []
    for quad, crop, text, info, upside_down, score in zip(
        quads, crops, rec.txts, rec.word_results, turned, rec.scores
    ):
        if not text.strip() or score < engine.text_score or not isinstance(info, WordInfo):
            continue
        tokens = _tokens(text, info)
        if not tokens:
            continue
        columns: list[list[Any]] = [cols for _, cols, _ in tokens]
        if upside_down:  # read turned by 180 degrees: its columns run from the crop's right
            span = info.line_txt_len
            columns = [[span - 1 - c for c in reversed(cols)] for cols in reversed(columns)]
        words_info = WordInfo(
            words=[list(t) for t, _, _ in (reversed(tokens) if upside_down else tokens)],
            word_cols=columns,
            word_types=[WordType.EN_NUM] * len(tokens),
            line_txt_len=info.line_txt_len,
            confs=[],
        )
        crop_h, crop_w = crop.shape[:2]
        crop_box = np.array([[0, 0], [crop_w, 0], [crop_w, crop_h], [0, crop_h]])
        _, cells, _ = boxes.cal_ocr_word_box(text, crop_box, words_info)
        cells = boxes.adjust_box_overlap(cells)
        direction = boxes.get_box_direction(quad)
        word_quads = boxes.reverse_rotate_crop_image(quad.copy(), cells, direction)
        if upside_down:
            word_quads = list(reversed(word_quads))
        if len(word_quads) != len(tokens):
            continue
        words = [
            RawWord(token, probabilities, np.asarray(q, dtype=np.float64))
            for (token, _, probabilities), q in zip(tokens, word_quads)
        ]
        lines.append(RawLine(np.asarray(quad, dtype=np.float64), words))
    return lines


def _tokens(text: str, info: Any) -> list[tuple[str, list[int], list[float]]]:
    """The line's words (characters between spaces): each word's text, the recogniser's column
    of each of its characters, and each character's probability."""
    flat_cols = [col for cols in info.word_cols for col in cols]
    flat_chars = [ch for word in info.words for ch in word]
    positions = [i for i, ch in enumerate(text) if not ch.isspace()]
    if len(flat_cols) != len(positions) or len(info.confs) != len(text):
        return []
    tokens, start = [], 0
    for token in text.split():
        end = start + len(token)
        if "".join(flat_chars[start:end]) != token:
            return []
        probabilities = [float(info.confs[i]) for i in positions[start:end]]
        tokens.append((token, flat_cols[start:end], probabilities))
        start = end
    return tokens


def _in_ratios(line: RawLine, width: int, height: int) -> TextLine:
    def quad(points: np.ndarray) -> Quad:
        p = [Point(float(x) / width, float(y) / height) for x, y in points[:4]]
        return (p[0], p[1], p[2], p[3])

    words = tuple(
        TextWord(w.text, 100.0 * float(np.mean(w.probabilities)), quad(w.quad)) for w in line.words
    )
    probabilities = [p for w in line.words for p in w.probabilities]
    return TextLine(
        " ".join(w.text for w in line.words),
        100.0 * float(np.mean(probabilities)),
        quad(line.quad),
        words,
    )
