"""DetectFaces on real images: the response must be a valid Rekognition DetectFacesResponse."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from botocore.validate import ParamValidator
from PIL import Image

from agnosco.errors import (
    ImageTooLargeException,
    InvalidImageFormatException,
    InvalidParameterException,
    ServiceError,
)
from agnosco.operations import OPERATIONS, detect_faces, invoke
from agnosco.spec import shape, validate

ALWAYS = {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
ESTIMATED = {"EyesOpen", "MouthOpen", "Smile", "FaceOccluded"}
NEVER = {"AgeRange", "Gender", "Emotions", "Beard", "Mustache", "Eyeglasses", "Sunglasses"}


@pytest.fixture(scope="module")
def detect(face_context):
    def run(image: bytes, **params):
        response = detect_faces({"Image": {"Bytes": image}, **params}, face_context)
        _check_response(response)
        return response

    return run


def _check_response(response: dict) -> None:
    """Valid per Agnosco's validator, botocore's own ParamValidator, and JSON-serialisable."""
    validate(response, "DetectFacesResponse")
    report = ParamValidator().validate(response, shape("DetectFacesResponse"))
    assert not report.has_errors(), report.generate_report()
    face_detail_shape = shape("FaceDetail")
    for detail in response["FaceDetails"]:
        report = ParamValidator().validate(detail, face_detail_shape)
        assert not report.has_errors(), report.generate_report()
    json.dumps(response)  # what goes on the wire: no numpy scalars


@pytest.fixture(scope="module")
def portrait(read_image) -> bytes:
    return read_image("img1.jpg")


@pytest.fixture(scope="module")
def default_response(detect, portrait):
    return detect(portrait)


@pytest.fixture(scope="module")
def all_response(detect, portrait):
    return detect(portrait, Attributes=["ALL"])


def test_registered_as_operation():
    assert OPERATIONS["DetectFaces"] is detect_faces


def test_invoke_validates_then_runs_detect_faces(face_context, portrait, default_response):
    # invoke() is the entry point the server uses: it validates the request, then dispatches.
    assert invoke("DetectFaces", {"Image": {"Bytes": portrait}}, face_context) == default_response


def test_one_face_in_a_portrait(default_response):
    assert list(default_response) == ["FaceDetails"]
    assert len(default_response["FaceDetails"]) == 1


@pytest.mark.parametrize("attributes", [None, [], ["DEFAULT"]])
def test_default_attributes(detect, portrait, default_response, attributes):
    response = default_response if attributes is None else detect(portrait, Attributes=attributes)
    (detail,) = response["FaceDetails"]
    assert set(detail) == ALWAYS
    assert "EyesOpen" not in detail


def test_all_attributes(all_response):
    (detail,) = all_response["FaceDetails"]
    assert set(detail) == ALWAYS | ESTIMATED
    assert not set(detail) & NEVER
    for name in ESTIMATED:
        assert type(detail[name]["Value"]) is bool
        assert 0.0 <= detail[name]["Confidence"] <= 100.0
    # A frontal portrait, whole face in frame, eyes open (img1).
    assert detail["EyesOpen"]["Value"] is True
    assert detail["FaceOccluded"]["Value"] is False


def test_all_and_default_agree_on_geometry(default_response, all_response):
    a, b = default_response["FaceDetails"][0], all_response["FaceDetails"][0]
    for key in ALWAYS:
        assert a[key] == b[key]


@pytest.mark.parametrize(
    "attributes, expected",
    [
        (["EYES_OPEN"], {"EyesOpen"}),
        (["SMILE", "DEFAULT"], {"Smile"}),
        (["MOUTH_OPEN", "FACE_OCCLUDED"], {"MouthOpen", "FaceOccluded"}),
        (["EMOTIONS", "BEARD"], set()),  # valid names no shipped model estimates
        (["ALL", "SMILE"], ESTIMATED),
    ],
)
def test_attributes_by_name(detect, portrait, attributes, expected):
    (detail,) = detect(portrait, Attributes=attributes)["FaceDetails"]
    assert set(detail) == ALWAYS | expected


@pytest.mark.parametrize(
    "attributes", [["GENDER"], ["AGE_RANGE"], ["ALL", "GENDER"], ["DEFAULT", "AGE_RANGE"]]
)
@pytest.mark.parametrize("entry", ["direct", "invoke"])
def test_demographic_attributes_are_refused(face_context, portrait, attributes, entry):
    request = {"Image": {"Bytes": portrait}, "Attributes": attributes}
    with pytest.raises(InvalidParameterException) as exc_info:
        if entry == "direct":
            detect_faces(request, face_context)
        else:
            invoke("DetectFaces", request, face_context)
    assert exc_info.value.code == "InvalidParameterException"
    refused = {"GENDER", "AGE_RANGE"} & set(attributes)
    assert all(name in exc_info.value.message for name in refused)


@pytest.mark.parametrize("attributes", [["NOT_AN_ATTRIBUTE"], ["ALL", "eyes_open"], ["all"]])
def test_invalid_attribute_enum_value(face_context, portrait, attributes):
    with pytest.raises(InvalidParameterException) as exc_info:
        invoke(
            "DetectFaces", {"Image": {"Bytes": portrait}, "Attributes": attributes}, face_context
        )
    assert "enum" in exc_info.value.message


def test_landmarks(default_response, all_response):
    enum = set(shape("LandmarkType").enum)
    for response in (default_response, all_response):
        (detail,) = response["FaceDetails"]
        types = [lm["Type"] for lm in detail["Landmarks"]]
        assert len(types) == len(set(types)), "duplicate landmark types"
        assert set(types) == enum  # all 30 of Rekognition's landmark types
        by_type = {lm["Type"]: lm for lm in detail["Landmarks"]}
        for name in ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"):
            assert name in by_type
        assert by_type["eyeLeft"]["X"] < by_type["eyeRight"]["X"]
        assert by_type["mouthLeft"]["X"] < by_type["mouthRight"]["X"]
        assert by_type["eyeLeft"]["Y"] < by_type["nose"]["Y"] < by_type["mouthUp"]["Y"]
        for side in ("left", "right"):  # each pupil lies between its eye's corners
            pupil = by_type[f"{side}Pupil"]
            corners = [by_type[f"{side}Eye{end}"]["X"] for end in ("Left", "Right")]
            assert min(corners) <= pupil["X"] <= max(corners)
            assert abs(pupil["Y"] - by_type[f"eye{side.capitalize()}"]["Y"]) < 0.02
        box = detail["BoundingBox"]
        for lm in detail["Landmarks"]:
            assert 0.0 <= lm["X"] <= 1.0 and 0.0 <= lm["Y"] <= 1.0
            assert box["Left"] - 0.05 <= lm["X"] <= box["Left"] + box["Width"] + 0.05


def test_quality_confidence_pose_ranges(default_response):
    (detail,) = default_response["FaceDetails"]
    assert 0.0 <= detail["Quality"]["Brightness"] <= 100.0
    assert 0.0 <= detail["Quality"]["Sharpness"] <= 100.0
    assert 90.0 <= detail["Confidence"] <= 100.0  # a clear frontal portrait
    for angle in ("Roll", "Yaw", "Pitch"):
        assert -180.0 <= detail["Pose"][angle] <= 180.0
    assert abs(detail["Pose"]["Yaw"]) < 30 and abs(detail["Pose"]["Roll"]) < 15


def test_bounding_box_ratios(default_response):
    box = default_response["FaceDetails"][0]["BoundingBox"]
    assert 0.0 <= box["Left"] and 0.0 <= box["Top"]
    assert 0.05 < box["Width"] <= 1.0 and 0.05 < box["Height"] <= 1.0
    assert box["Left"] + box["Width"] <= 1.0 and box["Top"] + box["Height"] <= 1.0
    # Ratios of a 1382 x 1868 portrait: the face box is roughly square in pixels.
    aspect = (box["Width"] * 1382) / (box["Height"] * 1868)
    assert 0.7 < aspect < 1.4


def test_quality_follows_the_pixels(detect, portrait):
    """Brightness and sharpness must react to the image, not be constants."""
    image = Image.open(io.BytesIO(portrait)).convert("RGB")
    dark = Image.eval(image, lambda v: v // 3)
    buf = io.BytesIO()
    dark.save(buf, "JPEG", quality=95)
    original = detect(portrait)["FaceDetails"][0]["Quality"]
    darker = detect(buf.getvalue())["FaceDetails"]
    assert darker, "the darkened portrait still shows a face"
    assert darker[0]["Quality"]["Brightness"] < original["Brightness"] * 0.6


def test_image_without_faces(detect, no_faces_dir):
    response = detect((no_faces_dir / "images" / "brick.png").read_bytes(), Attributes=["ALL"])
    assert response == {"FaceDetails": []}


def test_multiple_faces_largest_first(detect, read_image):
    details = detect(read_image("selfie-many-people.jpg"), Attributes=["ALL"])["FaceDetails"]
    assert len(details) >= 5
    areas = [d["BoundingBox"]["Width"] * d["BoundingBox"]["Height"] for d in details]
    assert areas == sorted(areas, reverse=True)


def test_crowd_returns_the_100_largest_faces(detect, face_context, shared_data):
    """Rekognition analyses at most the 100 largest faces; a team photo with hundreds of
    spectators behind ~30 players must give the players and the largest of the rest."""
    from agnosco.vision.image import decode_image

    data = (shared_data / "crowds" / "volleyball-team.jpg").read_bytes()
    details = detect(data)["FaceDetails"]
    found = face_context.analyzer.detector.detect(decode_image(data).pixels)
    assert len(found) >= 25
    assert len(details) == min(100, len(found))
    areas = [d["BoundingBox"]["Width"] * d["BoundingBox"]["Height"] for d in details]
    assert areas == sorted(areas, reverse=True)
    all_areas = sorted((f.box.width * f.box.height for f in found), reverse=True)
    image_area = 1000 * 644
    assert areas[-1] * image_area == pytest.approx(all_areas[len(details) - 1], rel=1e-6)


@pytest.fixture(scope="module")
def big_crowd(shared_data) -> bytes:
    """The volleyball photo tiled 2 x 2 (2000 x 1288 px): about 120 faces, more than the 100
    Rekognition analyses."""
    from agnosco.vision.image import decode_image

    pixels = decode_image((shared_data / "crowds" / "volleyball-team.jpg").read_bytes()).pixels
    tiled = np.vstack([np.hstack([pixels, pixels])] * 2)
    buf = io.BytesIO()
    Image.fromarray(tiled).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_a_crowd_of_more_than_100_faces_gives_the_100_largest(detect, face_context, big_crowd):
    from agnosco.vision.image import decode_image

    image = decode_image(big_crowd)
    found = face_context.analyzer.detector.detect(image.pixels)
    assert len(found) > 100
    details = detect(big_crowd)["FaceDetails"]
    assert len(details) == 100
    areas = sorted((f.box.width * f.box.height for f in found), reverse=True)
    returned = [
        d["BoundingBox"]["Width"] * image.width * d["BoundingBox"]["Height"] * image.height
        for d in details
    ]
    assert returned == pytest.approx(areas[:100], rel=1e-6)


def test_index_faces_stores_at_most_the_100_largest_faces(face_context, big_crowd, tmp_path):
    from agnosco.operations import OperationContext, invoke
    from agnosco.storage import open_store

    store = open_store(None, tmp_path)
    try:
        context = OperationContext(
            analyzer=face_context.analyzer, calibration=face_context.calibration, store=store
        )
        invoke("CreateCollection", {"CollectionId": "crowd"}, context)
        response = invoke(
            "IndexFaces",
            {"CollectionId": "crowd", "Image": {"Bytes": big_crowd}, "QualityFilter": "NONE"},
            context,
        )
        listed = invoke("ListFaces", {"CollectionId": "crowd", "MaxResults": 4096}, context)
    finally:
        store.close()
    assert len(response["FaceRecords"]) == 100
    assert response["UnindexedFaces"] == []
    assert len(listed["Faces"]) == 100


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (100, 100), (10, 200, 30)).save(buf, "GIF")
    return buf.getvalue()


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "make_bytes, error",
    [
        (lambda jpeg: jpeg[: len(jpeg) // 2], InvalidImageFormatException),
        (lambda jpeg: _gif(), InvalidImageFormatException),
        (lambda jpeg: b"this is not an image at all", InvalidImageFormatException),
        (lambda jpeg: _png(79, 200), InvalidParameterException),
    ],
    ids=["truncated-jpeg", "gif", "text", "too-small"],
)
def test_bad_image_bytes(face_context, portrait, make_bytes, error):
    with pytest.raises(error) as exc_info:
        detect_faces({"Image": {"Bytes": make_bytes(portrait)}}, face_context)
    assert exc_info.value.code == error.__name__
    assert exc_info.value.message


def test_image_over_5_mib(face_context, portrait):
    request = {"Image": {"Bytes": portrait + b"\x00" * (5 * 1024 * 1024)}}
    # Straight to the operation, the decoder refuses it.
    with pytest.raises(ImageTooLargeException) as exc_info:
        detect_faces(request, face_context)
    assert "5 MiB" in exc_info.value.message
    # Through invoke(), the request validator (ImageBlob max 5242880 in the service model)
    # refuses it first, under the error code Rekognition uses for oversized images.
    with pytest.raises(ImageTooLargeException) as exc_info:
        invoke("DetectFaces", request, face_context)
    assert "5242880" in exc_info.value.message


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"Image": {}},
        {"Image": {"Bytes": b""}},
        {"Image": {"Bytes": "not binary"}},
        {"Image": {"S3Object": {"Bucket": "some-bucket", "Name": "face.jpg"}}},
        {"Image": {"Bytes": b"\xff\xd8\xff", "S3Object": {"Bucket": "bucket", "Name": "n.jpg"}}},
        {"Image": {"Bytes": b"\xff\xd8\xff"}, "Unexpected": 1},
        {"Image": {"Bytes": b"\xff\xd8\xff"}, "Attributes": "ALL"},
    ],
    ids=[
        "no-image",
        "empty-image",
        "empty-bytes",
        "str-bytes",
        "s3-object",
        "both-sources",
        "unknown-member",
        "attributes-not-a-list",
    ],
)
def test_invalid_requests_raise_service_errors(face_context, request_):
    with pytest.raises(ServiceError) as exc_info:
        invoke("DetectFaces", request_, face_context)
    # The request itself is at fault, not the image decoder or the service.
    assert exc_info.value.sender_fault is True
    assert exc_info.value.code != "InternalServerError"
    assert exc_info.value.message


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"Image": {}},
        {"Image": {"Bytes": b""}},
        {"Image": {"Bytes": b"\xff\xd8\xff"}, "Extra": 1},
    ],
    ids=["no-image", "empty-image", "empty-bytes", "unknown-member"],
)
def test_malformed_requests_are_invalid_parameter(face_context, request_):
    with pytest.raises(InvalidParameterException):
        invoke("DetectFaces", request_, face_context)
