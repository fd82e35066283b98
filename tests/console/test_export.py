"""The audit log's JSON Lines export from the console, streamed: the same bytes as the records
read one by one, in chunks (no Content-Length, never the whole file in memory), filtered as
asked, and bounded to the records there were when it began."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from agnosco.console.app import EXPORT_CHUNK
from agnosco.governance.audit import canonical_json
from tests.console.conftest import ConsoleClient
from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, start_server
from tests.server.in_process import InProcessServer

#: Records appended for the export: enough for several pages of the log and many chunks.
RECORDS = 3000
DAY_ONE = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC).timestamp()
DAY_TWO = DAY_ONE + 86400


def _expected(server: InProcessServer, **match: Any) -> bytes:
    """What the export must hold: the log's records read one by one (``AuditLog.records``,
    not the export's code), filtered here, each a canonical JSON line."""
    lines = [
        canonical_json(r)
        for r in server.deployment.audit.records()
        if all(r.get(k) == v for k, v in match.items())
    ]
    return "".join(line + "\n" for line in lines).encode("utf-8")


@pytest.fixture(scope="module")
def filled(console_server: InProcessServer) -> InProcessServer:
    audit = console_server.deployment.audit
    for i in range(RECORDS):
        audit.append(
            {
                "time": DAY_ONE if i < RECORDS // 2 else DAY_TWO,
                "principal": f"exporter-{i % 3}",
                "operation": "test:Export",
                "collection": f"exported-{i % 2}",
                "decision": "Allow",
                "reason": "a record for the export",
                "parameters": {"i": i, "text": "é – ü"},  # not ASCII: the bytes are UTF-8
            }
        )
    return console_server


def test_the_export_streams_every_record_in_chunks(filled: InProcessServer, browser: ConsoleClient):
    browser.sign_in()
    answer = browser.get("/console/audit/export?operation=test:Export")
    assert answer.status == 200
    assert answer.header("content-type") == "application/x-ndjson; charset=utf-8"
    assert answer.header("content-length") is None  # streamed: its length is not known first
    expected = _expected(filled, operation="test:Export")
    assert len(expected) > 5 * EXPORT_CHUNK
    assert answer.body == expected
    # In chunks of about EXPORT_CHUNK bytes (and an empty last message ending the body).
    assert answer.messages >= len(expected) // (EXPORT_CHUNK + 2048)
    assert answer.header("x-agnosco-records") == str(RECORDS)
    record = [
        r
        for r in filled.deployment.audit.records()
        if r["operation"] == "agnosco:ReadAuditLog" and r["parameters"].get("export")
    ][-1]
    assert record["channel"] == "console" and record["result"] == {"Records": RECORDS}
    assert record["parameters"]["operation"] == "test:Export"


@pytest.mark.parametrize(
    "query, match",
    [
        ({"principal": "exporter-1"}, {"principal": "exporter-1"}),
        ({"collection": "exported-0"}, {"collection": "exported-0"}),
        (
            {"principal": "exporter-2", "collection": "exported-1", "since": "2026-01-02"},
            {"principal": "exporter-2", "collection": "exported-1", "time": DAY_TWO},
        ),
        ({"until": "2026-01-01"}, {"time": DAY_ONE}),
    ],
)
def test_the_streamed_export_keeps_its_filters(
    filled: InProcessServer, browser: ConsoleClient, query: dict[str, str], match: dict[str, Any]
):
    browser.sign_in()
    answer = browser.get(
        f"/console/audit/export?{urlencode({'operation': 'test:Export', **query})}"
    )
    assert answer.status == 200
    expected = _expected(filled, operation="test:Export", **match)
    assert expected and answer.body == expected
    assert answer.header("x-agnosco-records") == str(expected.count(b"\n"))
    assert browser.get("/console/audit/export?since=yesterday").status == 400


def test_an_export_holds_the_records_there_were_when_it_began(filled: InProcessServer):
    audit = filled.deployment.audit
    lines = audit.export_lines(operation="test:Export")
    first = next(lines)
    audit.append({"operation": "test:Export", "principal": "late", "decision": "Allow"})
    rest = list(lines)
    assert json.loads(first)["parameters"]["i"] == 0
    assert len(rest) == RECORDS - 1 and all('"late"' not in line for line in rest)
    assert audit.count(operation="test:Export") == RECORDS + 1


def test_a_served_export_is_chunked_and_the_same_as_the_command_lines(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        api = server.client()
        for _ in range(20):
            api.list_collections()
        parts = urlsplit(server.url)

        def ask(method: str, path: str, **kw: Any) -> tuple[int, list[tuple[str, str]], bytes]:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                connection.request(method, path, **kw)
                answer = connection.getresponse()
                return (
                    answer.status,
                    [(k.lower(), v) for k, v in answer.getheaders()],
                    answer.read(),
                )
            finally:
                connection.close()

        _, headers, page = ask("GET", "/console/sign-in")
        cookie = dict(headers)["set-cookie"].split(";")[0]
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page)[1].decode()  # type: ignore[index]
        form = {
            "csrf": csrf,
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
        }
        status, headers, _ = ask(
            "POST",
            "/console/sign-in",
            body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        assert status == 303
        session = next(v for k, v in headers if v.startswith("agnosco_session=")).split(";")[0]
        status, headers, body = ask(
            "GET", "/console/audit/export?operation=ListCollections", headers={"Cookie": session}
        )
        assert status == 200
        assert dict(headers).get("transfer-encoding") == "chunked"
        assert "content-length" not in dict(headers)
        exported = subprocess.run(
            [sys.executable, "-m", "agnosco.cli.main", "audit", "export"]
            + ["--data-dir", str(server.data_dir)],
            check=True,
            capture_output=True,
            timeout=120,
        ).stdout
        lines = [
            line + b"\n"
            for line in exported.splitlines()
            if json.loads(line)["operation"] == "ListCollections"
        ]
        assert len(lines) == 20 and body == b"".join(lines)
    finally:
        server.stop()
