"""The console's usage page: the month's usage by principal and collection, its chart drawn by
the server (inline SVG, its figures also in a table), the month picker, and the same policy
(``agnosco:ReadUsage``) deciding who may read it."""

from __future__ import annotations

import re
import time

from agnosco.governance.usage import month_of
from tests.console.conftest import ConsoleClient
from tests.server.in_process import InProcessServer


def _principal_with(server: InProcessServer, name: str, *policies: str) -> tuple[str, str]:
    governance = server.deployment.governance
    governance.ensure_principal(name)
    for policy in policies:
        governance.attach(policy, name)
    key = server.deployment.keys.create(name)
    return key.access_key_id, key.secret_access_key


def _metered(server: InProcessServer, principal: str, operation: str, images: int) -> None:
    """A successful image call's record, as the gate appends it (the meter counts it)."""
    server.deployment.audit.append(
        {
            "time": time.time(),
            "principal": principal,
            "operation": operation,
            "collection": None,
            "decision": "Allow",
            "reason": "test",
            "images": [{"member": "Image", "sha256": "0" * 64, "bytes": 1}] * images,
        }
    )


def _cells(page: str, principal: str) -> list[str]:
    row = re.search(rf"<tr><td>{principal}</td>(.*?)</tr>", page, re.DOTALL)
    assert row, page
    return re.findall(r"<td>([^<]*)</td>", row.group(1))


def test_the_usage_page_shows_the_month_by_principal_with_a_chart_and_its_figures(
    browser: ConsoleClient, console_server: InProcessServer
) -> None:
    _metered(console_server, "page-user", "CompareFaces", 2)
    _metered(console_server, "page-user", "DetectFaces", 1)
    browser.sign_in()
    page = browser.get("/console/usage")
    assert page.status == 200
    text = page.text
    month = month_of(time.time())
    assert f"<h1>Usage in {month}</h1>" in text
    assert '<a href="/console/usage" aria-current="page">Usage</a>' in text
    # The table: CompareFaces' two images and DetectFaces' one, per operation and in total.
    header = re.findall(r'<th scope="col">([^<]*)</th>', text)
    cells = _cells(text, "page-user")
    by_column = dict(zip(header[1:], cells, strict=False))
    assert by_column["CompareFaces images"] == "2"
    assert by_column["DetectFaces images"] == "1"
    assert by_column["Images"] == "3"
    # The chart: drawn by the server, labelled, no script; the same figures as a table.
    assert '<svg role="img" aria-labelledby="chart-title chart-desc"' in text
    assert "<script" not in text
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert f"<title>{today}: " in text
    assert re.search(rf"<tr><td>{today}</td><td>[1-9]\d*</td></tr>", text)
    # The month picker is a labelled plain form.
    assert '<label for="month">' in text and f'name="month" type="month" value="{month}"' in text
    # Reading it is decided and audited as agnosco:ReadUsage, marked as from the console.
    read = [
        r
        for r in console_server.deployment.audit.records()
        if r["operation"] == "agnosco:ReadUsage"
    ][-1]
    assert read["decision"] == "Allow" and read["channel"] == "console"


def test_the_month_picker_and_its_mistakes(
    browser: ConsoleClient, console_server: InProcessServer
) -> None:
    browser.sign_in()
    empty = browser.get("/console/usage?month=1999-01")
    assert empty.status == 200 and "Nothing was metered in 1999-01." in empty.text
    assert empty.text.count("<rect ") == 31  # a bar for each day of January, none tall
    wrong = browser.get("/console/usage?month=2026-13")
    assert wrong.status == 400
    assert "The month &#39;2026-13&#39; is not a month (YYYY-MM)." in wrong.text
    assert "Traceback" not in wrong.text


def test_an_auditor_may_read_usage_and_read_only_may_not(console_server: InProcessServer) -> None:
    auditor = ConsoleClient(console_server)
    auditor.sign_in(*_principal_with(console_server, "usage-auditor", "Auditor"))
    assert auditor.get("/console/usage").status == 200
    assert '<a href="/console/usage"' in auditor.get("/console/audit").text

    reader = ConsoleClient(console_server)
    reader.sign_in(*_principal_with(console_server, "usage-reader", "ReadOnly"))
    menu = reader.get("/console/collections").text
    assert '<a href="/console/usage"' not in menu  # not offered
    refused = reader.get("/console/usage")
    assert refused.status == 403
    denied = [
        r
        for r in console_server.deployment.audit.records()
        if r["operation"] == "agnosco:ReadUsage" and r["principal"] == "usage-reader"
    ]
    assert denied and denied[-1]["decision"] == "Deny"
