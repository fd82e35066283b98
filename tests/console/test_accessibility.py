"""Every console page, as each shipped policy sees it, is usable without sight of the screen
and without a mouse: each form control has a label (a ``<label for>``, an enclosing
``<label>``, ``aria-label`` or ``aria-labelledby``), ids are unique, every button says what it
does, the skip link leads to the main content; and an unexpected failure is a page in words
with the request id, never a stack trace."""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.console.conftest import ConsoleClient
from tests.console.test_console import FOUR_EYES, _principal_with
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.server.in_process import InProcessServer
from tests.text_images import draw_text, png

#: A principal with each shipped policy the console serves (and one with none at all).
POLICIES = ("Admin", "ReadOnly", "Reviewer", "Auditor", "Identifier", "ImageAnalyst", "Indexer")
#: The pages each of them is shown (a page a policy refuses is a page in words, checked too).
PAGES = (
    "/console/collections",
    "/console/collections/accessible",
    "/console/try",
    "/console/reviews",
    "/console/keys",
    "/console/principals",
    "/console/policies/Admin",
    "/console/evaluations",
    "/console/audit",
    "/console/audit/verify",
    "/console/no-such-page",
)
_UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


@dataclass
class _Control:
    tag: str
    attrs: dict[str, str]
    in_label: bool


@dataclass
class _Page(HTMLParser):
    """The controls, labels, ids and buttons of one page."""

    controls: list[_Control] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)
    buttons: list[tuple[dict[str, str], str]] = field(default_factory=list)
    links: list[tuple[dict[str, str], str]] = field(default_factory=list)
    lang: str | None = None
    _labels: int = 0
    _button: dict[str, str] | None = None
    _link: dict[str, str] | None = None
    _text: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attributes}
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "label":
            self._labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            if tag != "input" or attrs.get("type", "text") not in _UNLABELLED_TYPES:
                self.controls.append(_Control(tag, attrs, self._labels > 0))
            if tag == "input" and attrs.get("type") in ("submit", "button"):
                self.buttons.append((attrs, attrs.get("value", "")))
        elif tag == "button":
            self._button, self._text = attrs, []
        elif tag == "a":
            self._link, self._text = attrs, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._labels -= 1
        elif tag == "button" and self._button is not None:
            self.buttons.append((self._button, "".join(self._text).strip()))
            self._button = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link, "".join(self._text).strip()))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._button is not None or self._link is not None:
            self._text.append(data)


def _problems(text: str) -> list[str]:
    """What keeps a page from being used with a keyboard and a screen reader, in words."""
    page = _Page()
    page.feed(text)
    page.close()
    problems = []
    ids = set(page.ids)
    for control in page.controls:
        a = control.attrs
        named = (
            control.in_label
            or a.get("id", "") in page.label_for
            or a.get("aria-label", "").strip()
            or (a.get("aria-labelledby") and set(a["aria-labelledby"].split()) <= ids)
        )
        if not named:
            problems.append(
                f"<{control.tag} name={a.get('name')!r} id={a.get('id')!r}> has no label"
            )
    for target in page.label_for - ids:
        problems.append(f"a label is for {target!r}, which is no element of the page")
    for duplicate in sorted({i for i in page.ids if page.ids.count(i) > 1}):
        problems.append(f"the id {duplicate!r} is used more than once")
    for attrs, words in page.buttons:
        if not (words or attrs.get("aria-label", "").strip()):
            problems.append(f"a button says nothing: {attrs}")
    for attrs, words in page.links:
        if not (words or attrs.get("aria-label", "").strip()):
            problems.append(f"a link says nothing: {attrs}")
    if page.lang != "en":
        problems.append("the page does not say its language")
    skip = [a for a, words in page.links if words == "Skip to content"]
    if not skip or skip[0].get("href") != "#main" or "main" not in ids:
        problems.append("no skip link to the main content")
    if len(re.findall(r"<h1[ >]", text)) != 1:
        problems.append("not exactly one <h1>")
    return problems


@pytest.fixture(scope="module")
def furnished(console_server: InProcessServer, read_image: Any) -> InProcessServer:
    """A collection with a face and a user, a review pending, a stored policy to edit."""
    image = read_image("couple.jpg")
    admin = console_server.client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    admin.create_collection(CollectionId="accessible")
    admin.index_faces(CollectionId="accessible", Image={"Bytes": image}, ExternalImageId="couple")
    admin.create_user(CollectionId="accessible", UserId="someone")
    governance = console_server.deployment.governance
    governance.put_policy("FourEyes", FOUR_EYES)
    searcher = console_server.client(
        *_principal_with(console_server, "a11y-searcher", "Identifier", "FourEyes")
    )
    searcher.search_faces_by_image(CollectionId="accessible", Image={"Bytes": image})
    return console_server


@pytest.mark.parametrize("policy", [*POLICIES, None])
def test_every_page_labels_every_control_as_each_policy_sees_it(
    furnished: InProcessServer, policy: str | None
) -> None:
    name = f"a11y-{(policy or 'nobody').lower()}"
    client = ConsoleClient(furnished)
    sign_in = client.get("/console/sign-in")
    assert _problems(sign_in.text) == [], "/console/sign-in"
    client.sign_in(*_principal_with(furnished, name, *((policy,) if policy else ())))
    seen = {}
    for path in PAGES:
        answer = client.get(path)
        assert answer.status in (200, 403, 404), (path, answer.status)
        assert _problems(answer.text) == [], (policy, path)
        seen[path] = answer.status
    if policy == "Admin":  # every page opens, with its forms
        assert set(seen.values()) == {200, 404}
        for path, control in (
            ("/console/try", 'name="MinConfidence"'),
            ("/console/try", 'name="Features.IMAGE_PROPERTIES"'),
            ("/console/try", 'value="RecognizeCelebrities"'),
            ("/console/reviews", 'name="reason"'),
            ("/console/principals", 'name="document"'),
            ("/console/collections/accessible", 'name="user_id"'),
            ("/console/audit", 'name="principal"'),
        ):
            assert control in client.get(path).text, path
    # The pages answering a form: a tried image, a key made (its secret shown), a policy
    # refused by validation (the editor shown again with why).
    token = client.get("/console/collections").csrf()
    sign = png(draw_text(["Label every control"]).image)
    for operation, fields in (
        ("DetectFaces", {}),
        ("DetectText", {}),
        ("DetectLabels", {"Features.GENERAL_LABELS": "on", "Features.IMAGE_PROPERTIES": "on"}),
        ("DetectModerationLabels", {}),
        ("RecognizeCelebrities", {}),
    ):
        answer = client.post(
            "/console/try",
            {"csrf": token, "operation": operation, **fields},
            files={"image": ("sign.png", "image/png", sign)},
        )
        assert _problems(answer.text) == [], (policy, operation)
    for path, form in (
        ("/console/keys", {"principal": name}),
        ("/console/policies", {"name": "Broken", "document": "{"}),
        ("/console/collections", {"collection_id": "no spaces!"}),
    ):
        answer = client.post(path, form | {"csrf": token})
        assert answer.status in (200, 400, 403), (policy, path, answer.status)
        assert _problems(answer.text) == [], (policy, path)


def test_the_checker_finds_what_it_looks_for() -> None:
    page = (
        '<html lang="en"><a class="skip" href="#main">Skip to content</a><main id="main"><h1>x</h1>'
        '<input name="a"><label for="b">B</label><input id="b"><input id="b" aria-label="again">'
        '<label for="gone">?</label><label>C <select name="c"></select></label>'
        '<textarea aria-labelledby="nowhere"></textarea><input type="hidden" name="csrf">'
        "<button></button></main></html>"
    )
    assert _problems(page) == [
        "<input name='a' id=None> has no label",
        "<textarea name=None id=None> has no label",
        "a label is for 'gone', which is no element of the page",
        "the id 'b' is used more than once",
        "a button says nothing: {}",
    ]


def test_an_unexpected_failure_is_a_page_with_the_request_id(
    browser: ConsoleClient, console_server: InProcessServer, monkeypatch, caplog
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("a secret detail at /srv/agnosco/console.py line 1")

    monkeypatch.setattr(console_server.app.console, "_stored_evaluations", broken)
    browser.sign_in()
    with caplog.at_level(logging.ERROR, logger="agnosco.console"):
        answer = browser.get("/console/evaluations")
    assert answer.status == 500
    request_id = answer.header("x-amzn-requestid")
    assert request_id and f"under request id {request_id}" in answer.text
    assert "Something went wrong on the server" in answer.text
    for trace in ("Traceback", "RuntimeError", "secret detail", 'File "', "console.py"):
        assert trace not in html.unescape(answer.text)
    assert answer.header("content-security-policy").startswith("default-src 'none'")
    # The server's log has the failure, under that request id.
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info and "secret detail" in str(logged[0].exc_info[1])


def test_an_export_that_fails_while_sent_is_cut_short(
    browser: ConsoleClient, console_server: InProcessServer, monkeypatch, caplog
) -> None:
    audit = console_server.deployment.audit

    def failing(**query: object):  # type: ignore[no-untyped-def]
        yield json.dumps({"seq": 1}) + "\n"
        raise RuntimeError("the database went away")

    browser.sign_in()
    monkeypatch.setattr(audit, "export_lines", failing)
    monkeypatch.setattr("agnosco.console.app.EXPORT_CHUNK", 1)
    with (
        caplog.at_level(logging.ERROR, logger="agnosco.server"),
        pytest.raises(RuntimeError, match="the database went away"),
    ):
        browser.get("/console/audit/export")
    assert any("cut short" in r.getMessage() for r in caplog.records)
