"""The console in process (its own deployment), and a small cookie-keeping client for it."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.server.conftest import ACCESS_KEY_ID, ADMIN_ENVIRONMENT, SECRET_ACCESS_KEY
from tests.server.in_process import CLIENT_ADDRESS, InProcessServer

HOST = "agnosco.in-process"


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: How many http.response.body messages the body came in (more than one: streamed).
    messages: int = 1

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.text)
        assert found, f"no CSRF field in the page:\n{self.text[:2000]}"
        return found.group(1)


class ConsoleClient:
    """A browser, as far as the console can tell: it keeps cookies (by their Path and Max-Age)
    and sends forms URL-encoded or multipart."""

    def __init__(self, server: InProcessServer, client: tuple[str, int] = CLIENT_ADDRESS) -> None:
        self.server = server
        self.client = client
        self.cookies: dict[str, str] = {}

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(
        self,
        path: str,
        form: dict[str, str] | None = None,
        files: dict[str, tuple[str, str, bytes]] | None = None,
        **kw: Any,
    ) -> Answer:
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for name, value in (form or {}).items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                    + value.encode()
                    + b"\r\n"
                )
            for name, (filename, kind, data) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
                    + data
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            kind = f"multipart/form-data; boundary={boundary}"
        else:
            body = urlencode(form or {}).encode()
            kind = "application/x-www-form-urlencoded"
        return self.request("POST", path, body=body, content_type=kind, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        url = urlsplit(path)
        raw = [(b"host", HOST.encode()), (b"content-length", str(len(body)).encode())]
        if content_type:
            raw.append((b"content-type", content_type.encode()))
        if self.cookies:
            jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            raw.append((b"cookie", jar.encode()))
        for name, value in (headers or {}).items():
            raw.append((name.lower().encode(), value.encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": url.path,
            "raw_path": url.path.encode(),
            "query_string": url.query.encode(),
            "headers": raw,
            "client": self.client,
            "server": (HOST, 80),
        }
        future = asyncio.run_coroutine_threadsafe(
            _call(self.server.app, scope, body), self.server._loop
        )
        answer = future.result(timeout=300)
        for cookie in answer.all("set-cookie"):
            pair, _, attributes = cookie.partition(";")
            name, _, value = pair.partition("=")
            assert "Path=/console" in attributes
            if "Max-Age=0" in attributes:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    def sign_in(self, key_id: str = ACCESS_KEY_ID, secret: str = SECRET_ACCESS_KEY) -> Answer:
        page = self.get("/console/sign-in")
        return self.post(
            "/console/sign-in",
            {"csrf": page.csrf(), "access_key_id": key_id, "secret_access_key": secret},
        )


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> Answer:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, headers, chunks = 500, [], []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(k.decode(), v.decode()) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answer(status, headers, b"".join(chunks), len(chunks))


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    srv = InProcessServer(tmp_path_factory.mktemp("agnosco-console") / "data", ADMIN_ENVIRONMENT)
    yield srv
    srv.close()


@pytest.fixture
def browser(console_server: InProcessServer) -> ConsoleClient:
    return ConsoleClient(console_server)
