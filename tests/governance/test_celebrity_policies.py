"""Recognizing celebrities is off unless a policy allows it: of the shipped policies only Admin
(every action) and CelebrityRecognition, the one named for it, grant it; the moratorium denies it
to the police as it denies SearchFacesByImage, and EUAIActArticle5 (real-time identification)
leaves both alike."""

from __future__ import annotations

from typing import Any

import pytest

from agnosco.governance.actions import Caller, request_context
from agnosco.governance.policy import evaluate
from agnosco.governance.principals import builtin_policies

IMAGE = {"Image": {"Bytes": b"x"}}
SEARCH = {"CollectionId": "c", "Image": {"Bytes": b"x"}, "FaceMatchThreshold": 99.0}


def _context(operation: str, request: dict[str, Any], purpose: str | None = None) -> dict[str, Any]:
    caller = Caller("p", None, "127.0.0.1", "eu-west-1", purpose, None)
    attributes = {"organization_type": "law_enforcement"}
    return request_context(operation, request, caller, attributes, purpose, 0.0) | {
        "agnosco:HumanReview": True,
        "agnosco:RequiredReviewers": 1,
    }


@pytest.mark.parametrize("name", sorted(builtin_policies()))
def test_only_admin_and_the_policy_named_for_it_grant_it(name: str) -> None:
    policies = [builtin_policies()[name]]
    allowed = evaluate(
        policies, "rekognition:RecognizeCelebrities", "*", _context("RecognizeCelebrities", IMAGE)
    ).allowed
    assert allowed is (name in ("Admin", "CelebrityRecognition"))


def test_it_is_identification_at_the_engines_threshold() -> None:
    context = _context("RecognizeCelebrities", IMAGE)
    assert context["agnosco:Identification"] is True
    assert context["agnosco:MatchThreshold"] == 99.0
    assert context["agnosco:RealTimeIdentification"] is False
    assert _context("GetCelebrityInfo", {"Id": "abc"})["agnosco:Identification"] is False


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
