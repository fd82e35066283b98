"""Recognizing celebrities is off unless a policy allows it: of the shipped policies only Admin
(every action) and CelebrityRecognition, the one named for it, grant it; the moratorium denies it
to the police as it denies SearchFacesByImage, and EUAIActArticle5 (real-time identification)
leaves both alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agnosco.errors import AccessDeniedException
from agnosco.governance.actions import Caller, request_context
from agnosco.governance.gate import Gate
from agnosco.governance.policy import evaluate
from agnosco.governance.principals import builtin_policies
from agnosco.storage.celebrities import CelebrityStore
from tests.text_images import draw_text, png

IMAGE = {"Image": {"Bytes": b"x"}}
SEARCH = {"CollectionId": "c", "Image": {"Bytes": b"x"}, "FaceMatchThreshold": 99.0}


def _context(operation: str, request: dict[str, Any], purpose: str | None = None) -> dict[str, Any]:
    caller = Caller("p", None, "127.0.0.1", "eu-west-1", purpose, None)
    attributes = {"organization_type": "law_enforcement"}
    return request_context(operation, request, caller, attributes, purpose, 0.0) | {
        "agnosco:HumanReview": True,
        "agnosco:RequiredReviewers": 1,
    }


VIDEO = {"Video": {"S3Object": {"Bucket": "b", "Name": "v.mp4"}}}


@pytest.mark.parametrize(
    ("operation", "request_"),
    [
        ("RecognizeCelebrities", IMAGE),
        ("StartCelebrityRecognition", VIDEO),
        ("GetCelebrityRecognition", {"JobId": "j"}),
    ],
)
@pytest.mark.parametrize("name", sorted(builtin_policies()))
def test_only_admin_and_the_policy_named_for_it_grant_it(
    name: str, operation: str, request_: dict[str, Any]
) -> None:
    policies = [builtin_policies()[name]]
    allowed = evaluate(
        policies, f"rekognition:{operation}", "*", _context(operation, request_)
    ).allowed
    assert allowed is (name in ("Admin", "CelebrityRecognition"))


def test_it_is_identification_at_the_engines_threshold() -> None:
    context = _context("RecognizeCelebrities", IMAGE)
    assert context["agnosco:Identification"] is True
    assert context["agnosco:MatchThreshold"] == 99.0
    assert context["agnosco:RealTimeIdentification"] is False
    assert _context("GetCelebrityInfo", {"Id": "abc"})["agnosco:Identification"] is False
    video = _context("StartCelebrityRecognition", VIDEO)  # a video's, as an image's
    assert (video["agnosco:Identification"], video["agnosco:MatchThreshold"]) == (True, 99.0)
    assert _context("GetCelebrityRecognition", {"JobId": "j"})["agnosco:Identification"] is True


@pytest.mark.parametrize(
    ("purpose", "allowed"),
    [(None, False), ("criminal_investigation", False), ("missing_persons", True)],
)
def test_the_moratorium_and_article_5_treat_it_as_they_treat_a_search(
    purpose: str | None, allowed: bool
) -> None:
    for granting in ("Identifier", "CelebrityRecognition"):
        operation, request = (
            ("SearchFacesByImage", SEARCH)
            if granting == "Identifier"
            else ("RecognizeCelebrities", IMAGE)
        )
        policies = [builtin_policies()[n] for n in (granting, "PoliceMoratorium2020")]
        decision = evaluate(
            policies, f"rekognition:{operation}", "*", _context(operation, request, purpose)
        )
        assert decision.allowed is allowed, (operation, purpose)
        with_article_5 = [*policies, builtin_policies()["EUAIActArticle5"]]
        again = evaluate(
            with_article_5, f"rekognition:{operation}", "*", _context(operation, request, purpose)
        )
        assert again.allowed is allowed  # not real-time: Article 5's policy adds nothing


def _floor(minimum: float) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},
            {
                "Sid": "Floor",
                "Effect": "Deny",
                "Action": "rekognition:*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"agnosco:MatchThreshold": str(minimum)}},
            },
        ],
    }


@pytest.mark.parametrize("mode", ["refuse", "clamp"])
@pytest.mark.parametrize(("minimum", "allowed"), [(99.0, True), (99.5, False)])
def test_the_engines_threshold_meets_a_floor_or_is_refused_never_clamped(
    gate_parts, tmp_path: Path, mode: str, minimum: float, allowed: bool
) -> None:  # type: ignore[no-untyped-def]
    """A policy floor at or below 99 is met; one above it refuses the call in either threshold
    mode: the caller cannot raise a threshold its request does not have."""
    made = gate_parts("curator", _floor(minimum))
    celebrities = CelebrityStore(tmp_path / "celebrities.db")
    context = replace(made.context, celebrities=celebrities)
    gate = Gate(made.governance, made.audit, made.reviews, threshold_mode=mode)
    caller = Caller("curator", "AKIA", "127.0.0.1", "eu-west-1", None, None)
    request = {"Image": {"Bytes": png(draw_text(["no face here"]).image)}}
    try:
        if allowed:
            result = gate.call("RecognizeCelebrities", request, caller, context)
            assert result.response == {"CelebrityFaces": [], "UnrecognizedFaces": []}
            assert "x-agnosco-threshold-applied" not in result.headers
        else:
            with pytest.raises(AccessDeniedException):
                gate.call("RecognizeCelebrities", request, caller, context)
        [record] = [r for r in made.audit.records() if r["operation"] == "RecognizeCelebrities"]
        assert record["parameters"] == {"MatchThreshold": 99.0}
        assert record["decision"] == ("Allow" if allowed else "Deny")
    finally:
        celebrities.close()
