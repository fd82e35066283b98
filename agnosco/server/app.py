"""The ASGI application: AWS JSON 1.1 requests in, Rekognition responses out.

For each ``POST /`` with ``X-Amz-Target: RekognitionService.<Operation>``:

1. read the body (refused beyond :data:`MAX_BODY_BYTES`, which fits a 5 MiB image in base64);
2. verify the SigV4 signature (:mod:`agnosco.protocol.sigv4`);
3. find the operation in botocore's model and Agnosco's handler table;
4. decode the JSON body against the input shape (:mod:`agnosco.protocol.codec`);
5. hand the call to the governance gate (:mod:`agnosco.governance.gate`: policies, obligations,
   audit), which validates and runs the operation, in a worker thread so model work never
   blocks the event loop.  Calls that analyse images (``Traits.analyses_images``) run on their
   own, bounded *model queue*, the others on a pool of their own, so a DescribeCollection never
   waits behind image analysis; a full model queue answers ``ThrottlingException`` (a 5xx
   fault: SDKs retry it with back-off), and an access key over the deployer's request-rate
   limit ``ProvisionedThroughputExceededException``, both audited as refusals;
6. encode the result against the output shape, adding the gate's headers (e.g. a review id).

The Agnosco request headers ``x-agnosco-purpose`` (why this call is made) and
``x-agnosco-consent-ref`` (the consent an enrolment rests on) count only when signed.

The same port serves the STS operations that make temporary credentials (GetSessionToken,
AssumeRole, GetCallerIdentity: :mod:`agnosco.governance.sts`) over the AWS Query protocol
(:mod:`agnosco.protocol.query`): a request whose signature is scoped to the ``sts`` service (or,
unsigned, a form-encoded one without ``X-Amz-Target``) is decoded from its form parameters
against botocore's ``sts`` model, handed to the gate (``Gate.call_sts``) and answered in XML,
its errors as STS words them.  Either API may be signed in the ``Authorization`` header or in
the query string (presigned), with a long-term key or with temporary credentials and their
session token (:class:`agnosco.auth.sessions.Credentials`).

This is the only place a :class:`ServiceError` becomes an HTTP response:
``{"__type": code, "message": ..., "Code": code, "Message": ..., "Logref": request id}`` with
status ``status_hint`` or 400 (caller's fault) / 500 (ours), and ``X-Amzn-ErrorType``.  Every
response carries ``x-amzn-RequestId``.
Unexpected exceptions are logged with the request id and answered as InternalServerError.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from agnosco import spec
from agnosco.auth.keys import KeyStore
from agnosco.auth.sessions import Credentials, Signer
from agnosco.console.app import Console
from agnosco.console.http import Request as ConsoleRequest
from agnosco.console.http import Response as ConsoleResponse
from agnosco.errors import (
    ImageTooLargeException,
    InternalServerError,
    InvalidSignatureException,
    ProvisionedThroughputExceededException,
    RequestTimeoutException,
    ServiceError,
    ThrottlingException,
    UnknownOperationException,
    UnrecognizedClientException,
)
from agnosco.governance.actions import Caller, CallerSession
from agnosco.governance.gate import CallResult, Gate
from agnosco.governance.sts import OPERATIONS as STS_OPERATIONS
from agnosco.governance.sts import SecurityTokenService, action_of
from agnosco.operations import handler_for, invoke, traits_of
from agnosco.operations.context import OperationContext
from agnosco.protocol import query as query_protocol
from agnosco.protocol.codec import decode_request, encode_response
from agnosco.protocol.sigv4 import INVALID_TOKEN, QUERY_AUTH, Identity, auth_service, verify
from agnosco.settings import BODY_TIMEOUT_SECONDS

log = logging.getLogger("agnosco.server")

#: A 5 MiB image is ~6.7 MiB in base64; the rest is room for the JSON around it.
MAX_BODY_BYTES = 7 * 1024 * 1024 + 64 * 1024
TARGET_PREFIX = spec.service_model().metadata["targetPrefix"] + "."
CONTENT_TYPE = b"application/x-amz-json-1.1"
#: An STS request is a few form parameters (a session policy, refused anyway, is at most 2048
#: characters): 64 KiB is ample.
MAX_STS_BODY_BYTES = 64 * 1024
STS_MODEL = spec.service_model(spec.STS)
STS_NAMESPACE = STS_MODEL.metadata["xmlNamespace"]
#: Query-string parameters that belong to a presigned request's signature, not to the call.
AUTH_PARAMETERS = frozenset((*QUERY_AUTH, "X-Amz-Security-Token"))
#: STS's global endpoint signs for us-east-1: an STS request may be signed for it or for the
#: deployment's region (the credentials it returns are the deployment's either way).
STS_GLOBAL_REGION = "us-east-1"
#: Threads for the calls that analyse no image (descriptions, listings, searches by id...).
LIGHT_WORKERS = 8
#: Image calls admitted per model worker (running or waiting) before ThrottlingException.
MODEL_QUEUE_PER_WORKER = 4


class RateLimiter:
    """A token bucket per access key: ``rate`` requests a second, bursts of ``burst``.  Used from
    the event loop's thread only."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate, self.burst = rate, burst or max(1.0, 2 * rate)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def allow(self, key: str, now: float) -> bool:
        tokens, when = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class RekognitionApp:
    def __init__(
        self,
        context: OperationContext,
        keys: KeyStore,
        gate: Gate | None,
        *,
        model_workers: int | None = None,
        model_queue: int | None = None,
        light_workers: int = LIGHT_WORKERS,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        console: Console | None = None,
        credentials: Credentials | None = None,
        sts: SecurityTokenService | None = None,
    ) -> None:
        self.context = context
        #: The web console at ``/console`` (None: not served).
        self.console = console
        self.keys = keys
        self.gate = gate
        #: Long-term keys and temporary credentials; without it, long-term keys alone.
        self.credentials = credentials
        #: The STS operations; without them (or without a gate) STS answers InvalidAction.
        self.sts = sts
        self.now = now
        self.body_timeout = body_timeout
        model_workers = model_workers or os.cpu_count() or 1
        #: calls admitted to the model queue at once (running and waiting)
        self.model_queue = model_queue or MODEL_QUEUE_PER_WORKER * model_workers
        self._model_admitted = 0
        self._model_pool = ThreadPoolExecutor(
            max_workers=model_workers, thread_name_prefix="agnosco-model"
        )
        self._pool = ThreadPoolExecutor(max_workers=light_workers, thread_name_prefix="agnosco-op")
        self._limiter = RateLimiter(rate_limit, rate_burst) if rate_limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        operation = "-"
        work = 0.0
        admitted = False  # holds a place on the model queue
        headers = _headers(scope)
        query = scope.get("query_string", b"").decode("latin-1")
        if self.console is not None and self.console.serves(scope["path"]):
            # before the STS check: a console form is form-encoded, as an STS call is
            status = await self._serve_console(self.console, scope, receive, send, request_id)
            log.info(
                "%s console %s %s %d %.2fms",
                request_id,
                scope["method"],
                scope["path"][:128],
                status,
                _ms(started),
            )
            return
        if _is_sts(headers, query):
            operation, status = await self._sts(scope, receive, send, headers, query, request_id)
            log.info("%s %s %d %.2fms", request_id, operation, status, _ms(started))
            return
        key_id: str | None = None  # the access key that signed the request, once verified
        principal: str | None = None
        refused: ServiceError | None = None  # the error answered, if any
        try:
            if scope["method"] == "GET" and scope["path"] == "/health":
                await _respond(send, 200, b'{"status":"ok"}', request_id)
                return
            body = await _read_body(receive, headers, self.body_timeout)
            identity = self._verify(scope, headers, query, body, (spec.SERVICE,))
            key_id = identity.access_key_id
            try:
                signer = self._signer(identity)  # an expired session: refused, audited
                if identity.region != self.context.region:
                    # One deployment is one region (ARNs and policies name it): a request signed
                    # for another is refused, as AWS refuses a wrong-region signature.
                    raise InvalidSignatureException(
                        f"Credential should be scoped to a valid region, not '{identity.region[:64]}'; "
                        f"this endpoint's region is '{self.context.region}'."
                    )
                operation = _operation(headers)
                # Unknown or unimplemented (Agnosco's own operations are not on this wire: they
                # name the server's files): refuse before decoding.
                handler_for(operation)
                traits = traits_of(operation)
                # Admission before the body is decoded (megabytes of base64 for an image call).
                if self._limiter is not None and not self._limiter.allow(
                    identity.access_key_id, time.monotonic()
                ):
                    raise ProvisionedThroughputExceededException(
                        f"Rate exceeded: this access key may make {self._limiter.rate:g} requests a second."
                    )
                if traits.analyses_images:
                    if self._model_admitted >= self.model_queue:
                        raise ThrottlingException(
                            "Rate exceeded: the server is busy analysing images; retry."
                        )
                    self._model_admitted += 1
                    admitted = True
                model = spec.service_model().operation_model(operation)
                params = decode_request(body, model.input_shape)
                caller = self._caller(identity, signer, headers, scope, request_id)
                principal = caller.principal
            except ServiceError as refusal:  # authenticated, yet refused before the gate: audit it
                await asyncio.get_running_loop().run_in_executor(
                    self._pool,
                    self._record_refusal,
                    operation,
                    identity,
                    scope,
                    request_id,
                    refusal,
                )
                raise
            context = dataclasses.replace(self.context, consent_reference=caller.consent_reference)
            loop = asyncio.get_running_loop()
            result, work = await loop.run_in_executor(
                self._model_pool if traits.analyses_images else self._pool,
                self._run,
                operation,
                params,
                caller,
                context,
            )
            extra = tuple((k.encode(), v.encode()) for k, v in result.headers.items())
            await _respond(
                send, 200, encode_response(result.response, model.output_shape), request_id, extra
            )
            status = 200
        except ServiceError as error:
            refused = error
            status = await _respond_error(send, error, request_id)
        except Exception:  # a bug of ours: log it, never leak it
            log.exception("request %s (%s) failed", request_id, operation)
            status = await _respond_error(
                send, InternalServerError("Internal server error"), request_id
            )
        finally:
            if admitted:
                self._model_admitted -= 1
        elapsed = 1000 * (time.perf_counter() - started)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "operation": operation,
            "status": status,
            "duration_ms": round(elapsed, 2),
        }
        if refused is None:
            log.info(
                "%s %s %d %.2fms (operation %.2fms)",
                request_id,
                operation,
                status,
                elapsed,
                1000 * work,
                extra=fields,
            )
        else:  # why, and whose key (its id: never a secret, nor a signature)
            key = key_id or _presented_key_id(scope)
            fields |= {
                "error_code": refused.code,
                "access_key_id": key,
                "principal": principal,
                "reason": _one_line(refused.message),
            }
            log.info(
                "%s %s %d %.2fms %s: %s, key %s%s: %s",
                request_id,
                operation,
                status,
                elapsed,
                "refused" if refused.sender_fault else "failed",
                refused.code,
                key or "-",
                f" ({principal})" if principal else "",
                fields["reason"],
                extra=fields,
            )

    def _secret_for(self, access_key_id: str, session_token: str | None) -> str | None:
        if self.credentials is None:
            return self.keys.secret_for(access_key_id) if session_token is None else None
        return self.credentials.secret_for(access_key_id, session_token)

    def _signer(self, identity: Identity, *, expired_ok: bool = False) -> Signer:
        """Who the verified request speaks for.

        :raises ExpiredTokenException: its session is over.
        :raises UnrecognizedClientException: its key was revoked, or its session's key or role
            went, since the signature was checked.
        """
        if self.credentials is None:
            owner = self.keys.owner(identity.access_key_id)
            signer = Signer(owner) if owner and identity.session_token is None else None
        else:
            signer = self.credentials.signer(
                identity.access_key_id,
                identity.session_token,
                self.now().timestamp(),
                expired_ok=expired_ok,
            )
        if signer is None:
            raise UnrecognizedClientException(INVALID_TOKEN)
        return signer

    def _verify(
        self,
        scope: Scope,
        headers: dict[str, list[str]],
        query: str,
        body: bytes,
        services: tuple[str, ...],
    ) -> Identity:
        return verify(
            method=scope["method"],
            path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
            or "/",
            query=query,
            headers=headers,
            body=body,
            secret_for=self._secret_for,
            now=self.now(),
            services=services,
        )

    async def _serve_console(
        self, console: Console, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> int:
        """A console page: the body read as any request's, the page made in a worker thread
        (on the model queue when it analyses an image)."""
        method, path = scope["method"], scope["path"]
        heavy = console.analyses_images(method, path)
        headers = _headers(scope)
        try:
            body = await _read_body(receive, headers, self.body_timeout)
            if heavy and self._model_admitted >= self.model_queue:
                raise ThrottlingException(
                    "The server is busy analysing images; try again in a moment."
                )
        except ServiceError as error:
            status = 503 if isinstance(error, ThrottlingException) else 400
            page = console.error_page(status, error.message)
            page.headers.append(("x-amzn-requestid", request_id))
            await _send_page(send, page)
            return status
        client = scope.get("client")
        request = ConsoleRequest(
            method=method,
            path=path,
            query=parse_qs(scope.get("query_string", b"").decode("latin-1")),
            headers=headers,
            body=body,
            client_ip=client[0] if client else None,
            scheme=scope.get("scheme", "http"),
            request_id=request_id,
        )
        loop = asyncio.get_running_loop()
        if heavy:
            self._model_admitted += 1
        try:
            page = await loop.run_in_executor(
                self._model_pool if heavy else self._pool, console.handle, request
            )
        finally:
            if heavy:
                self._model_admitted -= 1
        await _send_page(send, page, self._pool)
        return page.status

    async def _sts(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, list[str]],
        query: str,
        request_id: str,
    ) -> tuple[str, int]:
        """One STS call (Query protocol); returns its action and the status answered."""
        operation = "-"
        try:
            body = await _read_body(receive, headers, self.body_timeout, MAX_STS_BODY_BYTES)
            identity = self._verify(scope, headers, query, body, (spec.STS,))
            try:
                signer = self._signer(identity)  # an expired session: refused, audited
                if identity.region not in (self.context.region, STS_GLOBAL_REGION):
                    raise InvalidSignatureException(
                        f"Credential should be scoped to a valid region, not '{identity.region[:64]}'; "
                        f"this endpoint's region is '{self.context.region}' (or {STS_GLOBAL_REGION} for STS)."
                    )
                params = query_protocol.request_parameters(query, body, AUTH_PARAMETERS)
                served = list(STS_OPERATIONS) if self.sts and self.gate else []
                operation = query_protocol.operation_of(
                    params, served, STS_MODEL.metadata["apiVersion"]
                )
                if self._limiter is not None and not self._limiter.allow(
                    identity.access_key_id, time.monotonic()
                ):
                    raise ProvisionedThroughputExceededException(
                        f"Rate exceeded: this access key may make {self._limiter.rate:g} requests a second."
                    )
                model = STS_MODEL.operation_model(operation)
                request = query_protocol.decode_parameters(params, model.input_shape)
                caller = self._caller(identity, signer, headers, scope, request_id)
            except ServiceError as refusal:
                await asyncio.get_running_loop().run_in_executor(
                    self._pool,
                    self._record_refusal,
                    action_of(operation) if operation != "-" else "sts",
                    identity,
                    scope,
                    request_id,
                    refusal,
                )
                raise
            assert self.gate is not None and self.sts is not None  # operation_of checked
            response = await asyncio.get_running_loop().run_in_executor(
                self._pool,
                self.gate.call_sts,
                operation,
                request,
                caller,
                self.sts,
                self.now().timestamp(),
            )
            body = query_protocol.encode_result(model, response, request_id)
            await _respond(send, 200, body, request_id, content_type=query_protocol.CONTENT_TYPE)
            return action_of(operation), 200
        except ServiceError as error:
            return action_of(operation), await _respond_query_error(send, error, request_id)
        except Exception:  # a bug of ours: log it, never leak it
            log.exception("request %s (sts %s) failed", request_id, operation)
            return action_of(operation), await _respond_query_error(
                send, InternalServerError("Internal server error"), request_id
            )

    def _caller(
        self,
        identity: Identity,
        signer: Signer,
        headers: dict[str, list[str]],
        scope: Scope,
        request_id: str,
    ) -> Caller:
        owner = signer.owner
        agnosco_headers = {}
        for name in ("x-agnosco-purpose", "x-agnosco-consent-ref"):
            value = next(iter(headers.get(name) or []), None)
            if value is not None and name not in identity.signed_headers:
                raise InvalidSignatureException(f"The {name} header must be signed.")
            agnosco_headers[name] = value
        client = scope.get("client")
        return Caller(
            principal=owner.principal,
            access_key_id=identity.access_key_id,
            source_ip=client[0] if client else None,
            region=identity.region,
            purpose=agnosco_headers["x-agnosco-purpose"] or owner.default_purpose,
            consent_reference=agnosco_headers["x-agnosco-consent-ref"],
            request_id=request_id,
            session=_caller_session(signer),
        )

    def _record_refusal(
        self, operation: str, identity: Identity, scope: Scope, request_id: str, error: ServiceError
    ) -> None:
        if self.gate is None:
            return
        try:
            signer: Signer | None = self._signer(identity, expired_ok=True)
        except ServiceError:  # revoked: the key's owner is no longer known
            signer = None
        client = scope.get("client")
        self.gate.record_refusal(
            operation,
            identity.access_key_id,
            signer.owner.principal if signer else None,
            client[0] if client else None,
            request_id,
            error,
            self.context.clock(),
            _caller_session(signer) if signer else None,
        )

    def _run(
        self, operation: str, params: dict[str, Any], caller: Caller, context: OperationContext
    ) -> tuple[CallResult, float]:
        start = time.perf_counter()
        if self.gate is None:
            result = CallResult(invoke(operation, params, context))
        else:
            result = self.gate.call(operation, params, caller, context)
        return result, time.perf_counter() - start

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._model_pool.shutdown(wait=True)
                self._pool.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _caller_session(signer: Signer) -> CallerSession | None:
    session = signer.session
    if session is None:
        return None
    return CallerSession(
        kind=session.kind,
        source_access_key_id=session.source_access_key_id,
        expires_at=session.expires_at,
        assumed_by=session.assumed_by,
        role=session.role,
        role_id=session.role_id,
        session_name=session.session_name,
        source_identity=session.source_identity,
        chained=session.chained,
    )


def _is_sts(headers: dict[str, list[str]], query: str) -> bool:
    """Is this an STS (Query protocol) request?  Its signature's scope says so; an unsigned one
    is when it is form-encoded (or names an Action in its query string) with no X-Amz-Target."""
    service = auth_service(headers, query)
    if service is not None:
        return service == spec.STS
    if headers.get("x-amz-target"):
        return False
    content_type = (headers.get("content-type") or [""])[0].lower()
    return content_type.startswith(query_protocol.FORM) or "Action=" in query


def _ms(started: float) -> float:
    return 1000 * (time.perf_counter() - started)


_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]{1,128})(?:/|%2F)", re.IGNORECASE)


def _presented_key_id(scope: Scope) -> str | None:
    """The access key id a request names, in its Authorization header or a presigned query's
    X-Amz-Credential (for a log line when it was refused before it was verified); only key-id
    characters, so that a request cannot forge log lines."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            found = _CREDENTIAL.search(value.decode("latin-1"))
            return found.group(1) if found else None
    found = _CREDENTIAL.search(scope.get("query_string", b"").decode("latin-1"))
    return found.group(1) if found else None


def _one_line(message: str, limit: int = 300) -> str:
    """An error message for a log line: control characters escaped, at most ``limit`` long."""
    text = (
        message.encode("unicode_escape").decode("ascii") if not message.isprintable() else message
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _headers(scope: Scope) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


def _operation(headers: dict[str, list[str]]) -> str:
    target = (headers.get("x-amz-target") or [""])[0]
    if not target.startswith(TARGET_PREFIX):
        raise UnknownOperationException(
            f"X-Amz-Target must be {TARGET_PREFIX}<Operation>, got '{target}'."
        )
    return target[len(TARGET_PREFIX) :]


async def _read_body(
    receive: Receive,
    headers: dict[str, list[str]],
    timeout: float,
    limit: int = MAX_BODY_BYTES,
) -> bytes:
    """The whole body, at most ``limit`` bytes; a client that sends none of it for ``timeout``
    seconds is answered RequestTimeoutException (a half-sent request must not hold a connection
    for ever)."""
    declared = (headers.get("content-length") or ["0"])[0]
    if declared.isdigit() and int(declared) > limit:
        raise ImageTooLargeException(f"Request body of {declared} bytes exceeds {limit} bytes.")
    chunks, size = [], 0
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout)
        except TimeoutError:
            raise RequestTimeoutException(
                f"No part of the request body arrived for {timeout:g} s; the request was abandoned."
            ) from None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ImageTooLargeException(f"Request body exceeds {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    request_id: str,
    extra: tuple[tuple[bytes, bytes], ...] = (),
    content_type: bytes = CONTENT_TYPE,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_page(
    send: Send, page: ConsoleResponse, pool: ThreadPoolExecutor | None = None
) -> None:
    """A console page; a streamed one (``page.stream``) chunk by chunk, each made on
    ``pool``."""
    length = [] if page.stream is not None else [(b"content-length", str(len(page.body)).encode())]
    await send(
        {
            "type": "http.response.start",
            "status": page.status,
            "headers": [
                (b"content-type", page.content_type.encode("latin-1")),
                *length,
                *((k.encode("latin-1"), v.encode("latin-1")) for k, v in page.headers),
            ],
        }
    )
    if page.stream is None:
        await send({"type": "http.response.body", "body": page.body})
        return
    loop = asyncio.get_running_loop()
    try:
        while (chunk := await loop.run_in_executor(pool, next, page.stream, None)) is not None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except Exception:
        ids = [v for k, v in page.headers if k == "x-amzn-requestid"]
        log.exception("console response %s cut short: its body failed while sent", ids)
        raise
    finally:
        page.stream.close()
    # Reached only when the whole body was sent: an error above cuts the response short.
    await send({"type": "http.response.body", "body": b""})


async def _respond_error(send: Send, error: ServiceError, request_id: str) -> int:
    status = error.status_hint or (400 if error.sender_fault else 500)
    # As Rekognition answers: __type and message, and the Code, Message and Logref members its
    # exceptions carry (Logref: the request id), so every SDK's typed error finds its fields.
    body = json.dumps(
        {
            "__type": error.code,
            "message": error.message,
            "Code": error.code,
            "Message": error.message,
            "Logref": request_id,
        }
    ).encode()
    await _respond(send, status, body, request_id, ((b"x-amzn-errortype", error.code.encode()),))
    return status


async def _respond_query_error(send: Send, error: ServiceError, request_id: str) -> int:
    """An STS error, as STS answers it: XML under its own code (``InvalidClientTokenId``...)."""
    status, code, body = query_protocol.encode_error(error, request_id, STS_NAMESPACE)
    await _respond(
        send,
        status,
        body,
        request_id,
        ((b"x-amzn-errortype", code.encode()),),
        content_type=query_protocol.CONTENT_TYPE,
    )
    return status
