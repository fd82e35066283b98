"""DetectLabels through :func:`agnosco.operations.invoke` with label sources whose labels are
known (so the merge, the filters and the limits are checked exactly), and the face engine's
Person source on a detector whose faces are known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agnosco import spec
from agnosco.errors import ServiceError
from agnosco.operations import OperationContext, invoke
from agnosco.vision.detectors.base import Detection
from agnosco.vision.geometry import Box, PixelBox
from agnosco.vision.image import DecodedImage
from agnosco.vision.labels import Label, LabelInstance
from agnosco.vision.person_labels import PersonLabels, head_and_shoulders
from agnosco.vision.pipeline import FaceAnalyzer
from tests.text_images import draw_text, png

IMAGE = {"Bytes": png(draw_text(["labels"]).image)}


class Fixed:
    """A label source that sees the same labels in every image."""

    def __init__(self, *labels: Label) -> None:
        self.seen = list(labels)
        self.calls = 0

    def labels(self, image: DecodedImage) -> list[Label]:
        self.calls += 1
        return list(self.seen)


BOX = Box(0.1, 0.2, 0.3, 0.4)
CAR = Label(
    "Car",
    90.0,
    parents=("Vehicle", "Transportation"),
    categories=("Vehicles and Automotive",),
    instances=(LabelInstance(BOX, 88.0),),
)
DOG = Label("Dog", 70.0, parents=("Animal",), aliases=("Canine",), categories=("Animals and Pets",))
ANIMAL = Label("Animal", 72.0, categories=("Animals and Pets",))
SCENE = Label("Outdoors", 50.0, categories=("Nature and Outdoors",))


def _detect(context: OperationContext, **request: Any) -> dict[str, Any]:
    response = dict(invoke("DetectLabels", {"Image": IMAGE, **request}, context))
    spec.validate(response, "DetectLabelsResponse")
    return response


def _names(response: dict[str, Any]) -> list[str]:
    return [label["Name"] for label in response["Labels"]]


def test_labels_are_merged_ordered_and_given_their_ancestors() -> None:
    second_car = Label(
        "Car",
        95.0,
        parents=("Vehicle",),
        aliases=("Automobile",),
        instances=(LabelInstance(Box(0.5, 0.5, 0.2, 0.2), 95.0),),
    )
    context = OperationContext(label_sources=(Fixed(CAR, DOG, ANIMAL, SCENE), Fixed(second_car)))
    response = _detect(context, MinConfidence=0)
    assert response["LabelModelVersion"] == "1.0"
    assert "OrientationCorrection" not in response and "ImageProperties" not in response
    by_name = {label["Name"]: label for label in response["Labels"]}
    # highest confidence first; ancestors no source reported are labels of their own
    assert _names(response) == ["Car", "Vehicle", "Transportation", "Animal", "Dog", "Outdoors"]
    car = by_name["Car"]
    assert car["Confidence"] == 95.0
    assert [i["Confidence"] for i in car["Instances"]] == [88.0, 95.0]
    assert car["Instances"][0]["BoundingBox"] == {
        "Width": 0.3,
        "Height": 0.4,
        "Left": 0.1,
        "Top": 0.2,
    }
    assert "DominantColors" not in car["Instances"][0]  # only with IMAGE_PROPERTIES
    assert car["Parents"] == [{"Name": "Vehicle"}, {"Name": "Transportation"}]
    assert car["Aliases"] == [{"Name": "Automobile"}]
    assert car["Categories"] == [{"Name": "Vehicles and Automotive"}]
    assert by_name["Vehicle"] == {
        "Name": "Vehicle",
        "Confidence": 95.0,
        "Instances": [],
        "Parents": [{"Name": "Transportation"}],
        "Aliases": [],
        "Categories": [],
    }
    # a reported parent keeps its own confidence and categories
    assert by_name["Animal"]["Confidence"] == 72.0
    assert by_name["Animal"]["Categories"] == [{"Name": "Animals and Pets"}]


def test_min_confidence_defaults_to_55_and_max_labels_limits() -> None:
    context = OperationContext(label_sources=(Fixed(CAR, DOG, ANIMAL, SCENE),))
    assert "Outdoors" not in _names(_detect(context))  # 50 < 55
    assert _names(_detect(context, MinConfidence=71)) == [
        "Car",
        "Vehicle",
        "Transportation",
        "Animal",
    ]
    assert _names(_detect(context, MinConfidence=90)) == ["Car", "Vehicle", "Transportation"]
    assert _names(_detect(context, MaxLabels=2)) == ["Car", "Vehicle"]
    assert _names(_detect(context, MaxLabels=0)) == []
    assert len(_names(_detect(context, MaxLabels=5000, MinConfidence=0))) == 6


@pytest.mark.parametrize(
    ("general", "names"),
    [
        ({"LabelInclusionFilters": ["Dog"]}, ["Dog"]),
        ({"LabelInclusionFilters": ["dog"]}, []),  # exact names
        ({"LabelExclusionFilters": ["Car", "Vehicle"]}, ["Transportation", "Animal", "Dog"]),
        ({"LabelCategoryInclusionFilters": ["Animals and Pets"]}, ["Animal", "Dog"]),
        (
            {"LabelCategoryExclusionFilters": ["Animals and Pets"]},
            ["Car", "Vehicle", "Transportation"],
        ),
        (
            {
                "LabelInclusionFilters": ["Car"],
                "LabelCategoryInclusionFilters": ["Animals and Pets"],
            },
            ["Car", "Animal", "Dog"],
        ),
        (
            {"LabelInclusionFilters": ["Dog"], "LabelExclusionFilters": ["Dog"]},
            [],
        ),  # exclusion wins
        (
            {
                "LabelCategoryInclusionFilters": ["Animals and Pets"],
                "LabelExclusionFilters": ["Dog"],
            },
            ["Animal"],
        ),
        ({"LabelInclusionFilters": []}, ["Car", "Vehicle", "Transportation", "Animal", "Dog"]),
    ],
)
def test_general_label_filters(general: dict[str, list[str]], names: list[str]) -> None:
    context = OperationContext(label_sources=(Fixed(CAR, DOG, ANIMAL, SCENE),))
    assert _names(_detect(context, Settings={"GeneralLabels": general})) == names


def test_features() -> None:
    source = Fixed(CAR)
    context = OperationContext(label_sources=(source,))
    only = _detect(context, Features=["IMAGE_PROPERTIES"], MaxLabels=3)
    assert only["Labels"] == [] and source.calls == 0  # no label source runs
    assert set(only["ImageProperties"]) >= {"Quality", "DominantColors"}
    assert set(only["ImageProperties"]["Quality"]) == {"Brightness", "Sharpness", "Contrast"}
    assert len(only["ImageProperties"]["DominantColors"]) <= 10  # the default
    both = _detect(
        context,
        Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"],
        Settings={"ImageProperties": {"MaxDominantColors": 1}},
    )
    assert _names(both)[0] == "Car"
    assert len(both["ImageProperties"]["DominantColors"]) == 1
    [instance] = both["Labels"][0]["Instances"]
    assert len(instance["DominantColors"]) == 1
    for region in ("Foreground", "Background"):
        if region in both["ImageProperties"]:
            assert set(both["ImageProperties"][region]["Quality"]) == {"Brightness", "Sharpness"}
    assert "ImageProperties" not in _detect(context, Features=[])  # empty: general labels


@pytest.mark.parametrize(
    "request_",
    [
        {"Features": ["OBJECTS"]},
        {"MinConfidence": 101},
        {"MaxLabels": -1},
        {"Settings": {"ImageProperties": {"MaxDominantColors": 21}}},
        {"Settings": {"GeneralLabels": {"LabelInclusionFilters": ["x" * 51]}}},
        {"Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Dog"] * 101}}},
    ],
)
def test_invalid_parameters(request_: dict[str, Any]) -> None:
    with pytest.raises(ServiceError) as excinfo:
        invoke("DetectLabels", {"Image": IMAGE, **request_}, OperationContext(label_sources=()))
    assert excinfo.value.code == "InvalidParameterException"


class KnownFaces:
    name = "known"

    def __init__(self, *detections: Detection) -> None:
        self.detections = list(detections)

    def detect(self, pixels: np.ndarray) -> list[Detection]:
        return list(self.detections)


def _blank(width: int = 400, height: int = 200) -> DecodedImage:
    return DecodedImage(np.zeros((height, width, 3), np.uint8), width, height, "PNG")


def test_person_labels_from_faces() -> None:
    faces = KnownFaces(
        Detection(PixelBox(100, 40, 140, 80), 0.97),  # 40 x 40 px in a 400 x 200 image
        Detection(PixelBox(0, 0, 20, 20), 0.6),  # at the corner: the box is clipped
    )
    labels = {label.name: label for label in PersonLabels(FaceAnalyzer(faces)).labels(_blank())}
    person = labels["Person"]
    assert person.confidence == pytest.approx(97.0)
    assert person.aliases == ("Human",) and person.categories == ("Person Description",)
    assert person.parents == ()
    first, corner = person.instances
    assert first.confidence == pytest.approx(97.0) and corner.confidence == pytest.approx(60.0)
    # face 0.1 wide x 0.2 high, centre x 0.3: 0.15-0.45 across, 0.2 - 0.1 to 0.4 + 0.2 down
    assert (first.box.left, first.box.top) == pytest.approx((0.15, 0.1))
    assert (first.box.width, first.box.height) == pytest.approx((0.3, 0.5))
    assert (corner.box.left, corner.box.top) == (0.0, 0.0)
    assert (corner.box.width, corner.box.height) == pytest.approx((0.1, 0.2))  # 0.025 + 0.075
    assert labels["Head"].parents == ("Person",) and not labels["Head"].instances
    assert labels["Face"].parents == ("Head", "Person") and not labels["Face"].instances
    assert set(labels) == {"Person", "Head", "Face"}  # nothing of gender, age or any trait


def test_no_face_no_person() -> None:
    assert PersonLabels(FaceAnalyzer(KnownFaces())).labels(_blank()) == []


@pytest.mark.parametrize(
    "face",
    [Box(0.4, 0.4, 0.2, 0.2), Box(-0.1, -0.1, 0.3, 0.3), Box(0.9, 0.9, 0.3, 0.3), Box(0, 0, 1, 1)],
)
def test_head_and_shoulders_boxes_stay_in_the_image(face: Box) -> None:
    box = head_and_shoulders(face)
    assert 0 <= box.left and 0 <= box.top
    assert box.left + box.width <= 1 + 1e-12 and box.top + box.height <= 1 + 1e-12
