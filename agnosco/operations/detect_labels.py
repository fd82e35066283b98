"""DetectLabels: the things seen in an image, as Labels, and what the image looks like, as
ImageProperties.

Rekognition's rules, as its documentation and botocore's model state them, and where they leave
a choice, Agnosco's:

* ``Features`` asks for ``GENERAL_LABELS`` (the labels), ``IMAGE_PROPERTIES`` (quality and
  colours), or both; absent or empty, it is ``GENERAL_LABELS`` alone.  Without
  ``GENERAL_LABELS`` no label source runs and ``Labels`` is empty.
* The labels of every source of the context (``OperationContext.label_sources``) are merged by
  name: the highest confidence, the instances of all, and their parents, aliases and
  categories united in the order first seen.  A parent that no source reports as a label is
  added as one (every ancestor of a label is a label of its own in the response), at the
  highest confidence of the labels below it, its own parents the ones that follow it in their
  lists (``Parents`` are nearest first).
* ``Settings.GeneralLabels`` filters by exact name: a label is kept when no inclusion filter is
  given or its name is in ``LabelInclusionFilters`` or one of its categories in
  ``LabelCategoryInclusionFilters``, and neither its name is in ``LabelExclusionFilters`` nor
  any of its categories in ``LabelCategoryExclusionFilters`` (exclusion wins).
* Then labels under ``MinConfidence`` (default 55) are dropped, the rest ordered by confidence
  (highest first; between equals, in the order the sources gave them) and the first ``MaxLabels`` (default and upper limit
  1000) kept.
* ``ImageProperties`` (``vision/image_properties.py``: the formulas) has the whole image's
  ``Quality`` (Brightness, Sharpness, Contrast) and ``DominantColors``, and, where the image
  has a salient foreground, ``Foreground`` and ``Background`` with their Quality (Brightness
  and Sharpness, as Rekognition reports them) and colours; at most
  ``Settings.ImageProperties.MaxDominantColors`` colours each (default 10, 0 to 20).  With
  both features asked for, each instance also has the ``DominantColors`` inside its box.
* ``OrientationCorrection`` is documented as always null: it is never returned.  Boxes are in
  the upright image (EXIF orientation applied when decoding).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from agnosco.operations.context import OperationContext
from agnosco.operations.detect_text import bounding_box
from agnosco.vision import image_properties
from agnosco.vision.image import DecodedImage
from agnosco.vision.labels import Label, LabelInstance

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import (
        DetectLabelsFeatureNameType,
        OrientationCorrectionType,
    )
    from types_boto3_rekognition.type_defs import (
        DetectLabelsImageBackgroundTypeDef,
        DetectLabelsImageForegroundTypeDef,
        DetectLabelsImagePropertiesTypeDef,
        DetectLabelsImageQualityTypeDef,
        DetectLabelsRequestTypeDef,
        DominantColorTypeDef,
        InstanceTypeDef,
        LabelTypeDef,
    )

#: MinConfidence when the request gives none (the model's documentation).
DEFAULT_MIN_CONFIDENCE = 55.0
#: MaxLabels' default and upper limit (the model's documentation).
MAX_LABELS = 1000
#: MaxDominantColors when the request gives none (the model's documentation).
DEFAULT_MAX_DOMINANT_COLORS = 10
#: Agnosco's own numbering of its label detection (the sources and the merge).
LABEL_MODEL_VERSION = "1.0"

GENERAL_LABELS: DetectLabelsFeatureNameType = "GENERAL_LABELS"
IMAGE_PROPERTIES: DetectLabelsFeatureNameType = "IMAGE_PROPERTIES"


class DetectLabelsResponse(TypedDict, total=False):
    Labels: list[LabelTypeDef]
    OrientationCorrection: OrientationCorrectionType
    LabelModelVersion: str
    ImageProperties: DetectLabelsImagePropertiesTypeDef


def detect_labels(
    request: DetectLabelsRequestTypeDef, context: OperationContext
) -> DetectLabelsResponse:
    """:raises ServiceError: an invalid image (see :func:`~agnosco.vision.image.decode_image`)."""
    features = set(request.get("Features") or [GENERAL_LABELS])
    settings: Mapping[str, Any] = request.get("Settings") or {}
    general: Mapping[str, Any] = settings.get("GeneralLabels") or {}
    max_colors = (settings.get("ImageProperties") or {}).get(
        "MaxDominantColors", DEFAULT_MAX_DOMINANT_COLORS
    )
    image = context.load_image(request["Image"])
    labels: list[Label] = []
    if GENERAL_LABELS in features:
        labels = general_labels(
            image,
            context,
            general,
            request.get("MinConfidence", DEFAULT_MIN_CONFIDENCE),
            min(request.get("MaxLabels", MAX_LABELS), MAX_LABELS),
        )
    response: DetectLabelsResponse = {
        "Labels": label_shapes(labels, image, max_colors if IMAGE_PROPERTIES in features else None),
        "LabelModelVersion": LABEL_MODEL_VERSION,
    }
    if IMAGE_PROPERTIES in features:
        response["ImageProperties"] = properties_shape(image_properties.analyse(image, max_colors))
    return response


def general_labels(
    image: DecodedImage,
    context: OperationContext,
    general: Mapping[str, Any],
    min_confidence: float,
    limit: int = MAX_LABELS,
) -> list[Label]:
    """The labels of one image (or video frame) every source of the context sees, merged,
    filtered by ``Settings.GeneralLabels`` (``general``), at ``min_confidence`` or more, by
    confidence, at most ``limit``: what DetectLabels answers, and what a LabelDetection job
    records for each sampled frame."""
    found = merge(label for source in context.labelling() for label in source.labels(image))
    return select([label for label in found if keep(label, general)], min_confidence, limit)


def merge(labels: Iterable[Label]) -> list[Label]:
    """One label per name (see the module docstring), ancestors no source reported added."""
    reported: dict[str, Label] = {}
    for label in labels:
        seen = reported.get(label.name)
        reported[label.name] = label if seen is None else _join(seen, label)
    added: dict[str, Label] = {}
    for label in reported.values():
        for depth, parent in enumerate(label.parents):
            if parent in reported:
                continue
            above = Label(parent, label.confidence, parents=label.parents[depth + 1 :])
            seen = added.get(parent)
            added[parent] = above if seen is None else _join(seen, above)
    return [*reported.values(), *added.values()]


def _union(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _join(a: Label, b: Label) -> Label:
    return Label(
        a.name,
        max(a.confidence, b.confidence),
        parents=_union(a.parents, b.parents),
        aliases=_union(a.aliases, b.aliases),
        categories=_union(a.categories, b.categories),
        instances=a.instances + b.instances,
    )


def keep(label: Label, general: Mapping[str, Any]) -> bool:
    """Whether ``Settings.GeneralLabels`` keeps ``label`` (the module docstring's rule)."""
    include = general.get("LabelInclusionFilters") or []
    include_categories = general.get("LabelCategoryInclusionFilters") or []
    if (include or include_categories) and not (
        label.name in include or any(c in include_categories for c in label.categories)
    ):
        return False
    exclude_categories = general.get("LabelCategoryExclusionFilters") or []
    return label.name not in (general.get("LabelExclusionFilters") or []) and not any(
        c in exclude_categories for c in label.categories
    )


def select(labels: Sequence[Label], min_confidence: float, limit: int) -> list[Label]:
    """Those at ``min_confidence`` or more, by confidence (a stable sort), at most ``limit``."""
    kept = [label for label in labels if label.confidence >= min_confidence]
    return sorted(kept, key=lambda label: -label.confidence)[:limit]


def label_shapes(
    labels: Sequence[Label], image: DecodedImage, max_colors: int | None
) -> list[LabelTypeDef]:
    """The labels as the API returns them; with ``max_colors`` (IMAGE_PROPERTIES asked for),
    each instance with the dominant colours inside its box."""
    instances = [i for label in labels for i in label.instances]
    colours = (
        image_properties.box_colors(image, [i.box for i in instances], max_colors)
        if max_colors is not None
        else [None] * len(instances)
    )
    colour_of = {id(i): c for i, c in zip(instances, colours, strict=True)}
    return [
        {
            "Name": label.name,
            "Confidence": _percent(label.confidence),
            "Instances": [_instance(i, colour_of[id(i)]) for i in label.instances],
            "Parents": [{"Name": name} for name in label.parents],
            "Aliases": [{"Name": name} for name in label.aliases],
            "Categories": [{"Name": name} for name in label.categories],
        }
        for label in labels
    ]


def _instance(
    instance: LabelInstance, colours: Sequence[image_properties.DominantColor] | None
) -> InstanceTypeDef:
    shape: InstanceTypeDef = {
        "BoundingBox": bounding_box(instance.box),
        "Confidence": _percent(instance.confidence),
    }
    if colours is not None:
        shape["DominantColors"] = [color_shape(c) for c in colours]
    return shape


def color_shape(color: image_properties.DominantColor) -> DominantColorTypeDef:
    return {
        "Red": color.red,
        "Green": color.green,
        "Blue": color.blue,
        "HexCode": color.hex_code,
        "CSSColor": color.css_color,
        "SimplifiedColor": color.simplified_color,
        "PixelPercent": _percent(color.pixel_percent),
    }


def _quality(
    quality: image_properties.RegionQuality, *, contrast: bool
) -> DetectLabelsImageQualityTypeDef:
    shape: DetectLabelsImageQualityTypeDef = {
        "Brightness": _percent(quality.brightness),
        "Sharpness": _percent(quality.sharpness),
    }
    if contrast:
        shape["Contrast"] = _percent(quality.contrast)
    return shape


def properties_shape(
    properties: image_properties.ImageProperties,
) -> DetectLabelsImagePropertiesTypeDef:
    shape: DetectLabelsImagePropertiesTypeDef = {
        "Quality": _quality(properties.whole.quality, contrast=True),
        "DominantColors": [color_shape(c) for c in properties.whole.colors],
    }
    if properties.foreground is not None:
        foreground: DetectLabelsImageForegroundTypeDef = {
            "Quality": _quality(properties.foreground.quality, contrast=False),
            "DominantColors": [color_shape(c) for c in properties.foreground.colors],
        }
        shape["Foreground"] = foreground
    if properties.background is not None:
        background: DetectLabelsImageBackgroundTypeDef = {
            "Quality": _quality(properties.background.quality, contrast=False),
            "DominantColors": [color_shape(c) for c in properties.background.colors],
        }
        shape["Background"] = background
    return shape


def _percent(value: float) -> float:
    return min(100.0, max(0.0, float(value)))
