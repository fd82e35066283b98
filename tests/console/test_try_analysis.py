"""The try page's image analyses beyond faces and text: DetectLabels (Person boxes, labels,
colours and quality), DetectModerationLabels (what the model can and cannot say) and
RecognizeCelebrities (identification: shown only where policies permit it, recognized faces
solid, the others dashed, matches held back by review), each through the gate, on shared
photographs."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agnosco.operations.celebrities import enrolment_descriptor
from tests.console.conftest import Answer, ConsoleClient
from tests.console.test_console import _principal_with, _records
from tests.server.in_process import InProcessServer

#: person01 of deepface-pairs (identities.csv): enrolled from two images, sought in a third.
ENROLLED = ("img2.jpg", "img4.jpg")
SAME_PERSON = "img6.jpg"
#: Two reviewers must confirm any celebrity recognition of a principal under this policy.
CELEBRITY_FOUR_EYES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FourEyes",
                "Effect": "Deny",
                "Action": "rekognition:RecognizeCelebrities",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"agnosco:RequiredReviewers": 2}},
            }
        ],
    }
)


def _json(answer: Answer) -> dict[str, Any]:
    found = re.search(r"<pre>(.*?)</pre>", answer.text, re.DOTALL)
    assert found, answer.text[-2000:]
    shown: dict[str, Any] = json.loads(html.unescape(found[1]))
    return shown


def _rects(answer: Answer, kind: str = "box") -> list[tuple[str, str]]:
    """(x, title) of each box of ``kind`` drawn over the image."""
    return re.findall(
        rf'<rect class="{kind}" data-face="\d+" x="([^"]+)"[^>]*><title>([^<]+)</title>',
        answer.text,
    )


def _try(client: ConsoleClient, operation: str, name: str, data: bytes, **fields: str) -> Answer:
    token = client.get("/console/try").csrf()
    kind = "image/png" if name.endswith(".png") else "image/jpeg"
    return client.post(
        "/console/try",
        {"csrf": token, "operation": operation, **fields},
        files={"image": (name, kind, data)},
    )


def _refused_and_audited(
    server: InProcessServer, client: ConsoleClient, principal: str, operation: str, data: bytes
) -> None:
    """The form is not offered, and the call sent anyway is refused, in words, and audited."""
    page = client.get("/console/try")
    assert f'value="{operation}"' not in page.text
    assert f"do not allow {operation}" in page.text
    refused = _try(client, operation, "image.jpg", data)
    assert refused.status == 403 and "Your policies do not allow this" in refused.text
    record = _records(server, principal=principal, operation=operation)[-1]
    assert record["decision"] == "Deny" and record["channel"] == "console"


@pytest.mark.slow
def test_detecting_labels_draws_person_boxes_and_shows_colours(
    console_server: InProcessServer, shared_data: Path, no_faces_dir: Path
) -> None:
    team = (shared_data / "crowds" / "volleyball-team.jpg").read_bytes()
    coffee = (no_faces_dir / "images" / "coffee.png").read_bytes()
    analyst = ConsoleClient(console_server)
    analyst.sign_in(*_principal_with(console_server, "labels-analyst", "ImageAnalyst"))
    page = analyst.get("/console/try")
    assert 'value="DetectLabels"' in page.text
    assert 'name="Features.GENERAL_LABELS" type="checkbox" value="on" checked' in page.text
    assert 'name="Features.IMAGE_PROPERTIES" type="checkbox" value="on">' in page.text
    # ImageAnalyst does not identify: no celebrity form.
    assert 'value="RecognizeCelebrities"' not in page.text
    assert "do not allow RecognizeCelebrities" in page.text

    group = _try(analyst, "DetectLabels", "team.jpg", team, **{"Features.GENERAL_LABELS": "on"})
    assert group.status == 200, group.text[-2000:]
    shown = _json(group)
    person = next(label for label in shown["Labels"] if label["Name"] == "Person")
    boxes = _rects(group)
    assert len(person["Instances"]) >= 2 and len(boxes) == len(person["Instances"])
    assert all(title.startswith("Person ") for _, title in boxes)
    assert [float(x) for x, _ in boxes] == pytest.approx(
        [i["BoundingBox"]["Left"] for i in person["Instances"]]
    )
    assert f"{len(boxes)} label instance boxes on team.jpg" in group.text
    assert "Dominant colours" not in group.text  # IMAGE_PROPERTIES was not asked for
    record = _records(console_server, principal="labels-analyst", operation="DetectLabels")[-1]
    assert record["channel"] == "console" and record["parameters"]["Features"] == ["GENERAL_LABELS"]
    assert record["result"]["LabelInstances"] == len(boxes)

    both = _try(
        analyst,
        "DetectLabels",
        "coffee.png",
        coffee,
        **{"Features.GENERAL_LABELS": "on", "Features.IMAGE_PROPERTIES": "on"},
    )
    assert both.status == 200, both.text[-2000:]
    shown = _json(both)
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>([\d.]+)</td><td>([^<]*)</td><td>([^<]*)</td>", both.text
    )
    assert [r[0] for r in rows] == [label["Name"] for label in shown["Labels"]]
    for (_, confidence, parents, categories), label in zip(rows, shown["Labels"], strict=True):
        assert float(confidence) == pytest.approx(label["Confidence"], abs=0.006)
        assert html.unescape(parents) == (", ".join(p["Name"] for p in label["Parents"]) or "-")
        assert html.unescape(categories) == (
            ", ".join(c["Name"] for c in label["Categories"]) or "-"
        )
    assert _rects(both) == []  # no label of a cup of coffee has boxes
    properties = shown["ImageProperties"]
    whole = re.search(
        r'<ul class="colours" aria-label="Dominant colours of the whole image">(.*?)</ul>',
        both.text,
        re.DOTALL,
    )
    assert whole
    swatches = re.findall(
        r'<li><svg class="swatch"[^>]*aria-hidden="true"[^>]*><rect [^>]*fill="(#[0-9a-f]{6})">'
        r'</rect></svg> <span class="colour">([a-z]+)</span> \(([a-z]+)\), <code>(#[0-9a-f]{6})'
        r"</code>, ([\d.]+)% of the pixels</li>",
        whole[1],
    )
    colours = properties["DominantColors"]
    assert len(colours) >= 2 and len(swatches) == len(colours)
    for (fill, name, simple, hex_code, percent), colour in zip(swatches, colours, strict=True):
        # the colour's name in words beside each swatch, not its colour alone
        assert fill == hex_code == colour["HexCode"] and name == colour["CSSColor"]
        assert simple == colour["SimplifiedColor"]
        assert float(percent) == pytest.approx(colour["PixelPercent"], abs=0.06)
    for member in ("Brightness", "Sharpness", "Contrast"):
        figure = f"{properties['Quality'][member]:.1f}"
        assert f"<dt>{member}</dt><dd>{figure} (0 to 100)</dd>" in both.text

    # The form's numbers reach the request: one label at most.
    one = _try(analyst, "DetectLabels", "coffee.png", coffee, MaxLabels="1", MinConfidence="60")
    assert one.status == 200 and len(_json(one)["Labels"]) == 1
    record = _records(console_server, principal="labels-analyst", operation="DetectLabels")[-1]
    assert record["parameters"]["MaxLabels"] == 1 and record["parameters"]["MinConfidence"] == 60
    colours_only = _try(
        analyst, "DetectLabels", "coffee.png", coffee, **{"Features.IMAGE_PROPERTIES": "on"}
    )
    assert _json(colours_only)["Labels"] == [] and "Dominant colours" in colours_only.text
    assert "No label (GENERAL_LABELS was not asked for)." in colours_only.text
    none_so_sure = _try(analyst, "DetectLabels", "coffee.png", coffee, MinConfidence="100")
    assert "No label at this confidence." in none_so_sure.text
    bad = _try(analyst, "DetectLabels", "coffee.png", coffee, MaxLabels="all")
    assert bad.status == 400 and "MaxLabels must be a number" in bad.text
    out_of_range = _try(analyst, "DetectLabels", "coffee.png", coffee, MinConfidence="101")
    assert out_of_range.status == 400 and "InvalidParameterException" in out_of_range.text

    reader = ConsoleClient(console_server)
    reader.sign_in(*_principal_with(console_server, "labels-reader", "ReadOnly"))
    _refused_and_audited(console_server, reader, "labels-reader", "DetectLabels", coffee)


@pytest.mark.slow
def test_detecting_moderation_labels_says_what_the_model_cannot_see(
    console_server: InProcessServer, no_faces_dir: Path
) -> None:
    coffee = (no_faces_dir / "images" / "coffee.png").read_bytes()
    analyst = ConsoleClient(console_server)
    analyst.sign_in(*_principal_with(console_server, "moderation-analyst", "ImageAnalyst"))
    assert 'value="DetectModerationLabels"' in analyst.get("/console/try").text
    # MinConfidence 0: whatever the score, a label under 20 is never reported, so the table
    # lists exactly what the response has.
    answer = _try(analyst, "DetectModerationLabels", "coffee.png", coffee, MinConfidence="0")
    assert answer.status == 200, answer.text[-2000:]
    shown = _json(answer)
    assert shown["ModerationModelVersion"] in answer.text
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>([\d.]+)</td><td>(\d)</td><td>([^<]+)</td></tr>", answer.text
    )
    assert [(n, int(level)) for n, _, level, _ in rows] == [
        (m["Name"], m["TaxonomyLevel"]) for m in shown["ModerationLabels"]
    ]
    assert all(n == "Explicit" and p == "- (top level)" for n, _, _, p in rows)
    if not rows:
        assert "No moderation label at this confidence." in answer.text
    assert "an empty answer says nothing about violence" in answer.text
    assert "reported as the top-level label <strong>Explicit</strong>" in answer.text
    record = _records(
        console_server, principal="moderation-analyst", operation="DetectModerationLabels"
    )[-1]
    assert record["channel"] == "console" and record["parameters"]["MinConfidence"] == 0
    # The page offers no human loop: the request has none.
    assert "HumanLoopConfig" not in record["parameters"]

    nobody = ConsoleClient(console_server)
    nobody.sign_in(*_principal_with(console_server, "moderation-nobody"))
    _refused_and_audited(
        console_server, nobody, "moderation-nobody", "DetectModerationLabels", coffee
    )


@pytest.fixture(scope="module")
def enrolled(console_server: InProcessServer, deepface_images: Path) -> Any:
    """person01, enrolled in the deployment's celebrity store (as ``agnosco celebrities add``
    does), removed afterwards."""
    store = console_server.deployment.celebrities
    assert store is not None
    context = console_server.app.console.context
    descriptors = [
        enrolment_descriptor(
            context.load_image({"Bytes": (deepface_images / name).read_bytes()}), context, name
        )
        for name in ENROLLED
    ]
    celebrity = store.add(
        "Person One",
        descriptors,
        context.face_model.version,
        urls=["https://example.org/person-one"],
    )
    yield celebrity
    store.remove(celebrity.celebrity_id)


@pytest.mark.slow
def test_recognizing_celebrities_is_offered_only_where_policies_permit_it(
    console_server: InProcessServer, enrolled: Any, deepface_images: Path, read_image: Any
) -> None:
    same = (deepface_images / SAME_PERSON).read_bytes()
    couple = read_image("couple.jpg")  # person01 and someone else
    # No policy, ImageAnalyst, Identifier: not offered, refused, audited.
    for name, policies in (
        ("celebrity-nobody", ()),
        ("celebrity-analyst", ("ImageAnalyst",)),
        ("celebrity-identifier", ("Identifier",)),
    ):
        client = ConsoleClient(console_server)
        client.sign_in(*_principal_with(console_server, name, *policies))
        _refused_and_audited(console_server, client, name, "RecognizeCelebrities", same)

    fan = ConsoleClient(console_server)
    fan.sign_in(*_principal_with(console_server, "celebrity-fan", "CelebrityRecognition"))
    page = fan.get("/console/try")
    assert 'value="RecognizeCelebrities"' in page.text
    assert 'id="recognizecelebrities-purpose" name="purpose"' in page.text
    assert "Try an image</a>" in page.text  # the menu offers the page for it alone
    found = _try(fan, "RecognizeCelebrities", SAME_PERSON, same, purpose="press_archive")
    assert found.status == 200, found.text[-2000:]
    [celebrity] = _json(found)["CelebrityFaces"]
    assert celebrity["Id"] == enrolled.celebrity_id
    [(x, title)] = _rects(found)
    assert float(x) == pytest.approx(celebrity["Face"]["BoundingBox"]["Left"])
    assert title == f"Person One ({celebrity['MatchConfidence']:.2f})"
    assert _rects(found, "box unmatched") == []
    row = re.search(
        r"<tr><td>Person One</td><td><code>(\w+)</code></td><td>([\d.]+)</td><td>([^<]+)</td>",
        found.text,
    )
    assert row and row[1] == enrolled.celebrity_id
    assert float(row[2]) == pytest.approx(celebrity["MatchConfidence"], abs=0.006)
    assert html.unescape(row[3]).startswith("at least 99: about 1 in 100,000 pairs")
    assert "0 faces not recognized" in found.text
    record = _records(console_server, principal="celebrity-fan", operation="RecognizeCelebrities")[
        -1
    ]
    assert record["channel"] == "console" and record["purpose"] == "press_archive"
    assert [c["Id"] for c in record["result"]["CelebrityFaces"]] == [enrolled.celebrity_id]

    # couple.jpg: person01 beside someone never enrolled: one solid box named, one dashed.
    pair = _try(fan, "RecognizeCelebrities", "couple.jpg", couple)
    assert pair.status == 200
    shown = _json(pair)
    assert [c["Id"] for c in shown["CelebrityFaces"]] == [enrolled.celebrity_id]
    [unrecognized] = shown["UnrecognizedFaces"]
    assert [t for _, t in _rects(pair)] == [
        f"Person One ({shown['CelebrityFaces'][0]['MatchConfidence']:.2f})"
    ]
    [(x, title)] = _rects(pair, "box unmatched")
    assert title == "Not recognized"
    assert float(x) == pytest.approx(unrecognized["BoundingBox"]["Left"])
    assert "1 face not recognized" in pair.text and "1 of 2 faces of couple.jpg" in pair.text

    # Where policies require review, the page says the match is held, and names no one.
    console_server.deployment.governance.put_policy("CelebrityFourEyes", CELEBRITY_FOUR_EYES)
    held = ConsoleClient(console_server)
    held.sign_in(
        *_principal_with(
            console_server, "celebrity-held", "CelebrityRecognition", "CelebrityFourEyes"
        )
    )
    answer = _try(held, "RecognizeCelebrities", SAME_PERSON, same)
    assert answer.status == 200, answer.text[-2000:]
    assert "held for review" in answer.text and "by 2 reviewers" in answer.text
    assert "No one recognized shown (held for review)." in answer.text
    assert "Person One" not in answer.text and _json(answer)["CelebrityFaces"] == []
    review_id = re.search(r"held for review <code>([0-9a-f-]{36})</code>", answer.text)
    assert review_id
    review = console_server.deployment.reviews.get(review_id[1])
    assert review.principal == "celebrity-held" and review.operation == "RecognizeCelebrities"
