"""DetectText end to end: real boto3 clients against the server's app (``rekognition``), on
drawn images and a shared one, with filters, the image errors, and governance (a principal with
no policy is refused and audited; the audit keeps counts, never the text)."""

from __future__ import annotations

import io
import json
import os
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from agnosco import spec
from tests.server.in_process import InProcessServer
from tests.text_images import draw_text, png


def _valid(response: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    spec.validate(body, "DetectTextResponse")
    return body


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_detect_text_reads_lines_and_words(rekognition) -> None:  # type: ignore[no-untyped-def]
    drawn = draw_text(["Hello world from Agnosco", "STOP 42 Main Street"])
    body = _valid(rekognition.detect_text(Image={"Bytes": png(drawn.image)}))
    assert body["TextModelVersion"] == "1.0"
    lines = [d for d in body["TextDetections"] if d["Type"] == "LINE"]
    words = [d for d in body["TextDetections"] if d["Type"] == "WORD"]
    assert [line["DetectedText"] for line in lines] == drawn.lines
    for line in lines:
        own = [w["DetectedText"] for w in words if w["ParentId"] == line["Id"]]
        assert " ".join(own) == line["DetectedText"]
    assert all(0 <= d["Confidence"] <= 100 for d in body["TextDetections"])


def test_detect_text_filters(rekognition) -> None:  # type: ignore[no-untyped-def]
    drawn = draw_text(["left words | right words"], size=(900, 140))
    image = {"Bytes": png(drawn.image)}
    region = {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 0.25, "Height": 1.0}}
    body = _valid(rekognition.detect_text(Image=image, Filters={"RegionsOfInterest": [region]}))
    assert [d["DetectedText"] for d in body["TextDetections"]] == ["left words", "left", "words"]
    none = rekognition.detect_text(
        Image=image, Filters={"WordFilter": {"MinBoundingBoxWidth": 0.9}}
    )
    assert none["TextDetections"] == []
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_text(Image=image, Filters={"WordFilter": {"MinConfidence": 101.0}})
    assert _code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_text(Image=image, Filters={"RegionsOfInterest": [{}]})
    assert _code(excinfo) == "InvalidParameterException"


def test_detect_text_on_a_shared_photo(rekognition, shared_data) -> None:  # type: ignore[no-untyped-def]
    """The volleyball team's photo: its vest number and the CEV board are read (hand labels in
    tests/vision/data/text-labels.json)."""
    data = (shared_data / "crowds" / "volleyball-team.jpg").read_bytes()
    body = _valid(rekognition.detect_text(Image={"Bytes": data}))
    words = {d["DetectedText"] for d in body["TextDetections"] if d["Type"] == "WORD"}
    assert {"015-888", "CEV"} <= words


def test_detect_text_from_an_s3_object(rekognition, app_server: InProcessServer) -> None:  # type: ignore[no-untyped-def]
    bucket = f"text-{uuid.uuid4().hex[:8]}"
    path = app_server.data_dir / "s3" / bucket / "signs" / "stop.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(png(draw_text(["STOP 42"], size=(400, 140)).image))
    body = rekognition.detect_text(Image={"S3Object": {"Bucket": bucket, "Name": "signs/stop.png"}})
    assert [d["DetectedText"] for d in body["TextDetections"]] == ["STOP 42", "STOP", "42"]


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
def test_detect_text_refuses_bad_images(rekognition, make, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_text(Image={"Bytes": make()})
    assert _code(excinfo) == code


def test_a_principal_without_policy_is_refused_and_audited(
    app_server: InProcessServer,
) -> None:
    deployment = app_server.deployment
    image = {"Bytes": png(draw_text(["SECRET PLAN"], size=(500, 140)).image)}
    deployment.governance.ensure_principal("text-nobody")
    nobody_key = deployment.keys.create("text-nobody")
    nobody = app_server.client(nobody_key.access_key_id, nobody_key.secret_access_key)
    with pytest.raises(ClientError) as excinfo:
        nobody.detect_text(Image=image)
    assert _code(excinfo) == "AccessDeniedException"
    # an analyst may read it; the audit keeps how much text was read, not what it says
    deployment.governance.ensure_principal("text-analyst")
    deployment.governance.attach("ImageAnalyst", "text-analyst")
    analyst_key = deployment.keys.create("text-analyst")
    analyst = app_server.client(analyst_key.access_key_id, analyst_key.secret_access_key)
    read = analyst.detect_text(Image=image)["TextDetections"]
    assert [d["DetectedText"] for d in read] == ["SECRET PLAN", "SECRET", "PLAN"]
    records = {
        r["principal"]: r
        for r in deployment.audit.records()
        if r.get("principal") in ("text-nobody", "text-analyst")
        and r.get("operation") == "DetectText"
    }
    assert records["text-nobody"]["decision"] == "Deny"
    assert records["text-nobody"]["error"] == "AccessDeniedException"
    allowed = records["text-analyst"]
    assert allowed["decision"] == "Allow"
    assert allowed["result"] == {"TextLines": 1, "TextWords": 2}
    assert len(allowed["images"]) == 1 and "sha256" in allowed["images"][0]
    assert "SECRET" not in json.dumps(allowed) and "PLAN" not in json.dumps(allowed)
