"""The server's ASGI app in the test process, driven by real boto3 clients without a socket.

:class:`InProcessServer` opens a deployment the way ``agnosco serve`` does
(:func:`agnosco.deployment.open_deployment`, the admin key from the settings) and runs its
:class:`~agnosco.server.app.RekognitionApp` on an event loop of its own thread, as uvicorn runs
it on one loop, with the job runtime ``agnosco serve`` starts beside it.  Its clients are ordinary boto3 clients: botocore serializes and signs each
request as it would for AWS, then its ``before-send`` event hands the prepared request to the
app instead of the network and parses the app's answer as it would parse AWS's.  What needs a
real process (the HTTP server, time-outs, connection limits, signals, replicas) is tested
against ``agnosco serve`` in :mod:`tests.server.conftest`; everything above the wire is the same
code either way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from agnosco.console.app import Console
from agnosco.deployment import Deployment, ensure_admin_key, open_deployment
from agnosco.server.app import RekognitionApp
from agnosco.server.runtimes import start_runtimes
from agnosco.settings import Settings

#: The endpoint the clients name; nothing listens there, the app answers in process.
ENDPOINT = "http://agnosco.in-process"
#: The address the app sees as the caller's (``aws:SourceIp``, the audit log's client).
CLIENT_ADDRESS = ("127.0.0.1", 50000)


class _RawBody(io.BytesIO):
    """The raw response botocore reads an answer from (it streams it in chunks)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(65536):
            yield chunk


class InProcessServer:
    """A deployment in ``data_dir`` served by its ASGI app in this process."""

    def __init__(
        self,
        data_dir: Path,
        environ: dict[str, str],
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.url = ENDPOINT
        self.data_dir = data_dir
        self.settings = Settings.load({"data_dir": str(data_dir)}, environ)
        self.deployment: Deployment = open_deployment(self.settings)
        ensure_admin_key(self.deployment.keys, self.settings)
        self.app = RekognitionApp(
            self.deployment.context,
            self.deployment.keys,
            self.deployment.gate,
            credentials=self.deployment.credentials,
            sts=self.deployment.sts,
            console=Console(
                self.deployment.context,
                self.deployment.keys,
                self.deployment.gate,
                self.deployment.console_sessions,
                evaluations=self.settings.data_dir,
            ),
            **({"now": now} if now is not None else {}),
        )
        self.runtimes = start_runtimes(self.deployment, self.settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="agnosco-in-process", daemon=True
        )
        self._thread.start()

    def client(
        self,
        key_id: str,
        secret: str,
        region: str | None = None,
        *,
        service: str = "rekognition",
        session_token: str | None = None,
        **config: Any,
    ) -> Any:
        """A boto3 client of ``service`` (``rekognition`` or ``sts``), signing with the key (and
        the temporary credentials' ``session_token``)."""
        client = boto3.client(
            service,
            endpoint_url=ENDPOINT,
            region_name=region or self.settings.region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=session_token,
            config=Config(retries={"max_attempts": 1}, **config),
        )
        client.meta.events.register(f"before-send.{service}", self._send)
        return client

    def send(self, request: AWSPreparedRequest) -> AWSResponse:
        """Answer a request prepared by hand (e.g. presigned with botocore's signer)."""
        return self._send(request)

    def _send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        """Answer one prepared request with the app (botocore sends nothing when a before-send
        handler returns a response)."""
        future = asyncio.run_coroutine_threadsafe(self._call(request), self._loop)
        status, headers, body = future.result(timeout=300)
        return AWSResponse(request.url, status, headers, _RawBody(body))

    async def _call(self, request: AWSPreparedRequest) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = body.read()
        headers = [
            (
                name.lower().encode("latin-1"),
                value if isinstance(value, bytes) else value.encode("latin-1"),
            )
            for name, value in request.headers.items()
        ]
        if not any(name == b"host" for name, _ in headers):
            headers.append((b"host", url.netloc.encode()))
        if not any(name == b"content-length" for name, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path or "/",
            "raw_path": (url.path or "/").encode(),
            "query_string": url.query.encode(),
            "headers": headers,
            "client": CLIENT_ADDRESS,
            "server": (url.hostname, 80),
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:  # the app reads only the one body; it never waits for a disconnect here
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, answer_headers, chunks = 500, {}, []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers = {
                    name.decode("latin-1"): value.decode("latin-1")
                    for name, value in message.get("headers", [])
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, answer_headers, b"".join(chunks)

    def close(self) -> None:
        async def shutdown() -> None:
            messages = iter([{"type": "lifespan.shutdown"}])

            async def receive() -> dict[str, Any]:
                return next(messages)

            async def send(_: dict[str, Any]) -> None:
                return None

            await self.app({"type": "lifespan"}, receive, send)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self.runtimes.stop()
        self.deployment.close()
