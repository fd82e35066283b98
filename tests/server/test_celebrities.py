"""RecognizeCelebrities and GetCelebrityInfo end to end: a person of ``deepface-pairs`` enrolled
with the real ``agnosco celebrities add`` command in the data directory of the in-process
server, recognized by boto3 clients in another photo of them; someone else unrecognized;
shapes checked against botocore's model; the image and id errors; and governance: refused
without a policy (audited), the police moratorium, matches withheld under review, the audit
naming the celebrity ids matched."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from agnosco import spec
from tests.server.in_process import InProcessServer

AGNOSCO = shutil.which("agnosco")
ARGV = [AGNOSCO] if AGNOSCO else [sys.executable, "-m", "agnosco.cli.main"]
#: person01 of deepface-pairs (identities.csv): enrolled from two images, sought in others.
ENROLLED = ("img2.jpg", "img4.jpg")
SAME_PERSON = "img6.jpg"
#: person02: never enrolled.
SOMEONE_ELSE = "img56.jpg"


def _agnosco(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGV, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ),
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *says: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in says:
        assert text in lines[0], lines[0]


def _image(images: Path, name: str) -> dict[str, bytes]:
    return {"Bytes": (images / name).read_bytes()}


def _valid(response: dict[str, Any], shape: str) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    spec.validate(body, shape)
    return body


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def celebrity(app_server: InProcessServer, deepface_images: Path) -> Iterator[dict[str, Any]]:
    """person01, enrolled with the command line as a deployer would."""
    added = _agnosco(
        app_server.data_dir,
        "celebrities",
        "add",
        "Person One",
        *(str(deepface_images / name) for name in ENROLLED),
        "--url",
        "https://example.org/person-one",
        "--url",
        "https://example.org/person-one/films",
        "--known-gender",
        "Female",
    )
    assert added.returncode == 0, added.stderr
    yield json.loads(added.stdout)


def _client_of(
    app_server: InProcessServer,
    name: str,
    *policies: str,
    organization_type: str | None = None,
    purpose: str | None = None,
) -> Any:
    governance = app_server.deployment.governance
    governance.create_principal(name, organization_type=organization_type)
    for policy in policies:
        governance.attach(policy, name)
    key = app_server.deployment.keys.create(name)
    client = app_server.client(key.access_key_id, key.secret_access_key)
    if purpose is not None:

        def declare_purpose(request: Any, **_: Any) -> None:
            del request.headers["x-agnosco-purpose"]
            request.headers["x-agnosco-purpose"] = purpose

        client.meta.events.register("before-sign.rekognition.*", declare_purpose)
    return client


def _records(app_server: InProcessServer, principal: str, operation: str) -> list[dict[str, Any]]:
    return [
        r
        for r in app_server.deployment.audit.records()
        if r.get("principal") == principal and r.get("operation") == operation
    ]


def test_the_enrolled_person_is_recognized_in_another_photo(
    rekognition, celebrity, deepface_images: Path
) -> None:  # type: ignore[no-untyped-def]
    assert celebrity["Name"] == "Person One" and celebrity["Faces"] == 2
    assert celebrity["Id"].isalnum() and len(celebrity["Id"]) == 8
    answer = _valid(
        rekognition.recognize_celebrities(Image=_image(deepface_images, SAME_PERSON)),
        "RecognizeCelebritiesResponse",
    )
    assert answer["UnrecognizedFaces"] == []
    [found] = answer["CelebrityFaces"]
    assert found["Id"] == celebrity["Id"] and found["Name"] == "Person One"
    assert found["Urls"] == [
        "https://example.org/person-one",
        "https://example.org/person-one/films",
    ]
    assert found["KnownGender"] == {"Type": "Female"}
    assert 99 <= found["MatchConfidence"] <= 100
    face = found["Face"]
    assert set(face) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality", "Smile"}
    assert "Emotions" not in face  # Agnosco reads no emotion
    assert {lm["Type"] for lm in face["Landmarks"]} == {
        "eyeLeft",
        "eyeRight",
        "mouthLeft",
        "mouthRight",
        "nose",
    }
    assert "OrientationCorrection" not in answer  # Rekognition has stopped returning it


def test_someone_else_is_unrecognized(rekognition, celebrity, deepface_images: Path) -> None:  # type: ignore[no-untyped-def]
    answer = _valid(
        rekognition.recognize_celebrities(Image=_image(deepface_images, SOMEONE_ELSE)),
        "RecognizeCelebritiesResponse",
    )
    assert answer["CelebrityFaces"] == []
    [face] = answer["UnrecognizedFaces"]
    assert 0 < face["BoundingBox"]["Width"] <= 1 and face["Confidence"] > 50


def test_an_image_without_faces_recognizes_nobody(
    rekognition, celebrity, no_faces_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    answer = rekognition.recognize_celebrities(
        Image={"Bytes": (no_faces_dir / "images" / "brick.png").read_bytes()}
    )
    assert answer["CelebrityFaces"] == [] and answer["UnrecognizedFaces"] == []


def test_get_celebrity_info(rekognition, celebrity) -> None:  # type: ignore[no-untyped-def]
    info = _valid(rekognition.get_celebrity_info(Id=celebrity["Id"]), "GetCelebrityInfoResponse")
    assert info == {
        "Name": "Person One",
        "Urls": ["https://example.org/person-one", "https://example.org/person-one/films"],
        "KnownGender": {"Type": "Female"},
    }
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_celebrity_info(Id="Unknown1")
    assert _code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_celebrity_info(Id="not-an-id!")  # outside the model's [0-9A-Za-z]*
    assert _code(excinfo) == "InvalidParameterException"


def _oversized() -> bytes:
    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert buffer.tell() > 5 * 1024 * 1024
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (b"\xff\xd8\xff\xe0 not really a jpeg", "InvalidImageFormatException"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "InvalidImageFormatException"),
        (None, "ImageTooLargeException"),
    ],
    ids=["corrupt", "gif", "oversized"],
)
def test_bad_images_are_refused(rekognition, image: bytes | None, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as excinfo:
        rekognition.recognize_celebrities(Image={"Bytes": image or _oversized()})
    assert _code(excinfo) == code


def test_the_command_line_lists_refuses_and_removes(
    app_server: InProcessServer, rekognition, celebrity, deepface_images: Path, no_faces_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = app_server.data_dir
    listed = _agnosco(data_dir, "celebrities", "list")
    assert listed.returncode == 0, listed.stderr
    assert celebrity["Id"] in {c["Id"] for c in json.loads(listed.stdout)}
    before = listed.stdout
    # refused images store nothing, each said in one line
    for image, says in (
        (no_faces_dir / "images" / "brick.png", "shows no face"),
        (deepface_images / "couple.jpg", "more than one face"),
    ):
        refused = _agnosco(
            data_dir, "celebrities", "add", "Nobody", str(deepface_images / "img3.jpg"), str(image)
        )
        _one_line_error(refused, "InvalidParameterException", str(image), says)
    corrupt = data_dir.parent / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 broken")
    _one_line_error(
        _agnosco(data_dir, "celebrities", "add", "Nobody", str(corrupt)),
        "InvalidImageFormatException",
    )
    _one_line_error(
        _agnosco(data_dir, "celebrities", "remove", "NoSuchId"), "ResourceNotFoundException"
    )
    assert _agnosco(data_dir, "celebrities", "list").stdout == before
    # person02, enrolled then removed: recognized, then no longer
    added = _agnosco(
        data_dir, "celebrities", "add", "Person Two", str(deepface_images / "img3.jpg")
    )
    assert added.returncode == 0, added.stderr
    two = json.loads(added.stdout)
    assert "KnownGender" not in two and two["Urls"] == []  # nothing stated, nothing said
    probe = {"Bytes": (deepface_images / "img56.jpg").read_bytes()}
    assert [c["Id"] for c in rekognition.recognize_celebrities(Image=probe)["CelebrityFaces"]] == [
        two["Id"]
    ]
    assert "KnownGender" not in rekognition.get_celebrity_info(Id=two["Id"])
    removed = _agnosco(data_dir, "celebrities", "remove", two["Id"])
    assert removed.returncode == 0 and "Person Two" in removed.stdout
    assert rekognition.recognize_celebrities(Image=probe)["CelebrityFaces"] == []
    with pytest.raises(ClientError) as excinfo:
        rekognition.get_celebrity_info(Id=two["Id"])
    assert _code(excinfo) == "ResourceNotFoundException"
    changes = [
        r
        for r in app_server.deployment.audit.records()
        if r.get("operation") in ("agnosco:AddCelebrity", "agnosco:RemoveCelebrity")
        and r["parameters"].get("Id") == two["Id"]
    ]
    assert [r["operation"] for r in changes] == ["agnosco:AddCelebrity", "agnosco:RemoveCelebrity"]
    assert len(changes[0]["parameters"]["images"][0]["sha256"]) == 64


def test_recognition_is_refused_without_a_policy_and_audited(
    app_server: InProcessServer, celebrity, deepface_images: Path
) -> None:
    image = _image(deepface_images, SAME_PERSON)
    nobody = _client_of(app_server, "celebrity-nobody")
    searcher = _client_of(app_server, "celebrity-searcher", "Identifier", "ImageAnalyst")
    for client in (nobody, searcher):  # searching faces does not grant recognizing people
        with pytest.raises(ClientError) as excinfo:
            client.recognize_celebrities(Image=image)
        assert _code(excinfo) == "AccessDeniedException"
        assert "rekognition:RecognizeCelebrities" in str(excinfo.value)
        with pytest.raises(ClientError) as excinfo:
            client.get_celebrity_info(Id=celebrity["Id"])
        assert _code(excinfo) == "AccessDeniedException"
    for principal in ("celebrity-nobody", "celebrity-searcher"):
        [record] = _records(app_server, principal, "RecognizeCelebrities")
        assert record["decision"] == "Deny" and record["error"] == "AccessDeniedException"
        assert len(record["images"]) == 1 and "sha256" in record["images"][0]
        assert "result" not in record
    # allowed by the policy named for it; the record names whom it recognized
    curator = _client_of(app_server, "celebrity-curator", "CelebrityRecognition")
    [found] = curator.recognize_celebrities(Image=image)["CelebrityFaces"]
    [record] = _records(app_server, "celebrity-curator", "RecognizeCelebrities")
    assert record["decision"] == "Allow"
    assert record["parameters"]["MatchThreshold"] == 99.0
    assert record["result"]["CelebrityFaces"] == [
        {"Id": celebrity["Id"], "MatchConfidence": found["MatchConfidence"]}
    ]
    assert record["result"]["UnrecognizedFaces"] == 0
    assert "Person One" not in json.dumps(record)  # the id, never the name or the face
    assert curator.get_celebrity_info(Id=celebrity["Id"])["Name"] == "Person One"
    [looked_up] = _records(app_server, "celebrity-curator", "GetCelebrityInfo")
    assert looked_up["parameters"] == {"Id": celebrity["Id"]}


def test_the_moratorium_covers_it_and_review_withholds_the_matches(
    app_server: InProcessServer, celebrity, deepface_images: Path
) -> None:
    image = _image(deepface_images, SAME_PERSON)
    policies = ("CelebrityRecognition", "PoliceMoratorium2020", "EUAIActArticle5")
    investigating = _client_of(
        app_server,
        "celebrity-police",
        *policies,
        organization_type="law_enforcement",
        purpose="criminal_investigation",
    )
    with pytest.raises(ClientError) as excinfo:
        investigating.recognize_celebrities(Image=image)
    assert _code(excinfo) == "AccessDeniedException"
    assert "explicit deny" in str(excinfo.value)
    [refused] = _records(app_server, "celebrity-police", "RecognizeCelebrities")
    assert refused["reason"].startswith("explicitly denied by PoliceMoratorium2020/")
    # for a missing person the moratorium allows it, with a person reviewing every match
    searching = _client_of(
        app_server,
        "celebrity-police-missing",
        *policies,
        organization_type="law_enforcement",
        purpose="missing_persons",
    )
    answer = searching.recognize_celebrities(Image=image)
    assert _valid(answer, "RecognizeCelebritiesResponse")["CelebrityFaces"] == []  # withheld
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-agnosco-review-status"] == "PENDING"
    assert headers["x-agnosco-review-candidates"] == "1"
    review = app_server.deployment.reviews.get(headers["x-agnosco-review-id"])
    assert review.operation == "RecognizeCelebrities" and review.threshold == 99.0
    assert [c["Id"] for c in review.candidates] == [celebrity["Id"]]
    [record] = _records(app_server, "celebrity-police-missing", "RecognizeCelebrities")
    assert record["purpose"] == "missing_persons"
    assert record["review"]["review_id"] == review.review_id
    assert [c["Id"] for c in record["result"]["CelebrityFaces"]] == [celebrity["Id"]]
