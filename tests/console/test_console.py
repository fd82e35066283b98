"""The console through the server's app in process: sign-in, sessions, CSRF, the gate."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import sqlite3
import time
from pathlib import Path

import pytest

from tests.console.conftest import ConsoleClient
from tests.server.conftest import ACCESS_KEY_ID
from tests.server.in_process import InProcessServer


def _records(server: InProcessServer, **match: object) -> list[dict]:  # type: ignore[type-arg]
    return [
        r for r in server.deployment.audit.records() if all(r.get(k) == v for k, v in match.items())
    ]


def _principal_with(server: InProcessServer, name: str, *policies: str) -> tuple[str, str]:
    governance = server.deployment.governance
    governance.ensure_principal(name)
    for policy in policies:
        governance.attach(policy, name)
    key = server.deployment.keys.create(name)
    return key.access_key_id, key.secret_access_key


def _no_trace(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text


def test_signing_in_gives_a_strict_http_only_session(browser: ConsoleClient, console_server):
    first = browser.get("/console")
    assert first.status == 303 and first.header("location") == "/console/sign-in?next=/console"
    page = browser.get("/console/sign-in")
    assert page.status == 200
    assert (
        '<label for="access_key_id">' in page.text
        and '<label for="secret_access_key">' in page.text
    )
    answer = browser.sign_in()
    assert answer.status == 303 and answer.header("location") == "/console/"
    landing = browser.get("/console/")  # the first page the principal may open
    assert landing.status == 303 and landing.header("location") == "/console/collections"
    session = next(c for c in answer.all("set-cookie") if c.startswith("agnosco_session="))
    attributes = [a.strip() for a in session.split(";")[1:]]
    assert {"HttpOnly", "SameSite=Strict", "Path=/console"} <= set(attributes)
    max_age = next(int(a.split("=")[1]) for a in attributes if a.startswith("Max-Age="))
    assert 0 < max_age <= 24 * 3600
    home = browser.get("/console/collections")
    assert home.status == 200
    assert "Signed in as <strong>admin</strong>" in home.text
    assert home.header("content-security-policy").startswith("default-src 'none'")
    # Only the token's hash is kept: the database holds no usable session token.
    token = browser.cookies["agnosco_session"]
    with sqlite3.connect(Path(console_server.data_dir) / "agnosco.db") as db:
        stored = [r[0] for r in db.execute("SELECT token_hash FROM console_sessions")]
    assert stored and token not in stored
    signed_in = _records(console_server, operation="agnosco:ConsoleSignIn", decision="Allow")
    assert signed_in[-1]["channel"] == "console" and signed_in[-1]["principal"] == "admin"


def test_a_wrong_secret_or_unknown_key_opens_no_session(browser: ConsoleClient, console_server):
    before = len(_records(console_server, operation="agnosco:ConsoleSignIn", decision="Deny"))
    for key_id, secret in ((ACCESS_KEY_ID, "not-the-secret"), ("AKIANOSUCHKEY0000000", "x")):
        answer = browser.sign_in(key_id, secret)
        assert answer.status == 400
        assert "The access key id or the secret is wrong" in answer.text
        assert "agnosco_session" not in browser.cookies
        _no_trace(answer.text)
    assert browser.get("/console/collections").status == 303  # back to sign-in
    # The page a failed sign-in was to lead to is kept for the next attempt.
    page = browser.get("/console/sign-in?next=/console/audit")
    again = browser.post(
        "/console/sign-in",
        {
            "csrf": page.csrf(),
            "next": "/console/audit",
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": "wrong",
        },
    )
    assert 'name="next" value="/console/audit"' in again.text
    answer = browser.post(
        "/console/sign-in",
        {
            "csrf": again.csrf(),
            "next": "/console/audit",
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": _admin()[1],
        },
    )
    assert answer.header("location") == "/console/audit"
    evil = browser.get("/console/sign-in?next=https://elsewhere.example/")
    assert 'name="next" value=""' in evil.text  # never another site
    refused = _records(console_server, operation="agnosco:ConsoleSignIn", decision="Deny")
    assert len(refused) == before + 3  # two above, one keeping its next page
    assert refused[-1]["principal"] is None and refused[-1]["channel"] == "console"
    assert "not-the-secret" not in json.dumps(refused)


def test_a_sign_in_form_not_from_the_console_is_refused(browser: ConsoleClient):
    answer = browser.post(
        "/console/sign-in",
        {"csrf": "forged", "access_key_id": ACCESS_KEY_ID, "secret_access_key": "x"},
    )
    assert answer.status == 400 and "did not come from this page" in answer.text
    assert "agnosco_session" not in browser.cookies


def test_a_change_without_the_csrf_token_is_refused_and_audited(
    browser: ConsoleClient, console_server
):
    browser.sign_in()
    rekognition = console_server.client(*_admin())
    for form in ({"collection_id": "csrf-victim"}, {"collection_id": "csrf-victim", "csrf": "x"}):
        answer = browser.post("/console/collections", form)
        assert answer.status == 403
        assert "security token is missing or wrong" in answer.text
        _no_trace(answer.text)
    # Even with the right token, a form posted from another site's page is refused.
    token = browser.get("/console/collections").csrf()
    answer = browser.post(
        "/console/collections",
        {"collection_id": "csrf-victim", "csrf": token},
        headers={"origin": "https://elsewhere.example"},
    )
    assert answer.status == 403
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.describe_collection(CollectionId="csrf-victim")
    refused = _records(console_server, operation="agnosco:ConsoleForm", decision="Deny")
    assert len(refused) >= 3 and refused[-1]["principal"] == "admin"


def _admin() -> tuple[str, str]:
    from tests.server.conftest import SECRET_ACCESS_KEY

    return ACCESS_KEY_ID, SECRET_ACCESS_KEY


def test_creating_and_deleting_a_collection_go_through_the_gate(
    browser: ConsoleClient, console_server
):
    browser.sign_in()
    rekognition = console_server.client(*_admin())
    token = browser.get("/console/collections").csrf()
    answer = browser.post("/console/collections", {"collection_id": "from-console", "csrf": token})
    assert answer.status == 303
    assert answer.header("location") == "/console/collections/from-console?created=1"
    assert rekognition.describe_collection(CollectionId="from-console")["FaceCount"] == 0
    created = _records(console_server, operation="CreateCollection", collection="from-console")
    assert [r.get("phase") for r in created] == ["intent", None]
    assert all(r["channel"] == "console" and r["decision"] == "Allow" for r in created)
    page = browser.get("/console/collections/from-console?created=1")
    assert page.status == 200 and "The collection was created." in page.text
    assert "No face images are stored" in page.text
    listing = browser.get("/console/collections")
    assert re.search(r'<a href="/console/collections/from-console">from-console</a>', listing.text)
    # Deleting asks for the id typed again; a mismatch deletes nothing.
    wrong = browser.post(
        "/console/collections/from-console/delete", {"confirm": "other", "csrf": token}
    )
    assert wrong.status == 400 and "Nothing was deleted" in wrong.text
    assert rekognition.describe_collection(CollectionId="from-console")
    deleted = browser.post(
        "/console/collections/from-console/delete", {"confirm": "from-console", "csrf": token}
    )
    assert deleted.status == 303
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.describe_collection(CollectionId="from-console")
    # An invalid id is the operation's own error, shown in words.
    bad = browser.post("/console/collections", {"collection_id": "no spaces!", "csrf": token})
    assert bad.status == 400 and "InvalidParameterException" in bad.text
    _no_trace(bad.text)


def test_a_missing_collection_is_a_page_in_words(browser: ConsoleClient):
    browser.sign_in()
    answer = browser.get("/console/collections/no-such-collection")
    assert answer.status == 404 and "ResourceNotFoundException" in answer.text
    _no_trace(answer.text)
    assert browser.get("/console/nowhere").status == 404


def test_read_only_sees_read_only_pages_and_is_refused_a_change(
    browser: ConsoleClient, console_server
):
    key = _principal_with(console_server, "reader", "ReadOnly")
    rekognition = console_server.client(*_admin())
    rekognition.create_collection(CollectionId="read-only-sees-this")
    browser.sign_in(*key)
    listing = browser.get("/console/collections")
    assert listing.status == 200 and "read-only-sees-this" in listing.text
    assert "do not allow creating collections" in listing.text
    assert 'name="collection_id"' not in listing.text  # no create form offered
    page = browser.get("/console/collections/read-only-sees-this")
    assert page.status == 200 and "do not allow deleting" in page.text
    # The form sent anyway (with its session's token) is refused by the gate, audited.
    token = listing.csrf()
    refused = browser.post("/console/collections", {"collection_id": "by-reader", "csrf": token})
    assert refused.status == 403
    assert "Your policies do not allow this" in refused.text
    assert "rekognition:CreateCollection" in refused.text
    _no_trace(refused.text)
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.describe_collection(CollectionId="by-reader")
    record = _records(console_server, principal="reader", operation="CreateCollection")[-1]
    assert record["decision"] == "Deny" and record["channel"] == "console"
    assert record["error"] == "AccessDeniedException" and record["access_key_id"] == key[0]
    # Nor may ReadOnly read the audit log or decide reviews.
    assert browser.get("/console/audit").status == 403
    assert browser.get("/console/reviews").status == 403
    rekognition.delete_collection(CollectionId="read-only-sees-this")


def test_revoking_the_key_ends_its_sessions(browser: ConsoleClient, console_server):
    key_id, secret = _principal_with(console_server, "revokee", "ReadOnly")
    other = ConsoleClient(console_server)
    browser.sign_in(key_id, secret)
    other.sign_in(key_id, secret)
    assert browser.get("/console/collections").status == 200
    assert other.get("/console/collections").status == 200
    console_server.deployment.keys.revoke(key_id)
    answer = browser.get("/console/collections")
    assert answer.status == 303 and answer.header("location").startswith("/console/sign-in")
    assert other.get("/console/collections").status == 303
    with sqlite3.connect(Path(console_server.data_dir) / "agnosco.db") as db:
        left = db.execute(
            "SELECT COUNT(*) FROM console_sessions WHERE access_key_id = ?", (key_id,)
        ).fetchone()[0]
    assert left == 0
    # And signing in again with it is refused.
    assert browser.sign_in(key_id, secret).status == 400


def test_signing_in_again_ends_the_session_held_before(browser: ConsoleClient):
    browser.sign_in()
    before = dict(browser.cookies)
    browser.sign_in()
    assert browser.cookies["agnosco_session"] != before["agnosco_session"]
    assert browser.get("/console/collections").status == 200
    browser.cookies = before
    assert browser.get("/console/collections").status == 303


def test_signing_out_ends_the_session(browser: ConsoleClient):
    browser.sign_in()
    token = browser.get("/console/collections").csrf()
    kept = dict(browser.cookies)
    answer = browser.post("/console/sign-out", {"csrf": token})
    assert answer.status == 303 and "agnosco_session" not in browser.cookies
    browser.cookies = kept  # the old cookie, replayed, opens nothing
    assert browser.get("/console/collections").status == 303


def test_the_audit_log_page_filters_verifies_and_exports(browser: ConsoleClient, console_server):
    browser.sign_in()
    browser.get("/console/collections")
    page = browser.get("/console/audit?principal=admin&operation=ListCollections")
    assert page.status == 200
    rows = re.findall(r"<tr><td>(\d+)</td>", page.text)
    assert rows and all(
        r["principal"] == "admin" and r["operation"] == "ListCollections"
        for r in console_server.deployment.audit.records()
        if str(r["seq"]) in rows
    )
    today = dt.datetime.now(dt.UTC).date()
    todays = browser.get(f"/console/audit?principal=admin&since={today}&until={today}")
    assert re.findall(r"<tr><td>(\d+)</td>", todays.text)
    yesterday = today - dt.timedelta(days=1)
    before = browser.get(f"/console/audit?until={yesterday}")
    assert before.status == 200 and "No records match." in before.text
    assert browser.get("/console/audit?since=last-tuesday").status == 400
    verified = browser.get("/console/audit/verify")
    assert verified.status == 200 and "The chain verifies" in verified.text
    exported = browser.get("/console/audit/export?operation=agnosco:ConsoleSignIn")
    assert exported.status == 200
    assert exported.header("content-disposition").startswith("attachment;")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert lines and all(r["operation"] == "agnosco:ConsoleSignIn" for r in lines)
    assert len(lines) == len(_records(console_server, operation="agnosco:ConsoleSignIn"))
    # Reading the log is itself recorded.
    assert _records(console_server, operation="agnosco:VerifyAuditLog")[-1]["channel"] == "console"


def test_trying_an_image_shows_its_boxes_and_stores_nothing(
    browser: ConsoleClient, console_server, read_image
):
    image = read_image("couple.jpg")
    browser.sign_in()
    token = browser.get("/console/try").csrf()
    answer = browser.post(
        "/console/try",
        {"csrf": token, "attributes": "DEFAULT"},
        files={"image": ("couple.jpg", "image/jpeg", image)},
    )
    assert answer.status == 200, answer.text[:2000]
    boxes = re.findall(r'<rect class="box" data-face="\d+"', answer.text)
    record = _records(console_server, operation="DetectFaces")[-1]
    assert record["channel"] == "console" and record["result"]["FaceCount"] == len(boxes) == 2
    assert record["images"][0]["bytes"] == len(image)
    shown = json.loads(html.unescape(re.search(r"<pre>(.*?)</pre>", answer.text, re.DOTALL)[1]))
    assert len(shown["FaceDetails"]) == 2 and "data:image/jpeg;base64," in answer.text
    no_image = browser.post(
        "/console/try",
        {"csrf": token, "attributes": "DEFAULT"},
        files={"image": ("notes.txt", "text/plain", b"not an image")},
    )
    assert no_image.status == 400 and "InvalidImageFormatException" in no_image.text
    _no_trace(no_image.text)


FOUR_EYES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FourEyes",
                "Effect": "Deny",
                "Action": "rekognition:Search*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"agnosco:RequiredReviewers": 2}},
            }
        ],
    }
)


def test_a_two_person_review_is_decided_by_two_reviewers(console_server, read_image):
    image = read_image("couple.jpg")
    admin = console_server.client(*_admin())
    admin.create_collection(CollectionId="reviewed")
    admin.index_faces(CollectionId="reviewed", Image={"Bytes": image}, ExternalImageId="couple")
    console_server.deployment.governance.put_policy("FourEyes", FOUR_EYES)
    searcher = console_server.client(
        *_principal_with(console_server, "searcher", "Identifier", "FourEyes")
    )
    answer = searcher.search_faces_by_image(CollectionId="reviewed", Image={"Bytes": image})
    assert answer["FaceMatches"] == []  # withheld until reviewed
    review_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-agnosco-review-id"]
    first, second = ConsoleClient(console_server), ConsoleClient(console_server)
    first.sign_in(*_principal_with(console_server, "reviewer-a", "Reviewer"))
    second.sign_in(*_principal_with(console_server, "reviewer-b", "Reviewer"))
    page = first.get("/console/reviews")
    assert page.status == 200 and review_id in page.text
    assert "2 different reviewers (two-person rule); 0 confirmed so far" in page.text
    assert "Similarity 99.0 or more: about 1 in 100,000 pairs" in page.text
    # Each candidate's Similarity in words: the image searched for itself scores 99 or more.
    assert "at least 99: about 1 in 100,000 pairs of different people or fewer" in page.text
    token = page.csrf()
    no_reason = first.post(f"/console/reviews/{review_id}", {"decision": "confirm", "csrf": token})
    assert no_reason.status == 400 and "needs a reason" in no_reason.text
    decided = first.post(
        f"/console/reviews/{review_id}",
        {"decision": "confirm", "reason": "same person, checked the ID card", "csrf": token},
    )
    assert (
        decided.status == 303 and decided.header("location") == "/console/reviews?decided=PENDING"
    )
    again = first.get("/console/reviews")
    assert "1 confirmed so far" in again.text and "another reviewer must decide it" in again.text
    twice = first.post(
        f"/console/reviews/{review_id}", {"decision": "confirm", "reason": "again", "csrf": token}
    )
    assert twice.status in (400, 409) and "needs a different reviewer" in twice.text
    assert console_server.deployment.reviews.get(review_id).status == "PENDING"
    token = second.get("/console/reviews").csrf()
    done = second.post(
        f"/console/reviews/{review_id}",
        {"decision": "confirm", "reason": "agree with reviewer-a", "csrf": token},
    )
    assert done.header("location") == "/console/reviews?decided=CONFIRMED"
    review = console_server.deployment.reviews.get(review_id)
    assert review.status == "CONFIRMED"
    assert [d["reviewer"] for d in review.decisions] == ["reviewer-a", "reviewer-b"]
    records = [
        r
        for r in _records(console_server, operation="agnosco:DecideReview")
        if r.get("parameters", {}).get("review_id") == review_id and "phase" not in r
    ]
    assert [(r["principal"], r.get("error")) for r in records] == [
        ("reviewer-a", None),
        ("reviewer-a", "ConflictException"),
        ("reviewer-b", None),
    ]
    assert records[-1]["result"]["status"] == "CONFIRMED"
    assert all(r["channel"] == "console" for r in records)
    # A searcher may not decide its own review.
    own = ConsoleClient(console_server)
    own.sign_in(*_principal_with(console_server, "searcher-console", "Identifier"))
    assert own.get("/console/reviews").status == 403
    admin.delete_collection(CollectionId="reviewed")


def test_a_policy_can_keep_a_principal_out_of_the_console(browser: ConsoleClient, console_server):
    console_server.deployment.governance.put_policy(
        "ApiOnly",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "NotFromTheConsole",
                        "Effect": "Deny",
                        "Action": ["rekognition:*", "agnosco:*"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"agnosco:Channel": "console"}},
                    }
                ],
            }
        ),
    )
    key = _principal_with(console_server, "api-only", "ReadOnly", "ApiOnly")
    assert "CollectionIds" in console_server.client(*key).list_collections()  # the API: allowed
    browser.sign_in(*key)
    refused = browser.get("/console/collections")
    assert refused.status == 403 and "Your policies do not allow this" in refused.text
    record = _records(console_server, principal="api-only", operation="ListCollections")[-1]
    assert record["decision"] == "Deny" and "NotFromTheConsole" in record["reason"]


def test_an_admin_creates_a_key_shown_once_and_revokes_it_ending_its_sessions(
    browser: ConsoleClient, console_server
):
    console_server.deployment.governance.ensure_principal("keyholder")
    console_server.deployment.governance.attach("ReadOnly", "keyholder")
    browser.sign_in()
    page = browser.get("/console/keys")
    assert page.status == 200 and ACCESS_KEY_ID in page.text
    created = browser.post("/console/keys", {"principal": "keyholder", "csrf": page.csrf()})
    assert created.status == 200 and "The secret is shown only now" in created.text
    key_id = re.search(r'<code id="new-key-id">([^<]+)</code>', created.text)[1]
    secret = html.unescape(re.search(r'<code id="new-key-secret">([^<]+)</code>', created.text)[1])
    api = console_server.client(key_id, secret)
    assert "CollectionIds" in api.list_collections()
    record = _records(console_server, operation="agnosco:CreateAccessKey")[-1]
    assert record["result"] == {"AccessKeyId": key_id} and record["channel"] == "console"
    assert secret not in json.dumps(list(console_server.deployment.audit.records()))
    assert "The secret is shown only now" not in browser.get("/console/keys").text
    # A key for nobody is refused, and audited with its error.
    nobody = browser.post("/console/keys", {"principal": "nobody-at-all", "csrf": page.csrf()})
    assert nobody.status == 404 and "nobody-at-all does not exist" in nobody.text
    # Its holder signs in; ReadOnly may neither see the keys nor revoke one.
    holder = ConsoleClient(console_server)
    holder.sign_in(key_id, secret)
    assert holder.get("/console/keys").status == 403
    token = holder.get("/console/collections").csrf()
    assert "Access keys</a>" not in holder.get("/console/collections").text
    refused = holder.post(f"/console/keys/{ACCESS_KEY_ID}/revoke", {"csrf": token})
    assert refused.status == 403
    assert console_server.deployment.keys.owner(ACCESS_KEY_ID) is not None
    record = _records(console_server, operation="agnosco:RevokeAccessKey")[-1]
    assert record["principal"] == "keyholder" and record["decision"] == "Deny"
    # The admin revokes it: the API refuses it and its console session has ended.
    revoked = browser.post(f"/console/keys/{key_id}/revoke", {"csrf": page.csrf()})
    assert revoked.status == 303 and revoked.header("location") == f"/console/keys?revoked={key_id}"
    assert holder.get("/console/collections").status == 303
    with pytest.raises(api.exceptions.ClientError, match="UnrecognizedClientException"):
        api.list_collections()
    record = _records(console_server, operation="agnosco:RevokeAccessKey")[-1]
    assert record["principal"] == "admin" and record["result"] == {"SessionsEnded": 1}


def test_an_admin_manages_principals_and_policies(browser: ConsoleClient, console_server):
    browser.sign_in()
    page = browser.get("/console/principals")
    assert page.status == 200 and "Principals and policies</a>" in page.text
    token = page.csrf()
    made = browser.post(
        "/console/principals",
        {"name": "analyst", "organization_type": "research", "csrf": token},
    )
    assert made.status == 303
    assert console_server.deployment.governance.principal("analyst").organization_type == "research"
    assert (
        browser.post(
            "/console/principals/analyst/attach", {"policy": "Identifier", "csrf": token}
        ).status
        == 303
    )
    assert console_server.deployment.governance.principal("analyst").policies == ("Identifier",)
    listing = browser.get("/console/principals")
    assert 'href="/console/policies/Identifier">Identifier</a>' in listing.text
    assert (
        browser.post("/console/principals/analyst/detach/Identifier", {"csrf": token}).status == 303
    )
    assert console_server.deployment.governance.principal("analyst").policies == ()
    # The editor validates as the server does: a bad document is shown back with why.
    broken = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rekognition:*"}]}'
    )
    refused = browser.post(
        "/console/policies", {"name": "Broken", "document": broken, "csrf": token}
    )
    assert refused.status == 400
    assert (
        "nothing was stored" in refused.text
        and "exactly one of Resource, NotResource" in refused.text
    )
    editor = re.search(r'<textarea id="document"[^>]*>(.*?)</textarea>', refused.text, re.DOTALL)
    assert html.unescape(editor[1]) == broken  # the document as sent, to fix
    assert "Broken" not in console_server.deployment.governance.list_policies()
    builtin = browser.post(
        "/console/policies", {"name": "Admin", "document": broken, "csrf": token}
    )
    assert builtin.status == 400 and "cannot be replaced" in builtin.text
    good = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "rekognition:DetectFaces", "Resource": "*"}
            ],
        }
    )
    stored = browser.post(
        "/console/policies", {"name": "DetectOnly", "document": good, "csrf": token}
    )
    assert stored.status == 303
    assert console_server.deployment.governance.get_policy("DetectOnly").statements
    shown = browser.get("/console/policies/DetectOnly")
    assert shown.status == 200 and "rekognition:DetectFaces" in shown.text
    kinds = [
        (r["operation"], r.get("error"))
        for r in _records(console_server, principal="admin", channel="console")
        if r["operation"]
        in (
            "agnosco:CreatePrincipal",
            "agnosco:AttachPolicy",
            "agnosco:DetachPolicy",
            "agnosco:PutPolicy",
        )
        and "phase" not in r
    ]
    assert kinds[-6:] == [
        ("agnosco:CreatePrincipal", None),
        ("agnosco:AttachPolicy", None),
        ("agnosco:DetachPolicy", None),
        ("agnosco:PutPolicy", "MalformedPolicyDocumentException"),
        ("agnosco:PutPolicy", "InvalidParameterException"),
        ("agnosco:PutPolicy", None),
    ]
    # ReadOnly may not see them, nor attach itself a policy.
    reader = ConsoleClient(console_server)
    reader.sign_in(*_principal_with(console_server, "reader-two", "ReadOnly"))
    assert reader.get("/console/principals").status == 403
    token = reader.get("/console/collections").csrf()
    assert (
        reader.post(
            "/console/principals/reader-two/attach", {"policy": "Admin", "csrf": token}
        ).status
        == 403
    )
    assert console_server.deployment.governance.principal("reader-two").policies == ("ReadOnly",)


def test_searching_a_collection_shows_matches_or_holds_them_for_review(
    browser: ConsoleClient, console_server, read_image
):
    image = read_image("couple.jpg")
    admin = console_server.client(*_admin())
    admin.create_collection(CollectionId="searched")
    admin.index_faces(CollectionId="searched", Image={"Bytes": image}, ExternalImageId="couple")
    browser.sign_in()
    page = browser.get("/console/try")
    assert '<option value="searched">searched</option>' in page.text
    form = {
        "csrf": page.csrf(),
        "operation": "SearchFacesByImage",
        "collection_id": "searched",
        "FaceMatchThreshold": "95",
    }
    files = {"image": ("couple.jpg", "image/jpeg", image)}
    found = browser.post("/console/try", form, files=files)
    assert found.status == 200, found.text[-2000:]
    rows = re.findall(r"<tr><td><code>([0-9a-f-]{36})</code></td><td>couple</td>", found.text)
    assert len(rows) == 1  # the largest face of the image is itself in the collection
    assert len(re.findall(r'<rect class="box"', found.text)) == 1  # the searched face's box
    record = _records(console_server, operation="SearchFacesByImage")[-1]
    assert record["channel"] == "console" and record["parameters"]["FaceMatchThreshold"] == 95
    assert record["purpose"] is None
    assert record["result"]["FaceMatches"][0]["FaceId"] == rows[0]
    # A declared purpose is what policies see, and the record keeps.
    browser.post("/console/try", form | {"purpose": "missing_persons"}, files=files)
    record = _records(console_server, operation="SearchFacesByImage")[-1]
    assert record["purpose"] == "missing_persons"
    bad = browser.post("/console/try", form | {"MaxFaces": "many"}, files=files)
    assert bad.status == 400 and "MaxFaces must be a number" in bad.text
    # Under a policy requiring two reviewers, the page holds the match back and says so.
    console_server.deployment.governance.put_policy("FourEyes", FOUR_EYES)
    held = ConsoleClient(console_server)
    held.sign_in(*_principal_with(console_server, "console-searcher", "Identifier", "FourEyes"))
    token = held.get("/console/try").csrf()
    answer = held.post("/console/try", form | {"csrf": token}, files=files)
    assert answer.status == 200
    assert "held for review" in answer.text and "by 2 reviewers" in answer.text
    assert "<td>couple</td>" not in answer.text
    review_id = re.search(r"held for review <code>([0-9a-f-]{36})</code>", answer.text)[1]
    assert console_server.deployment.reviews.get(review_id).principal == "console-searcher"
    admin.delete_collection(CollectionId="searched")


def test_an_address_failing_to_sign_in_again_and_again_must_wait(console_server):
    console = console_server.app.console
    clock = [1000.0]
    console._monotonic = lambda: clock[0]
    try:
        guesser = ConsoleClient(console_server, ("10.9.8.7", 40000))
        for _ in range(10):
            assert guesser.sign_in(ACCESS_KEY_ID, "guess").status == 400
        # The right secret, now, from that address: refused, in words.
        answer = guesser.sign_in()
        assert answer.status == 429 and "Too many failed sign-ins" in answer.text
        assert "try again in 5 minutes" in answer.text
        assert "agnosco_session" not in guesser.cookies
        refused = _records(console_server, operation="agnosco:ConsoleSignIn")[-1]
        assert refused["decision"] == "Deny" and "too many failed" in refused["reason"]
        # Another address is not held back; and the first may try again once they age out.
        assert ConsoleClient(console_server, ("10.9.8.6", 40000)).sign_in().status == 303
        clock[0] += 301
        assert guesser.sign_in().status == 303
    finally:
        console._monotonic = time.monotonic


def test_stored_evaluations_are_listed_and_opened_in_a_sandbox(
    browser: ConsoleClient, console_server, tmp_path: Path
):
    from agnosco.evaluation.records import save_evaluation
    from tests.evaluation.conftest import synthetic_evaluation

    browser.sign_in()
    empty = browser.get("/console/evaluations")
    assert empty.status == 200 and "No evaluation is stored" in empty.text
    report = synthetic_evaluation("impostor-only", tmp_path / "images").report
    folder = save_evaluation(
        console_server.data_dir, report, "<!DOCTYPE html><title>the report</title><p>measured</p>"
    )
    listing = browser.get("/console/evaluations")
    assert f'href="/console/evaluations/{folder.name}"' in listing.text
    opened = browser.get(f"/console/evaluations/{folder.name}")
    assert opened.status == 200 and "<p>measured</p>" in opened.text
    policies = opened.all("content-security-policy")
    assert len(policies) == 1 and policies[0].endswith("sandbox")
    assert browser.get("/console/evaluations/no-such-report").status == 404
    record = _records(console_server, operation="agnosco:ListEvaluations")[-1]
    assert record["channel"] == "console" and record["error"] == "ResourceNotFoundException"
    reader = ConsoleClient(console_server)
    reader.sign_in(*_principal_with(console_server, "reader-three", "ReadOnly"))
    assert reader.get(f"/console/evaluations/{folder.name}").status == 403


@pytest.mark.parametrize(
    "similarity, words",
    [
        (79.99, "below 80: more than 1 in 100 pairs"),
        (80.0, "at least 80: about 1 in 100 pairs"),
        (94.99, "at least 90: about 1 in 1,000 pairs"),
        (95.0, "at least 95: about 1 in 10,000 pairs"),
        (100.0, "at least 99: about 1 in 100,000 pairs"),
        (None, "-"),
    ],
)
def test_a_similarity_is_told_as_a_false_match_rate(similarity, words):
    from agnosco.console.app import _fmr_band

    assert _fmr_band(similarity).startswith(words)


def test_comparing_faces_draws_matches_and_the_faces_that_do_not_match(
    browser: ConsoleClient, console_server, read_image
):
    image = read_image("couple.jpg")
    browser.sign_in()
    token = browser.get("/console/try").csrf()
    files = {
        "source": ("couple.jpg", "image/jpeg", image),
        "target": ("again.jpg", "image/jpeg", image),
    }
    answer = browser.post("/console/try", {"csrf": token, "operation": "CompareFaces"}, files=files)
    assert answer.status == 200, answer.text[-2000:]
    # The source's largest face is one of the target's two: one match, one face unmatched.
    assert len(re.findall(r"<tr><td>Match \d+</td>", answer.text)) == 1
    assert "1 face of the target did not match" in answer.text
    assert len(re.findall(r'<rect class="box unmatched"', answer.text)) == 1
    assert len(re.findall(r'<rect class="box" ', answer.text)) == 2  # source face, the match
    record = _records(console_server, operation="CompareFaces")[-1]
    assert record["channel"] == "console"
    assert [i["member"] for i in record["images"]] == ["SourceImage", "TargetImage"]
    missing = browser.post(
        "/console/try",
        {"csrf": token, "operation": "CompareFaces"},
        files={"source": files["source"]},
    )
    assert missing.status == 400 and "a source image and a target image" in missing.text


def test_users_are_created_and_deleted_through_the_gate(browser: ConsoleClient, console_server):
    admin = console_server.client(*_admin())
    admin.create_collection(CollectionId="with-users")
    browser.sign_in()
    page = browser.get("/console/collections/with-users")
    assert "No users in this collection." in page.text
    made = browser.post(
        "/console/collections/with-users/users", {"user_id": "alice", "csrf": page.csrf()}
    )
    assert made.status == 303
    shown = browser.get(made.header("location"))
    assert "Done: created user alice." in shown.text and "<code>alice</code>" in shown.text
    assert [u["UserId"] for u in admin.list_users(CollectionId="with-users")["Users"]] == ["alice"]
    gone = browser.post("/console/collections/with-users/users/alice/delete", {"csrf": page.csrf()})
    assert gone.status == 303 and admin.list_users(CollectionId="with-users")["Users"] == []
    kinds = [
        (r["operation"], r["resource"].rsplit(":", 1)[1])
        for r in _records(console_server, channel="console", collection="with-users")
        if r["operation"] in ("CreateUser", "DeleteUser") and "phase" not in r
    ]
    assert kinds == [
        ("CreateUser", "collection/with-users/user/alice"),
        ("DeleteUser", "collection/with-users/user/alice"),
    ]
    reader = ConsoleClient(console_server)
    reader.sign_in(*_principal_with(console_server, "reader-four", "ReadOnly"))
    page = reader.get("/console/collections/with-users")
    assert 'name="user_id"' not in page.text
    refused = reader.post(
        "/console/collections/with-users/users", {"user_id": "mallory", "csrf": page.csrf()}
    )
    assert refused.status == 403 and admin.list_users(CollectionId="with-users")["Users"] == []
    admin.delete_collection(CollectionId="with-users")


def test_detecting_text_draws_its_lines_and_lists_their_words(
    browser: ConsoleClient, console_server
):
    from tests.text_images import draw_text, png

    drawn = draw_text(["Hello world from Agnosco", "STOP 42 Main Street"])
    image = png(drawn.image)
    analyst = ConsoleClient(console_server)
    analyst.sign_in(*_principal_with(console_server, "text-analyst", "ImageAnalyst"))
    page = analyst.get("/console/try")
    assert page.status == 200 and 'value="DetectText"' in page.text
    assert "Try an image</a>" in page.text  # the menu offers the page
    token = page.csrf()
    answer = analyst.post(
        "/console/try",
        {"csrf": token, "operation": "DetectText"},
        files={"image": ("sign.png", "image/png", image)},
    )
    assert answer.status == 200, answer.text[-2000:]
    assert "2 lines and 8 words of text in sign.png" in answer.text
    polygons = re.findall(
        r'<polygon class="line" points="([^"]+)"><title>Line (\d+): ([^<]+)<', answer.text
    )
    assert [(int(i), html.unescape(t)) for _, i, t in polygons] == list(enumerate(drawn.lines))
    for points, _, _ in polygons:  # each a quadrilateral inside the image
        xy = [tuple(map(float, p.split(","))) for p in points.split(" ")]
        assert len(xy) == 4 and all(0 <= x <= 1 and 0 <= y <= 1 for x, y in xy)
    rows = re.findall(
        r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([\d.]+)</td><td>(.*?)</td></tr>", answer.text
    )
    assert [html.unescape(r[1]) for r in rows] == drawn.lines
    words = re.findall(r'<span class="chip">([^<]+) \(([\d.]+)\)</span>', rows[1][3])
    assert [w for w, _ in words] == ["STOP", "42", "Main", "Street"]
    assert all(80 <= float(c) <= 100 for _, c in words)
    shown = json.loads(html.unescape(re.search(r"<pre>(.*?)</pre>", answer.text, re.DOTALL)[1]))
    assert len(shown["TextDetections"]) == 10
    record = _records(console_server, operation="DetectText")[-1]
    assert record["channel"] == "console" and record["principal"] == "text-analyst"
    assert record["images"][0]["bytes"] == len(image)
    # A word filter from the form: no word is that confident, so none is returned.
    none = analyst.post(
        "/console/try",
        {"csrf": token, "operation": "DetectText", "MinConfidence": "100"},
        files={"image": ("sign.png", "image/png", image)},
    )
    assert none.status == 200 and "No text found." in none.text
    assert _records(console_server, operation="DetectText")[-1]["parameters"] == {
        "Filters": {"WordFilter": {"MinConfidence": 100.0}}
    }
    bad = analyst.post(
        "/console/try",
        {"csrf": token, "operation": "DetectText", "MinConfidence": "high"},
        files={"image": ("sign.png", "image/png", image)},
    )
    assert bad.status == 400 and "MinConfidence must be a number" in bad.text
    unknown = analyst.post(
        "/console/try",
        {"csrf": token, "operation": "IndexFaces"},
        files={"image": ("sign.png", "image/png", image)},
    )
    assert unknown.status == 400 and "does not run this operation" in unknown.text
    # ReadOnly is not offered the form, and is refused the call sent anyway (audited).
    reader = ConsoleClient(console_server)
    reader.sign_in(*_principal_with(console_server, "text-reader", "ReadOnly"))
    page = reader.get("/console/try")
    assert 'value="DetectText"' not in page.text and "do not allow DetectText" in page.text
    refused = reader.post(
        "/console/try",
        {"csrf": page.csrf(), "operation": "DetectText"},
        files={"image": ("sign.png", "image/png", image)},
    )
    assert refused.status == 403 and "Your policies do not allow this" in refused.text
    record = _records(console_server, principal="text-reader", operation="DetectText")[-1]
    assert record["decision"] == "Deny" and record["channel"] == "console"
