"""DetectLabels end to end: real boto3 clients against the server's app (``rekognition``), on
shared photos of people and drawn images, with the filters, IMAGE_PROPERTIES, the image errors,
and governance (a principal with no policy is refused and audited; the audit keeps counts, never
the labels)."""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from agnosco import spec
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer
from tests.text_images import png

#: What the face engine's evidence gives; other label sources (the image classifier) may add
#: labels of their own, so the tests below hold whatever the deployment composes beside it.
PERSON_LABELS = ["Person", "Head", "Face"]
PERSON_DESCRIPTION = {"Name": "Person Description"}


def _valid(response: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    spec.validate(body, "DetectLabelsResponse")
    return body


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _names(body: dict[str, Any]) -> list[str]:
    return [label["Name"] for label in body["Labels"]]


def _inside(inner: dict[str, float], outer: dict[str, float], slack: float = 1e-6) -> bool:
    return (
        outer["Left"] - slack <= max(0.0, inner["Left"])
        and outer["Top"] - slack <= max(0.0, inner["Top"])
        and min(1.0, inner["Left"] + inner["Width"]) <= outer["Left"] + outer["Width"] + slack
        and min(1.0, inner["Top"] + inner["Height"]) <= outer["Top"] + outer["Height"] + slack
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "photo", ["deepface-pairs/images/couple.jpg", "crowds/volleyball-team.jpg"]
)
def test_group_photos_give_one_person_instance_per_face(  # type: ignore[no-untyped-def]
    rekognition, shared_data: Path, photo: str
) -> None:
    image = {"Bytes": (shared_data / photo).read_bytes()}
    body = _valid(rekognition.detect_labels(Image=image))
    assert body["LabelModelVersion"] == "1.0"
    assert "ImageProperties" not in body and "OrientationCorrection" not in body
    labels = {label["Name"]: label for label in body["Labels"]}
    assert PERSON_LABELS == [n for n in _names(body) if n in PERSON_LABELS]
    person = labels["Person"]
    assert all(PERSON_DESCRIPTION in labels[name]["Categories"] for name in PERSON_LABELS)
    assert {"Name": "Human"} in person["Aliases"]
    assert labels["Face"]["Parents"][:2] == [{"Name": "Head"}, {"Name": "Person"}]
    assert labels["Head"]["Parents"][:1] == [{"Name": "Person"}]
    assert labels["Face"]["Instances"] == [] and labels["Head"]["Instances"] == []
    # one Person per face DetectFaces finds (the same detector), each face inside its Person
    faces = rekognition.detect_faces(Image=image)["FaceDetails"]
    instances = person["Instances"]
    assert len(faces) >= 2 and len(instances) == len(faces)
    for instance in instances:
        box = instance["BoundingBox"]
        assert 0 <= box["Left"] and 0 <= box["Top"]
        assert box["Left"] + box["Width"] <= 1 + 1e-6 and box["Top"] + box["Height"] <= 1 + 1e-6
        assert 0 < instance["Confidence"] <= person["Confidence"]
    assert all(any(_inside(f["BoundingBox"], i["BoundingBox"]) for i in instances) for f in faces)
    assert person["Confidence"] == max(i["Confidence"] for i in instances)
    # nothing of anyone's gender or age
    assert not {"Man", "Woman", "Male", "Female", "Boy", "Girl", "Adult", "Child"} & set(labels)


@pytest.mark.slow
def test_filters_and_limits(rekognition, app_server: InProcessServer, read_image) -> None:  # type: ignore[no-untyped-def]
    image = {"Bytes": read_image("couple.jpg")}

    def names(**request: Any) -> list[str]:
        return _names(_valid(rekognition.detect_labels(Image=image, **request)))

    def general(**filters: list[str]) -> list[str]:
        return names(Settings={"GeneralLabels": filters})

    everything = _valid(rekognition.detect_labels(Image=image))["Labels"]
    every = [label["Name"] for label in everything]
    assert PERSON_LABELS == [n for n in every if n in PERSON_LABELS]
    described = [n["Name"] for n in everything if PERSON_DESCRIPTION in n["Categories"]]
    assert general(LabelInclusionFilters=["Face"]) == ["Face"]
    assert general(LabelInclusionFilters=["face"]) == []  # exact names
    assert general(LabelExclusionFilters=["Face", "Head"]) == [
        n for n in every if n not in ("Face", "Head")
    ]
    assert general(LabelCategoryInclusionFilters=["Person Description"]) == described
    assert set(PERSON_LABELS) <= set(described)
    assert general(LabelCategoryExclusionFilters=["Person Description"]) == [
        n for n in every if n not in described
    ]
    assert general(LabelCategoryInclusionFilters=["No Such Category"]) == []
    assert general(LabelInclusionFilters=["Person"], LabelExclusionFilters=["Person"]) == []
    assert (
        general(
            LabelInclusionFilters=["Face"], LabelCategoryInclusionFilters=["Person Description"]
        )
        == described
    )  # either inclusion keeps a label
    assert names(MaxLabels=1) == every[:1]
    assert names(MaxLabels=0) == []
    person = next(label["Confidence"] for label in everything if label["Name"] == "Person")
    kept = names(MinConfidence=person)
    assert "Person" in kept
    assert kept == [n["Name"] for n in everything if n["Confidence"] >= person]
    if person < 100:
        above = names(MinConfidence=min(100.0, person + 1e-3))
        assert not set(PERSON_LABELS) & set(above)
    # what botocore's client refuses itself, the server refuses too
    unchecked = app_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY, parameter_validation=False)
    for bad in (
        {"MinConfidence": 101.0},
        {"MaxLabels": -1},
        {"Features": ["FACES"]},
        {"Settings": {"ImageProperties": {"MaxDominantColors": 21}}},
        {"Settings": {"GeneralLabels": {"LabelInclusionFilters": ["x" * 51]}}},
    ):
        with pytest.raises(ClientError) as excinfo:
            unchecked.detect_labels(Image=image, **bad)
        assert _code(excinfo) == "InvalidParameterException", bad


def _two_colours() -> bytes:
    """An image whose properties are known: a yellow square on a grey backdrop."""
    pixels = np.full((256, 256, 3), 128, np.uint8)
    pixels[96:160, 96:160] = (255, 255, 0)
    return png(Image.fromarray(pixels))


def test_image_properties(rekognition) -> None:  # type: ignore[no-untyped-def]
    image = {"Bytes": _two_colours()}
    body = _valid(
        rekognition.detect_labels(
            Image=image,
            Features=["IMAGE_PROPERTIES"],
            Settings={"ImageProperties": {"MaxDominantColors": 2}},
        )
    )
    assert body["Labels"] == []  # IMAGE_PROPERTIES alone: no labels
    properties = body["ImageProperties"]
    quality = properties["Quality"]
    assert set(quality) == {"Brightness", "Sharpness", "Contrast"}
    grey, yellow = 128, round(0.299 * 255 + 0.587 * 255)
    assert quality["Brightness"] == pytest.approx(100 * (grey * 15 + yellow) / 16 / 255, abs=0.1)
    colours = properties["DominantColors"]
    assert [(c["HexCode"], c["CSSColor"], c["SimplifiedColor"]) for c in colours] == [
        ("#808080", "gray", "grey"),
        ("#ffff00", "yellow", "yellow"),
    ]
    assert [c["PixelPercent"] for c in colours] == pytest.approx([93.75, 6.25], abs=0.5)
    assert (colours[1]["Red"], colours[1]["Green"], colours[1]["Blue"]) == (255, 255, 0)
    assert properties["Foreground"]["DominantColors"][0]["HexCode"] == "#ffff00"
    assert properties["Background"]["DominantColors"][0]["HexCode"] == "#808080"
    assert set(properties["Foreground"]["Quality"]) == {"Brightness", "Sharpness"}
    none = rekognition.detect_labels(
        Image=image,
        Features=["IMAGE_PROPERTIES"],
        Settings={"ImageProperties": {"MaxDominantColors": 0}},
    )["ImageProperties"]
    assert none["DominantColors"] == []
    default = rekognition.detect_labels(Image=image, Features=["IMAGE_PROPERTIES"])
    assert 1 <= len(default["ImageProperties"]["DominantColors"]) <= 10


@pytest.mark.slow
def test_both_features_give_the_colours_of_each_person(rekognition, read_image) -> None:  # type: ignore[no-untyped-def]
    body = _valid(
        rekognition.detect_labels(
            Image={"Bytes": read_image("couple.jpg")},
            Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"],
            Settings={"ImageProperties": {"MaxDominantColors": 3}},
        )
    )
    person = next(label for label in body["Labels"] if label["Name"] == "Person")
    assert len(person["Instances"]) >= 2
    for instance in person["Instances"]:
        assert 1 <= len(instance["DominantColors"]) <= 3
        assert sum(c["PixelPercent"] for c in instance["DominantColors"]) <= 100 + 1e-6
    assert len(body["ImageProperties"]["DominantColors"]) == 3


def test_a_photo_without_people_has_no_person(rekognition, no_faces_dir) -> None:  # type: ignore[no-untyped-def]
    data = (no_faces_dir / "images" / "coffee.png").read_bytes()
    names = _names(_valid(rekognition.detect_labels(Image={"Bytes": data})))
    assert not set(PERSON_LABELS) & set(names)


def test_the_general_labels_name_the_object_with_its_taxonomy(rekognition, no_faces_dir) -> None:  # type: ignore[no-untyped-def]
    """The image classifier the deployment composes beside the face engine: an espresso is an
    Espresso, with its WordNet parents reported as labels of their own and its category; the
    category filters select by it."""
    data = (no_faces_dir / "images" / "coffee.png").read_bytes()
    body = _valid(rekognition.detect_labels(Image={"Bytes": data}))
    labels = {label["Name"]: label for label in body["Labels"]}
    espresso = labels["Espresso"]
    assert espresso["Confidence"] > 90 and espresso["Instances"] == []
    parents = [parent["Name"] for parent in espresso["Parents"]]
    assert {"Coffee", "Beverage"} <= set(parents) and set(parents) <= set(labels)
    assert espresso["Categories"] == [{"Name": "Food and Beverage"}]
    assert all(labels[p]["Confidence"] >= espresso["Confidence"] - 1e-3 for p in parents)
    food = _valid(
        rekognition.detect_labels(
            Image={"Bytes": data},
            Settings={"GeneralLabels": {"LabelCategoryInclusionFilters": ["Food and Beverage"]}},
        )
    )
    assert "Espresso" in _names(food)
    assert all({"Name": "Food and Beverage"} in label["Categories"] for label in food["Labels"])
    without = _valid(
        rekognition.detect_labels(
            Image={"Bytes": data},
            Settings={"GeneralLabels": {"LabelCategoryExclusionFilters": ["Food and Beverage"]}},
        )
    )
    assert "Espresso" not in _names(without)


def test_detect_labels_from_an_s3_object(rekognition, app_server: InProcessServer) -> None:  # type: ignore[no-untyped-def]
    bucket = f"labels-{uuid.uuid4().hex[:8]}"
    path = app_server.data_dir / "s3" / bucket / "swatch.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(_two_colours())
    body = rekognition.detect_labels(
        Image={"S3Object": {"Bucket": bucket, "Name": "swatch.png"}}, Features=["IMAGE_PROPERTIES"]
    )
    assert body["ImageProperties"]["DominantColors"][0]["HexCode"] == "#808080"
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_labels(Image={"S3Object": {"Bucket": bucket, "Name": "missing.png"}})
    assert _code(excinfo) == "InvalidS3ObjectException"


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(out, "GIF")
    return out.getvalue()


def _many_pixels() -> bytes:
    out = io.BytesIO()
    Image.new("1", (8100, 8100)).save(out, "PNG")  # 65.6 megapixels in a few kilobytes
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(
            lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(2000),
            "InvalidImageFormatException",
            id="corrupt",
        ),
        pytest.param(_gif, "InvalidImageFormatException", id="gif"),
        pytest.param(lambda: b"", "InvalidParameterException", id="empty"),
        pytest.param(_many_pixels, "ImageTooLargeException", id="too-many-pixels"),
        pytest.param(
            lambda: b"\xff\xd8\xff" + os.urandom(int(5.5 * 2**20)),
            "ImageTooLargeException",
            id="over-5-MiB",
        ),
        pytest.param(
            lambda: png(Image.new("RGB", (60, 300), "white")),
            "InvalidParameterException",
            id="too-narrow",
        ),
    ],
)
def test_detect_labels_refuses_bad_images(rekognition, make, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_labels(
            Image={"Bytes": make()}, Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"]
        )
    assert _code(excinfo) == code


@pytest.mark.slow
def test_a_principal_without_policy_is_refused_and_audited(  # type: ignore[no-untyped-def]
    app_server: InProcessServer, read_image
) -> None:
    deployment = app_server.deployment
    image = {"Bytes": read_image("couple.jpg")}
    deployment.governance.ensure_principal("labels-nobody")
    nobody_key = deployment.keys.create("labels-nobody")
    nobody = app_server.client(nobody_key.access_key_id, nobody_key.secret_access_key)
    with pytest.raises(ClientError) as excinfo:
        nobody.detect_labels(Image=image)
    assert _code(excinfo) == "AccessDeniedException"
    # an analyst may; the audit keeps how many labels and instances, not which
    deployment.governance.ensure_principal("labels-analyst")
    deployment.governance.attach("ImageAnalyst", "labels-analyst")
    analyst_key = deployment.keys.create("labels-analyst")
    analyst = app_server.client(analyst_key.access_key_id, analyst_key.secret_access_key)
    labels = analyst.detect_labels(Image=image, MinConfidence=60.0)["Labels"]
    assert set(PERSON_LABELS) <= {label["Name"] for label in labels}
    records = {
        r["principal"]: r
        for r in deployment.audit.records()
        if r.get("principal") in ("labels-nobody", "labels-analyst")
        and r.get("operation") == "DetectLabels"
    }
    assert records["labels-nobody"]["decision"] == "Deny"
    assert records["labels-nobody"]["error"] == "AccessDeniedException"
    allowed = records["labels-analyst"]
    assert allowed["decision"] == "Allow"
    assert allowed["result"] == {
        "LabelCount": len(labels),
        "LabelInstances": sum(len(label["Instances"]) for label in labels),
    }
    assert allowed["parameters"] == {"MinConfidence": 60.0}
    assert len(allowed["images"]) == 1 and "sha256" in allowed["images"][0]
    recorded = json.dumps(allowed)
    assert not any(f'"{label["Name"]}"' in recorded for label in labels)
