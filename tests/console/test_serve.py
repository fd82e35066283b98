"""``agnosco serve`` and the console's settings: --no-console, --console-session-hours."""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.server.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, start_server


def _get(url: str, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, [(k.lower(), v) for k, v in answer.getheaders()], answer.read()
    finally:
        connection.close()


def test_no_console_serves_no_console(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", tmp_path / "server.log", "--no-console")
    try:
        status, headers, body = _get(server.url, "/console/sign-in")
        assert status != 200 and b"<html" not in body  # only the API is there: it wants SigV4
        assert dict(headers)["content-type"] == "application/x-amz-json-1.1"
        assert "the console is at" not in server.log.read_text()
    finally:
        server.stop()


def test_console_sessions_last_as_configured(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data", tmp_path / "server.log", "--console-session-hours", "0.5"
    )
    try:
        assert f"the console is at {server.url}/console" in server.log.read_text()
        status, headers, body = _get(server.url, "/console/sign-in")
        assert status == 200
        cookie = next(v for k, v in headers if k == "set-cookie").split(";")[0]
        csrf = re.search(rb'name="csrf" value="([^"]+)"', body)[1].decode()  # type: ignore[index]
        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        form = urlencode(
            {"csrf": csrf, "access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY}
        )
        try:
            connection.request(
                "POST",
                "/console/sign-in",
                body=form,
                headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
            )
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        assert answer.status == 303
        session = next(
            v
            for k, v in answer.getheaders()
            if k.lower() == "set-cookie" and "agnosco_session" in v
        )
        assert "Max-Age=1800" in session
    finally:
        server.stop()
