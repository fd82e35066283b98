"""What a label is to the vision layer: a named thing seen in an image, with the taxonomy it sits
in, and the sources that see labels.

A :class:`Label` is what DetectLabels reports for one name: how confident the source is that
the thing is in the image (0-100), the names above it in the taxonomy (``parents``, nearest
first), other names for it (``aliases``), the broad categories it belongs to
(``categories``), and, where the source locates it, its instances with their boxes.  A
:class:`LabelSource` turns a decoded image into labels; the image classifier (ImageNet classes
named by WordNet) and the face engine's ``Person`` evidence are two such sources, and
``operations/detect_labels.py`` merges, filters and limits what they see.  Nothing here knows
of HTTP or of Rekognition's wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agnosco.vision.geometry import Box
from agnosco.vision.image import DecodedImage


@dataclass(frozen=True)
class LabelInstance:
    """One located instance of a label: its box (ratios of the upright image) and confidence."""

    box: Box
    confidence: float


@dataclass(frozen=True)
class Label:
    """A named thing seen in an image, with its place in the taxonomy.

    ``confidence`` is on Rekognition's 0-100 scale; ``parents`` are names of labels above it
    (nearest first), each of which a source may also report as a label of its own;
    ``instances`` is empty for a label that is not located.
    """

    name: str
    confidence: float
    parents: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    instances: tuple[LabelInstance, ...] = field(default=())


class LabelSource(Protocol):
    """Anything that sees labels in an image (one model, or the evidence of several)."""

    def labels(self, image: DecodedImage) -> list[Label]:
        """The labels seen in ``image``, each name at most once, in no particular order."""
        ...
