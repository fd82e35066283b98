"""DetectModerationLabels end to end: real boto3 clients against the server's app (``rekognition``)
on the benign photos of ``../shared/data`` (nothing explicit is committed or needed: what a label
is, is tested on scores in ``tests/vision/test_moderation.py``), with MinConfidence, the human
loop in Agnosco's review queue and its decision, the errors, and governance (a principal with no
policy is refused and audited; the audit keeps label names and the image's SHA-256)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from agnosco import spec
from agnosco.cli.main import main as cli_main
from agnosco.vision.image import decode_image
from agnosco.vision.moderation import EXPLICIT, REPORTING_THRESHOLD, ModerationClassifier
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer
from tests.text_images import draw_text, png

FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/agnosco-moderation"


def _valid(response: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    spec.validate(body, "DetectModerationLabelsResponse")
    assert body["ModerationModelVersion"] == "1.0"
    assert "ContentTypes" not in body and "ProjectVersion" not in body
    return body


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))


@pytest.fixture(scope="module")
def scored(shared_data: Path) -> tuple[bytes, float]:
    """The benign portrait of deepface-pairs the model scores highest, and its score (0-100):
    an image with a score to cut labels at, found by the model, not named here."""
    classifier = ModerationClassifier()
    best: tuple[float, bytes] = (-1.0, b"")
    for path in _images(shared_data / "deepface-pairs" / "images"):
        data = path.read_bytes()
        if not data.startswith(b"\xff\xd8"):  # img47.jpg is WebP
            continue
        score = classifier.score(decode_image(data, max_bytes=15 * 2**20).pixels)
        best = max(best, (score, data))
    if best[0] < REPORTING_THRESHOLD + 1:
        pytest.skip("no shared portrait scores above the reporting threshold")
    return best[1], best[0]


def test_benign_shared_photos_have_no_labels_at_any_min_confidence(  # type: ignore[no-untyped-def]
    rekognition, shared_data: Path
) -> None:
    """The no-faces images and the team photo: no label even at MinConfidence 0 (the model
    scores none of them at the reporting threshold)."""
    paths = _images(shared_data / "no-faces") + _images(shared_data / "crowds")
    assert len(paths) >= 20
    for path in paths:
        body = _valid(
            rekognition.detect_moderation_labels(
                Image={"Bytes": path.read_bytes()}, MinConfidence=0
            )
        )
        assert body["ModerationLabels"] == [], path.name
        assert "HumanLoopActivationOutput" not in body


def test_the_api_reports_what_the_model_scores_at_the_default_min_confidence(  # type: ignore[no-untyped-def]
    rekognition, shared_data: Path
) -> None:
    """Every deepface portrait: the API's labels are the model's score as Explicit exactly when
    it is 50 or more (the default MinConfidence), and few benign portraits are flagged."""
    classifier = ModerationClassifier()
    flagged = 0
    paths = [
        p for p in _images(shared_data / "deepface-pairs") if p.read_bytes()[:2] == b"\xff\xd8"
    ]
    for path in paths:
        data = path.read_bytes()
        score = classifier.score(decode_image(data, max_bytes=15 * 2**20).pixels)
        labels = _valid(rekognition.detect_moderation_labels(Image={"Bytes": data}))[
            "ModerationLabels"
        ]
        if score >= 50:
            flagged += 1
            assert labels == [
                {
                    "Confidence": pytest.approx(score, abs=1e-3),
                    "Name": EXPLICIT,
                    "ParentName": "",
                    "TaxonomyLevel": 1,
                }
            ]
        else:
            assert labels == [], path.name
    assert flagged / len(paths) <= 0.05


def test_min_confidence_cuts_the_labels(rekognition, scored) -> None:  # type: ignore[no-untyped-def]
    data, score = scored
    image = {"Bytes": data}
    below = _valid(rekognition.detect_moderation_labels(Image=image, MinConfidence=score - 0.5))
    assert [m["Name"] for m in below["ModerationLabels"]] == [EXPLICIT]
    assert below["ModerationLabels"][0]["Confidence"] == pytest.approx(score, abs=1e-3)
    above = _valid(rekognition.detect_moderation_labels(Image=image, MinConfidence=score + 0.5))
    assert above["ModerationLabels"] == []
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_moderation_labels(Image=image, MinConfidence=100.5)
    assert _code(excinfo) == "InvalidParameterException"


def _cli(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    assert code == 0, err.getvalue()
    return out.getvalue()


def test_a_human_loop_is_a_review_a_person_decides(  # type: ignore[no-untyped-def]
    rekognition, app_server: InProcessServer, scored
) -> None:
    data, score = scored
    name = f"loop-{uuid.uuid4().hex[:8]}"
    config = {
        "HumanLoopName": name,
        "FlowDefinitionArn": FLOW,
        "DataAttributes": {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]},
    }
    body = _valid(
        rekognition.detect_moderation_labels(
            Image={"Bytes": data}, MinConfidence=score - 0.5, HumanLoopConfig=config
        )
    )
    output = body["HumanLoopActivationOutput"]
    assert output["HumanLoopActivationReasons"] == ["ConditionsEvaluation"]
    results = json.loads(output["HumanLoopActivationConditionsEvaluationResults"])
    assert results["Conditions"][0]["EvaluationResult"] is True
    prefix = f"arn:aws:agnosco:{app_server.settings.region}:"
    assert output["HumanLoopArn"].startswith(prefix)
    review_id = output["HumanLoopArn"].rsplit("/", 1)[1]

    review = app_server.deployment.reviews.get(review_id)
    assert review.status == "PENDING" and review.operation == "DetectModerationLabels"
    assert review.threshold == pytest.approx(score - 0.5)
    (candidate,) = review.candidates
    assert candidate["HumanLoopName"] == name and candidate["FlowDefinitionArn"] == FLOW
    assert candidate["ContentClassifiers"] == ["FreeOfPersonallyIdentifiableInformation"]
    assert candidate["ModerationLabels"] == body["ModerationLabels"]
    assert candidate["Image"]["SHA256"] == hashlib.sha256(data).hexdigest()
    stored = json.dumps(review.as_dict())
    assert len(stored) < 4000  # labels and a hash: no image in the review

    # a reviewer decides it from the command line; the decision is recorded and audited
    state = ("--data-dir", str(app_server.data_dir))
    assert review_id in _cli("review", "list", *state)
    _cli("review", "decide", review_id, "--reviewer", "R. Viewer", "--decision", "reject",
         "--reason", "an ordinary portrait", *state)  # fmt: skip
    decided = app_server.deployment.reviews.get(review_id)
    assert decided.status == "REJECTED" and decided.decisions[0]["reviewer"] == "R. Viewer"
    (record,) = [
        r
        for r in app_server.deployment.audit.records()
        if r.get("operation") == "agnosco:DecideReview"
        and r.get("parameters", {}).get("review_id") == review_id
    ]
    (summary,) = record["parameters"]["candidates"]
    assert summary == {
        "HumanLoopName": name,
        "ImageSHA256": hashlib.sha256(data).hexdigest(),
        "ModerationLabels": [EXPLICIT],
    }
    (call,) = [
        r
        for r in app_server.deployment.audit.records()
        if r.get("operation") == "DetectModerationLabels"
        and r.get("result", {}).get("HumanLoopArn") == output["HumanLoopArn"]
    ]
    assert call["result"]["ModerationLabels"][0]["Name"] == EXPLICIT


def test_a_human_loop_not_activated_starts_no_review(  # type: ignore[no-untyped-def]
    rekognition, app_server: InProcessServer, shared_data: Path
) -> None:
    before = len(app_server.deployment.reviews.list())
    data = (shared_data / "crowds" / "volleyball-team.jpg").read_bytes()
    body = _valid(
        rekognition.detect_moderation_labels(
            Image={"Bytes": data},
            HumanLoopConfig={"HumanLoopName": "no-loop", "FlowDefinitionArn": FLOW},
        )
    )
    output = body["HumanLoopActivationOutput"]
    assert set(output) == {"HumanLoopActivationConditionsEvaluationResults"}
    condition = json.loads(output["HumanLoopActivationConditionsEvaluationResults"])["Conditions"][
        0
    ]
    assert condition["EvaluationResult"] is False
    assert condition["ConditionParameters"]["ConfidenceGreaterThanEquals"] == 50.0
    assert len(app_server.deployment.reviews.list()) == before


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(out, "GIF")
    return out.getvalue()


IMAGE = png(draw_text(["moderation"], size=(300, 140)).image)


@pytest.mark.parametrize(
    ("request_members", "code"),
    [
        pytest.param(
            {"Image": {"Bytes": b"\x89PNG\r\n\x1a\n" + os.urandom(2000)}},
            "InvalidImageFormatException",
            id="corrupt",
        ),
        pytest.param({"Image": {"Bytes": _gif()}}, "InvalidImageFormatException", id="gif"),
        pytest.param(
            {"Image": {"Bytes": b"\xff\xd8\xff" + os.urandom(int(5.5 * 2**20))}},
            "ImageTooLargeException",
            id="over-5-MiB",
        ),
        pytest.param(
            {"Image": {"Bytes": png(Image.new("RGB", (60, 300), "white"))}},
            "InvalidParameterException",
            id="too-narrow",
        ),
        pytest.param(
            {"Image": {"Bytes": IMAGE}, "MinConfidence": -1.0},
            "InvalidParameterException",
            id="negative-min-confidence",
        ),
        pytest.param(
            {
                "Image": {"Bytes": IMAGE},
                "ProjectVersion": "arn:aws:rekognition:us-east-1:123456789012:project/p/version/v/1",
            },
            "ResourceNotFoundException",
            id="custom-adapter",
        ),
        pytest.param(
            {"Image": {"Bytes": IMAGE}, "ProjectVersion": "not-an-adapter-arn-at-all"},
            "InvalidParameterException",
            id="malformed-adapter",
        ),
        pytest.param(
            {
                "Image": {"Bytes": IMAGE},
                "HumanLoopConfig": {"HumanLoopName": "Not_Valid", "FlowDefinitionArn": FLOW},
            },
            "InvalidParameterException",
            id="human-loop-name",
        ),
        pytest.param(
            {
                "Image": {"Bytes": IMAGE},
                "HumanLoopConfig": {"HumanLoopName": "ok", "FlowDefinitionArn": "flow"},
            },
            "InvalidParameterException",
            id="flow-definition-arn",
        ),
        pytest.param(
            {
                "Image": {"Bytes": IMAGE},
                "HumanLoopConfig": {
                    "HumanLoopName": "ok",
                    "FlowDefinitionArn": FLOW,
                    "DataAttributes": {"ContentClassifiers": ["FreeOfEverything"]},
                },
            },
            "InvalidParameterException",
            id="content-classifier",
        ),
    ],
)
def test_detect_moderation_labels_refuses_bad_requests(
    app_server: InProcessServer, request_members: dict[str, Any], code: str
) -> None:
    """Refused by the server (botocore's own checks are off: it would stop some of these)."""
    unchecked = app_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY, parameter_validation=False)
    before = len(app_server.deployment.reviews.list())
    with pytest.raises(ClientError) as excinfo:
        unchecked.detect_moderation_labels(**request_members)
    assert _code(excinfo) == code
    assert len(app_server.deployment.reviews.list()) == before  # nothing written


def test_a_principal_without_policy_is_refused_and_audited(
    app_server: InProcessServer, scored: tuple[bytes, float]
) -> None:
    deployment = app_server.deployment
    data, score = scored
    deployment.governance.ensure_principal("moderation-nobody")
    nobody_key = deployment.keys.create("moderation-nobody")
    nobody = app_server.client(nobody_key.access_key_id, nobody_key.secret_access_key)
    with pytest.raises(ClientError) as excinfo:
        nobody.detect_moderation_labels(Image={"Bytes": data})
    assert _code(excinfo) == "AccessDeniedException"
    deployment.governance.ensure_principal("moderation-analyst")
    deployment.governance.attach("ImageAnalyst", "moderation-analyst")
    analyst_key = deployment.keys.create("moderation-analyst")
    analyst = app_server.client(analyst_key.access_key_id, analyst_key.secret_access_key)
    labels = analyst.detect_moderation_labels(Image={"Bytes": data}, MinConfidence=score - 0.5)[
        "ModerationLabels"
    ]
    assert [m["Name"] for m in labels] == [EXPLICIT]
    records = {
        r["principal"]: r
        for r in deployment.audit.records()
        if r.get("principal") in ("moderation-nobody", "moderation-analyst")
        and r.get("operation") == "DetectModerationLabels"
    }
    assert records["moderation-nobody"]["decision"] == "Deny"
    assert records["moderation-nobody"]["error"] == "AccessDeniedException"
    allowed = records["moderation-analyst"]
    assert allowed["decision"] == "Allow"
    assert allowed["parameters"]["MinConfidence"] == pytest.approx(score - 0.5)
    assert allowed["result"] == {
        "ModerationLabels": [{"Name": EXPLICIT, "Confidence": pytest.approx(score, abs=1e-3)}]
    }
    assert allowed["images"] == [
        {"member": "Image", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    ]
    assert len(json.dumps(allowed)) < 4000  # counts, names and a hash: never the image
