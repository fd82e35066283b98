"""A moderation review (DetectModerationLabels' HumanLoopConfig) on the console's reviews page:
its labels and the image's SHA-256 shown (there is no image to show), decided by a reviewer, the
decision audited with the label names and the hash."""

from __future__ import annotations

from agnosco.operations.context import HumanLoopRequest, Requester
from tests.console.conftest import ConsoleClient
from tests.server.in_process import InProcessServer

SHA = "ab" * 32


def test_a_moderation_review_is_shown_and_decided_in_the_console(
    console_server: InProcessServer,
) -> None:
    deployment = console_server.deployment
    start = deployment.context.human_loops
    assert start is not None  # the deployment points HumanLoopConfig at its review queue
    review_id = start(
        HumanLoopRequest(
            "DetectModerationLabels",
            "console-loop",
            "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/f",
            (),
            {"SHA256": SHA, "Width": 640, "Height": 480, "Format": "JPEG"},
            [{"Confidence": 71.5, "Name": "Explicit", "ParentName": "", "TaxonomyLevel": 1}],
            50.0,
            Requester("moderator-app", None, "content-moderation", None),
        )
    )
    review = deployment.reviews.get(review_id)
    assert review.principal == "moderator-app" and review.purpose == "content-moderation"
    deployment.governance.ensure_principal("moderation-reviewer")
    deployment.governance.attach("Reviewer", "moderation-reviewer")
    key = deployment.keys.create("moderation-reviewer")
    reviewer = ConsoleClient(console_server)
    reviewer.sign_in(key.access_key_id, key.secret_access_key)
    page = reviewer.get("/console/reviews")
    assert page.status == 200 and review_id in page.text
    assert "console-loop" in page.text and SHA in page.text and "Explicit 71.5" in page.text
    assert "Confirm the labels" in page.text
    decided = reviewer.post(
        f"/console/reviews/{review_id}",
        {"decision": "confirm", "reason": "the image is explicit", "csrf": page.csrf()},
    )
    assert decided.header("location") == "/console/reviews?decided=CONFIRMED"
    assert deployment.reviews.get(review_id).status == "CONFIRMED"
    (record,) = [
        r
        for r in deployment.audit.records()
        if r.get("operation") == "agnosco:DecideReview"
        and r.get("parameters", {}).get("review_id") == review_id
        and "phase" not in r
    ]
    assert record["principal"] == "moderation-reviewer" and record["channel"] == "console"
    assert record["result"]["candidates"] == [
        {"HumanLoopName": "console-loop", "ImageSHA256": SHA, "ModerationLabels": ["Explicit"]}
    ]
