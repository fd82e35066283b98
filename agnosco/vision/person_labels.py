"""The labels the face engine's evidence supports: ``Person`` (located), ``Head`` and ``Face``.

Every face the face detector finds is a person: one ``Person`` instance per face, at the
detector's confidence, the label's confidence the highest of its instances'.  The box of an
instance is **estimated from the face alone**, not detected: the head-and-shoulders region by
fixed proportions of the detector's face box (which runs from the brows to the chin, about
two thirds of a head's height), clipped to the image:

* top: the face box's top less half the face's height (the crown of the head);
* bottom: the face box's bottom plus the face's height (the shoulders and the top of the chest);
* left and right: the face's centre plus or minus one and a half face widths (shoulder breadth
  is two to three head widths).

So a ``Person`` box covers the head and shoulders of someone facing the camera; it does not
cover the rest of the body, it covers background where the person is turned or leaning, and a
person whose face the detector does not find (from behind, far away, hidden) has no instance.

``Head`` (parent ``Person``) and ``Face`` (parents ``Head`` and ``Person``) are reported at the
same confidence, without instances, as Rekognition reports them; all three are in the category
``Person Description``, and ``Person`` has the alias ``Human``, as Rekognition's are.  No label
says anything of a person's gender, age or any other trait: this evidence is that a face is
there, nothing more.
"""

from __future__ import annotations

from agnosco.vision.geometry import Box
from agnosco.vision.image import DecodedImage
from agnosco.vision.labels import Label, LabelInstance
from agnosco.vision.pipeline import MAX_FACES, FaceAnalyzer

PERSON_CATEGORY = "Person Description"
#: The crown of the head is this many face heights above the face box's top.
CROWN = 0.5
#: The shoulders reach this many face heights below the face box's bottom.
SHOULDERS = 1.0
#: Half the shoulders' breadth, in face widths.
HALF_BREADTH = 1.5


def head_and_shoulders(face: Box) -> Box:
    """The head-and-shoulders box estimated from ``face`` (ratios), clipped to the image."""
    centre = face.left + face.width / 2
    left = max(0.0, centre - HALF_BREADTH * face.width)
    right = min(1.0, centre + HALF_BREADTH * face.width)
    top = max(0.0, face.top - CROWN * face.height)
    bottom = min(1.0, face.top + face.height + SHOULDERS * face.height)
    return Box(left, top, max(0.0, right - left), max(0.0, bottom - top))


class PersonLabels:
    """A :class:`~agnosco.vision.labels.LabelSource` of the face detector's evidence."""

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        self.analyzer = analyzer

    def labels(self, image: DecodedImage) -> list[Label]:
        pixels = image.pixels
        height, width = pixels.shape[:2]
        detections = sorted(
            self.analyzer.detector.detect(pixels),
            key=lambda d: d.box.width * d.box.height,
            reverse=True,
        )[:MAX_FACES]
        if not detections:
            return []
        instances = tuple(
            LabelInstance(
                head_and_shoulders(d.box.to_ratio(width, height)),
                min(100.0, 100.0 * d.score),
            )
            for d in detections
        )
        confidence = max(i.confidence for i in instances)
        category = (PERSON_CATEGORY,)
        return [
            Label(
                "Person", confidence, aliases=("Human",), categories=category, instances=instances
            ),
            Label("Head", confidence, parents=("Person",), categories=category),
            Label("Face", confidence, parents=("Head", "Person"), categories=category),
        ]
