"""The console's pages: sign-in, collections, try, reviews, keys, principals and policies,
evaluations, audit log.

Every page that reads or changes anything does it through the governance gate
(:class:`~agnosco.governance.gate.Gate`), exactly as a signed API call would: Rekognition
operations through :meth:`Gate.call`, governance actions (deciding a review, keys, principals
and policies, reading or verifying the audit log) through :meth:`Gate.govern`, with a
:class:`~agnosco.governance.actions.Caller` whose ``channel`` is ``"console"``.  So the same
policies decide, and the same audit log records each call, marked ``"channel": "console"``.
What a principal's policies do not allow is not offered (:meth:`Gate.permits` decides which
forms a page shows); a change sent anyway is refused by the gate, audited, and answered with a
403 page in words.

:meth:`Console.handle` is synchronous (the gate and the models block): the server runs it in
a worker thread, on the model queue for :meth:`Console.analyses_images` requests.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hmac
import json
import logging
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, Undefined, select_autoescape

from agnosco.auth.keys import KeyOwner, KeyStore, NewKey
from agnosco.console.http import FormError, Request, Response, Upload, redirect
from agnosco.console.sessions import ConsoleSessions, Session, verify_secret
from agnosco.errors import (
    AccessDeniedException,
    InternalServerError,
    InvalidParameterException,
    MalformedPolicyDocumentException,
    ResourceNotFoundException,
    ServiceError,
)
from agnosco.evaluation.json_fields import ReportFormatError
from agnosco.evaluation.records import EvaluationRecord, list_evaluations
from agnosco.governance.actions import Caller
from agnosco.governance.audit import AuditEntry
from agnosco.governance.gate import CallResult, Gate
from agnosco.governance.principals import builtin_policies
from agnosco.governance.review import PENDING, candidate_summary
from agnosco.operations.context import OperationContext

log = logging.getLogger("agnosco.console")
T = TypeVar("T")

PREFIX = "/console"
SESSION_COOKIE = "agnosco_session"
#: The sign-in form's CSRF token, a cookie its form must repeat (no session exists yet).
SIGN_IN_COOKIE = "agnosco_sign_in"
CHANNEL = "console"
#: Failed sign-ins from one address within SIGN_IN_WINDOW_SECONDS before it must wait.
SIGN_IN_FAILURES = 10
SIGN_IN_WINDOW_SECONDS = 300.0
#: Audit records shown per page.
AUDIT_PAGE = 100
#: Faces listed per page.
FACE_PAGE = 100
#: About how many bytes of the audit export are sent at a time.
EXPORT_CHUNK = 64 * 1024
_STATIC = {"console.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}
_SECURITY_HEADERS = [
    # Nothing is fetched from elsewhere; images are the page's own upload (data: URIs).
    (
        "content-security-policy",
        (
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    # Not no-referrer: with it a browser sends "Origin: null", and the origin check refuses.
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
]
#: A stored evaluation report's page: its own inline CSS and data: plots, and nothing else.
_REPORT_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
)
_STATUS_WORDS = {
    400: "The request could not be carried out",
    403: "Not allowed",
    404: "Not found",
    500: "Something went wrong on the server",
    503: "The server is busy",
}


@dataclass(frozen=True)
class Visitor:
    """Who is signed in: the session, its key's owner, and the gate's view of them."""

    session: Session
    owner: KeyOwner
    caller: Caller

    @property
    def principal(self) -> str:
        return self.owner.principal


class Console:
    """The web console, on the deployment's context, keys, gate and sessions."""

    def __init__(
        self,
        context: OperationContext,
        keys: KeyStore,
        gate: Gate,
        sessions: ConsoleSessions,
        *,
        evaluations: Path | None = None,
        sign_in_failures: int = SIGN_IN_FAILURES,
        sign_in_window: float = SIGN_IN_WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.context, self.keys, self.gate, self.sessions = context, keys, gate, sessions
        #: The data directory whose stored evaluations (``agnosco evaluate``) the console shows.
        self.evaluations = evaluations
        #: Failed sign-ins per client address in the last ``sign_in_window`` seconds: beyond
        #: ``sign_in_failures`` of them, that address may not sign in until they age out.
        self._failures: dict[str, deque[float]] = {}
        self._failures_lock = threading.Lock()
        self._max_failures, self._window, self._monotonic = (
            sign_in_failures,
            sign_in_window,
            monotonic,
        )
        self._templates = Environment(
            loader=PackageLoader("agnosco.console", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            # Responses are TypedDicts with optional members: a missing one renders as nothing
            # (templates say "-" for it), rather than failing the page.
            undefined=Undefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates.filters["utc"] = _utc
        self._templates.filters["fmr"] = _fmr_band
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"/?"), self._home),
            ("GET", re.compile(r"/sign-in"), self._sign_in_page),
            ("POST", re.compile(r"/sign-in"), self._sign_in),
            ("POST", re.compile(r"/sign-out"), self._sign_out),
            ("GET", re.compile(r"/collections"), self._collections),
            ("POST", re.compile(r"/collections"), self._create_collection),
            ("GET", re.compile(r"/collections/([^/]+)"), self._collection),
            ("POST", re.compile(r"/collections/([^/]+)/delete"), self._delete_collection),
            ("POST", re.compile(r"/collections/([^/]+)/users"), self._create_user),
            (
                "POST",
                re.compile(r"/collections/([^/]+)/users/([^/]+)/delete"),
                self._delete_user,
            ),
            ("GET", re.compile(r"/try"), self._try_page),
            ("POST", re.compile(r"/try"), self._try),
            ("GET", re.compile(r"/reviews"), self._reviews),
            ("POST", re.compile(r"/reviews/([^/]+)"), self._decide_review),
            ("GET", re.compile(r"/keys"), self._keys_page),
            ("POST", re.compile(r"/keys"), self._create_key),
            ("POST", re.compile(r"/keys/([^/]+)/revoke"), self._revoke_key),
            ("GET", re.compile(r"/principals"), self._principals),
            ("POST", re.compile(r"/principals"), self._create_principal),
            ("POST", re.compile(r"/principals/([^/]+)/attach"), self._attach_policy),
            ("POST", re.compile(r"/principals/([^/]+)/detach/([^/]+)"), self._detach_policy),
            ("GET", re.compile(r"/policies/([^/]+)"), self._policy),
            ("POST", re.compile(r"/policies"), self._put_policy),
            ("GET", re.compile(r"/evaluations"), self._evaluations),
            ("GET", re.compile(r"/evaluations/([^/]+)"), self._evaluation),
            ("GET", re.compile(r"/audit"), self._audit),
            ("GET", re.compile(r"/audit/verify"), self._audit_verify),
            ("GET", re.compile(r"/audit/export"), self._audit_export),
            ("GET", re.compile(r"/usage"), self._usage),
        ]

    # dispatch -------------------------------------------------------------------------------
    @staticmethod
    def serves(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    @staticmethod
    def analyses_images(method: str, path: str) -> bool:
        """Does this request run a model (it then waits on the server's model queue)?"""
        return method == "POST" and path.rstrip("/") == PREFIX + "/try"

    def handle(self, request: Request) -> Response:
        """The response to one console request; never raises, never shows a stack trace."""
        try:
            response = self._dispatch(request)
        except Exception:
            log.exception("console request %s (%s) failed", request.request_id, request.path)
            response = self.error_page(
                500,
                "An unexpected error stopped this page. Nothing is shown of it here; the "
                f"server's log has it under request id {request.request_id}.",
            )
        given = {name for name, _ in response.headers}  # a page may bring its own policy
        response.headers.extend(h for h in _SECURITY_HEADERS if h[0] not in given)
        response.headers.append(("x-amzn-requestid", request.request_id))
        return response

    def _dispatch(self, request: Request) -> Response:
        path = request.path[len(PREFIX) :]
        if request.method == "GET" and path.startswith("/static/"):
            return self._static(path[len("/static/") :])
        methods = set()
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            methods.add(method)
            if method != request.method:
                continue
            args = list(match.groups())  # the ASGI path is percent-decoded already
            if handler in (self._sign_in_page, self._sign_in):
                return handler(request)
            visitor = self._visitor(request)
            if visitor is None:
                if request.method == "POST":
                    return self.error_page(
                        403, "Your session has ended; sign in again.", visitor=None
                    )
                return redirect(f"{PREFIX}/sign-in?next={quote(request.path)}")
            if request.method == "POST":
                refusal = self._check_form(request, visitor)
                if refusal is not None:
                    return refusal
            try:
                return handler(request, visitor, *args)
            except ServiceError as error:
                return self.service_error_page(error, visitor)
            except FormError as error:
                return self.error_page(400, str(error), visitor=visitor)
        if methods:
            return self.error_page(405, f"This page does not accept {request.method}.")
        return self.error_page(404, "There is no such console page.")

    # sessions -------------------------------------------------------------------------------
    def _visitor(self, request: Request) -> Visitor | None:
        token = request.cookie(SESSION_COOKIE)
        if not token:
            return None
        session = self.sessions.get(token)
        if session is None:
            return None
        owner = self.keys.owner(session.access_key_id)
        if owner is None:  # the key was revoked: its sessions end with it
            self.sessions.end_key(session.access_key_id)
            return None
        caller = Caller(
            principal=owner.principal,
            access_key_id=session.access_key_id,
            source_ip=request.client_ip,
            region=self.context.region,
            purpose=owner.default_purpose,
            consent_reference=None,
            request_id=request.request_id,
            channel=CHANNEL,
        )
        return Visitor(session, owner, caller)

    def _check_form(self, request: Request, visitor: Visitor) -> Response | None:
        """Refuse a POST whose CSRF token is not its session's (audited)."""
        try:
            fields, _ = request.form()
        except FormError as error:
            return self.error_page(400, str(error), visitor=visitor)
        if _same_origin(request) and hmac.compare_digest(
            fields.get("csrf", "").encode(), visitor.session.csrf_token.encode()
        ):
            return None
        self._audit_refusal(
            request,
            "agnosco:ConsoleForm",
            visitor.principal,
            visitor.session.access_key_id,
            "form refused: missing or wrong CSRF token, or another origin",
            path=request.path,
        )
        return self.error_page(
            403,
            "This form did not come from this console page (its security token is missing or "
            "wrong), so nothing was changed. Reload the page and try again.",
            visitor=visitor,
        )

    def _sign_in_page(
        self, request: Request, message: str | None = None, next_path: str | None = None
    ) -> Response:
        """The sign-in form (again after a failure, with ``message`` and the page it was to
        lead to, ``next_path``)."""
        token = secrets.token_urlsafe(24)
        page = self.render(
            "sign_in.html",
            None,
            status=400 if message else 200,
            csrf=token,
            message=message,
            next=_safe_next(request.arg("next") if next_path is None else next_path),
            ended=request.arg("ended"),
        )
        page.headers.append(("set-cookie", self._cookie(request, SIGN_IN_COOKIE, token, 900)))
        return page

    def _sign_in(self, request: Request) -> Response:
        try:
            fields, _ = request.form()
        except FormError as error:
            return self._sign_in_page(request, str(error))
        expected = request.cookie(SIGN_IN_COOKIE) or ""
        if (
            not expected
            or not _same_origin(request)
            or not hmac.compare_digest(fields.get("csrf", "").encode(), expected.encode())
        ):
            return self._sign_in_page(
                request,
                "The sign-in form had expired or did not come from this page; try again.",
                fields.get("next", ""),
            )
        key_id = fields.get("access_key_id", "").strip()
        secret = fields.get("secret_access_key", "")
        address = request.client_ip or "-"
        wait = self._throttled(address)
        if wait is not None:
            self._audit_refusal(
                request,
                "agnosco:ConsoleSignIn",
                None,
                key_id[:128] or None,
                f"too many failed sign-ins from {address}",
            )
            page = self._sign_in_page(
                request,
                f"Too many failed sign-ins from your address: try again in {wait} minute"
                f"{'' if wait == 1 else 's'}.",
                fields.get("next", ""),
            )
            page.status = 429
            return page
        if not verify_secret(self.keys.secret_for(key_id) if key_id else None, secret):
            self._failed(address)
            self._audit_refusal(
                request,
                "agnosco:ConsoleSignIn",
                None,
                key_id[:128] or None,
                "unknown or revoked access key, or a wrong secret",
            )
            return self._sign_in_page(
                request,
                "The access key id or the secret is wrong, or the key was revoked.",
                fields.get("next", ""),
            )
        owner = self.keys.owner(key_id)
        # Recorded first: if the log cannot be written, no session is opened.
        self.gate.append(
            self._record(
                request,
                "agnosco:ConsoleSignIn",
                owner.principal if owner else None,
                key_id,
                "Allow",
                "access key secret verified",
            )
        )
        previous = request.cookie(SESSION_COOKIE)
        if previous:  # a session this browser held before ends: one browser, one session
            self.sessions.end(previous)
        opened = self.sessions.open(key_id)
        return redirect(
            _safe_next(fields.get("next", "")) or f"{PREFIX}/",
            self._cookie(
                request, SESSION_COOKIE, opened.token, int(self.sessions.lifetime), http_only=True
            ),
            self._cookie(request, SIGN_IN_COOKIE, "", 0),
        )

    def _throttled(self, address: str) -> int | None:
        """Whole minutes until ``address`` may try again, or None when it may now."""
        now = self._monotonic()
        with self._failures_lock:
            failures = self._failures.get(address)
            if failures is None:
                return None
            while failures and failures[0] <= now - self._window:
                failures.popleft()
            if not failures:
                del self._failures[address]
                return None
            if len(failures) < self._max_failures:
                return None
            return max(1, math.ceil((failures[0] + self._window - now) / 60))

    def _failed(self, address: str) -> None:
        now = self._monotonic()
        with self._failures_lock:
            if len(self._failures) > 10_000:  # many addresses: forget those aged out
                for stale in [a for a, f in self._failures.items() if f[-1] <= now - self._window]:
                    del self._failures[stale]
            self._failures.setdefault(address, deque()).append(now)

    def _sign_out(self, request: Request, visitor: Visitor) -> Response:
        token = request.cookie(SESSION_COOKIE)
        if token:
            self.sessions.end(token)
        self.gate.append(
            self._record(
                request,
                "agnosco:ConsoleSignOut",
                visitor.principal,
                visitor.session.access_key_id,
                "Allow",
                "signed out",
            )
        )
        return redirect(
            f"{PREFIX}/sign-in?ended=signed-out",
            self._cookie(request, SESSION_COOKIE, "", 0, http_only=True),
        )

    def _cookie(
        self, request: Request, name: str, value: str, max_age: int, *, http_only: bool = True
    ) -> str:
        parts = [f"{name}={value}", f"Path={PREFIX}", f"Max-Age={max_age}", "SameSite=Strict"]
        if http_only:
            parts.append("HttpOnly")
        if request.scheme == "https":
            parts.append("Secure")
        return "; ".join(parts)

    def _record(
        self,
        request: Request,
        operation: str,
        principal: str | None,
        access_key_id: str | None,
        decision: str,
        reason: str,
        **parameters: Any,
    ) -> AuditEntry:
        record: AuditEntry = {
            "time": self.context.clock(),
            "request_id": request.request_id,
            "principal": principal,
            "access_key_id": access_key_id,
            "source": request.client_ip,
            "channel": CHANNEL,
            "region": self.context.region,
            "operation": operation,
            "decision": "Allow" if decision == "Allow" else "Deny",
            "reason": reason,
        }
        if parameters:
            record["parameters"] = parameters
        return record

    def _audit_refusal(
        self,
        request: Request,
        operation: str,
        principal: str | None,
        access_key_id: str | None,
        reason: str,
        **parameters: Any,
    ) -> None:
        self.gate.append(
            self._record(request, operation, principal, access_key_id, "Deny", reason, **parameters)
            | {"error": "AccessDeniedException"}
        )

    # rendering -------------------------------------------------------------------------------
    def render(
        self, template: str, visitor: Visitor | None, *, status: int = 200, **values: Any
    ) -> Response:
        nav = self._pages(visitor) if visitor is not None else []
        html = self._templates.get_template(template).render(
            prefix=PREFIX,
            visitor=visitor,
            csrf=visitor.session.csrf_token if visitor else values.pop("csrf", ""),
            nav=nav,
            region=self.context.region,
            **values,
        )
        return Response(status, html.encode("utf-8"))

    def _pages(self, visitor: Visitor) -> list[tuple[str, str]]:
        """The pages the visitor's policies let them open, for the menu (all of them named
        when none is: each then says in words what is not allowed)."""
        now = self.context.clock()
        pages = [
            ("collections", "Collections", self._permits("ListCollections", {}, visitor)),
            (
                "try",
                "Try an image",
                any(op.probed and self._offers(op, visitor) for op in TRY_OPERATIONS.values()),
            ),
        ]
        for slug, label, action in (
            ("reviews", "Reviews", "agnosco:ListReviews"),
            ("audit", "Audit log", "agnosco:ReadAuditLog"),
            ("keys", "Access keys", "agnosco:ListAccessKeys"),
            ("principals", "Principals and policies", "agnosco:ListPrincipals"),
            ("evaluations", "Evaluations", "agnosco:ListEvaluations"),
            ("usage", "Usage", "agnosco:ReadUsage"),
        ):
            pages.append((slug, label, self.gate.permits_action(action, "*", visitor.caller, now)))
        allowed = [(slug, label) for slug, label, ok in pages if ok]
        return allowed or [(slug, label) for slug, label, _ in pages[:4]]

    def error_page(self, status: int, message: str, visitor: Visitor | None = None) -> Response:
        return self.render(
            "error.html",
            visitor,
            status=status,
            title=_STATUS_WORDS.get(status, "The request could not be carried out"),
            message=message,
            code=None,
        )

    def service_error_page(self, error: ServiceError, visitor: Visitor | None) -> Response:
        status = (
            403
            if isinstance(error, AccessDeniedException)
            else 404
            if error.code == "ResourceNotFoundException"
            else (error.status_hint or (400 if error.sender_fault else 500))
        )
        message = error.message
        if isinstance(error, AccessDeniedException):
            message = (
                "Your policies do not allow this, so nothing was changed; the refusal is in the "
                f"audit log. ({error.message})"
            )
        return self.render(
            "error.html",
            visitor,
            status=status,
            title=_STATUS_WORDS.get(status, "The request could not be carried out"),
            message=message,
            code=error.code,
        )

    def _static(self, name: str) -> Response:
        if name not in _STATIC:
            return self.error_page(404, "There is no such file.")
        from importlib import resources

        data = (resources.files("agnosco.console") / "static" / name).read_bytes()
        response = Response(200, data, content_type=_STATIC[name])
        return response

    # gate -----------------------------------------------------------------------------------
    def _call(self, operation: str, request: dict[str, Any], visitor: Visitor) -> dict[str, Any]:
        context = dataclasses.replace(self.context, consent_reference=None)
        result = self.gate.call(operation, request, visitor.caller, context)
        return dict(result.response)

    def _govern(
        self,
        action: str,
        visitor: Visitor,
        parameters: dict[str, Any],
        run: Callable[[], T],
        *,
        changes: bool = False,
        resource: str = "*",
        result: Callable[[T], dict[str, Any]] | None = None,
    ) -> T:
        """A governance action (``agnosco:...``) on ``resource`` as the visitor, now, through
        :meth:`Gate.govern`: decided by their policies and audited (before it runs, too, when
        it ``changes`` anything)."""
        return self.gate.govern(
            action,
            resource,
            visitor.caller,
            parameters,
            run,
            now=self.context.clock(),
            changes_state=changes,
            result=result,
        )

    def _permits(self, operation: str, request: dict[str, Any], visitor: Visitor) -> bool:
        return self.gate.permits(operation, request, visitor.caller, self.context)

    def _collection_arn(self, collection_id: str | None) -> str:
        if not collection_id:
            return "*"
        return (
            f"arn:aws:rekognition:{self.context.region}:{self.context.account_id}"
            f":collection/{collection_id}"
        )

    # pages ----------------------------------------------------------------------------------
    def _home(self, request: Request, visitor: Visitor) -> Response:
        """The first page the visitor may open (a reviewer lands on the reviews)."""
        return redirect(f"{PREFIX}/{self._pages(visitor)[0][0]}")

    def _collections(self, request: Request, visitor: Visitor) -> Response:
        listing: dict[str, Any] = {"MaxResults": 100}
        if request.arg("next"):
            listing["NextToken"] = request.arg("next")
        page = self._call("ListCollections", listing, visitor)
        rows = []
        for collection_id in page.get("CollectionIds", []):
            try:
                described = self._call(
                    "DescribeCollection", {"CollectionId": collection_id}, visitor
                )
            except ServiceError as error:  # e.g. a policy allowing some collections only
                rows.append({"id": collection_id, "error": error.message})
                continue
            rows.append({"id": collection_id, "error": None, **described})
        return self.render(
            "collections.html",
            visitor,
            collections=rows,
            next_token=page.get("NextToken"),
            can_create=self._permits("CreateCollection", {"CollectionId": "x"}, visitor),
        )

    def _create_collection(self, request: Request, visitor: Visitor) -> Response:
        fields, _ = request.form()
        collection_id = fields.get("collection_id", "").strip()
        self._call("CreateCollection", {"CollectionId": collection_id}, visitor)
        return redirect(f"{PREFIX}/collections/{quote(collection_id, safe='')}?created=1")

    def _collection(self, request: Request, visitor: Visitor, collection_id: str) -> Response:
        described = self._call("DescribeCollection", {"CollectionId": collection_id}, visitor)
        listing: dict[str, Any] = {"CollectionId": collection_id, "MaxResults": FACE_PAGE}
        if request.arg("next"):
            listing["NextToken"] = request.arg("next")
        faces: dict[str, Any] | None = None
        faces_error = None
        try:
            faces = self._call("ListFaces", listing, visitor)
        except ServiceError as error:
            faces_error = error.message
        users: dict[str, Any] | None = None
        try:
            users = self._call(
                "ListUsers", {"CollectionId": collection_id, "MaxResults": 100}, visitor
            )
        except ServiceError:
            users = None
        return self.render(
            "collection.html",
            visitor,
            collection_id=collection_id,
            described=described,
            faces=faces,
            faces_error=faces_error,
            users=users,
            created=request.arg("created") == "1",
            can_delete=self._permits("DeleteCollection", {"CollectionId": collection_id}, visitor),
            can_create_user=self._permits(
                "CreateUser", {"CollectionId": collection_id, "UserId": "x"}, visitor
            ),
            can_delete_user=self._permits(
                "DeleteUser", {"CollectionId": collection_id, "UserId": "x"}, visitor
            ),
            done=request.arg("done"),
        )

    def _delete_collection(
        self, request: Request, visitor: Visitor, collection_id: str
    ) -> Response:
        fields, _ = request.form()
        if fields.get("confirm", "") != collection_id:
            return self.error_page(
                400,
                f"To delete the collection, type its id ({collection_id}) in the confirmation "
                "field. Nothing was deleted.",
                visitor=visitor,
            )
        self._call("DeleteCollection", {"CollectionId": collection_id}, visitor)
        return redirect(f"{PREFIX}/collections?deleted={quote(collection_id, safe='')}")

    def _create_user(self, request: Request, visitor: Visitor, collection_id: str) -> Response:
        fields, _ = request.form()
        user_id = fields.get("user_id", "").strip()
        self._call("CreateUser", {"CollectionId": collection_id, "UserId": user_id}, visitor)
        done = quote(f"created user {user_id}")
        return redirect(f"{PREFIX}/collections/{quote(collection_id, safe='')}?done={done}")

    def _delete_user(
        self, request: Request, visitor: Visitor, collection_id: str, user_id: str
    ) -> Response:
        self._call("DeleteUser", {"CollectionId": collection_id, "UserId": user_id}, visitor)
        done = quote(f"deleted user {user_id}")
        return redirect(f"{PREFIX}/collections/{quote(collection_id, safe='')}?done={done}")

    def _try_page(self, request: Request, visitor: Visitor) -> Response:
        return self._render_try(visitor, None)

    def _render_try(
        self, visitor: Visitor, result: dict[str, Any] | None, status: int = 200
    ) -> Response:
        collections: list[str] = []
        if self._permits("ListCollections", {}, visitor):
            collections = self._call("ListCollections", {"MaxResults": 1000}, visitor).get(
                "CollectionIds", []
            )
        offered = [op for op in TRY_OPERATIONS.values() if self._offers(op, visitor)]
        return self.render(
            "try.html",
            visitor,
            status=status,
            result=result,
            collections=collections,
            operations=offered,
            refused=[op.name for op in TRY_OPERATIONS.values() if op not in offered],
            fmr=_fmr_words(self.context),
        )

    def _offers(self, operation: TryOperation, visitor: Visitor) -> bool:
        """Is ``operation``'s form shown to the visitor?"""
        if not operation.probed:
            return True
        return self._permits(operation.name, {"Image": {"Bytes": b""}}, visitor)

    def _try(self, request: Request, visitor: Visitor) -> Response:
        fields, files = request.form()
        operation = TRY_OPERATIONS.get(fields.get("operation", "DetectFaces"))
        if operation is None:
            raise FormError("The try page does not run this operation.")
        uploads = [files.get(name) for name, _ in operation.uploads]
        chosen = [u for u in uploads if u is not None and u.data]
        if len(chosen) < len(uploads):
            raise FormError(operation.missing)
        # The images go to the operation and back into this page only: they are not stored.
        called_with = operation.request(
            _try_values(operation, fields), [{"Bytes": u.data} for u in chosen]
        )
        called = self._identify(operation.name, called_with, fields, visitor)
        response = dict(called.response)
        shown = operation.show(called_with, response, chosen)
        return self._render_try(
            visitor,
            {
                **shown,
                "operation": operation.name,
                "answer": operation.answer,
                "review": _review_headers(called.headers),
                "json": json.dumps(response, indent=2, default=str),
            },
        )

    def _identify(
        self, operation: str, request: dict[str, Any], fields: dict[str, str], visitor: Visitor
    ) -> CallResult:
        """A call through the gate with the purpose the form declares (as the signed
        x-agnosco-purpose header does; else the key's or the principal's default)."""
        purpose = fields.get("purpose", "").strip()[:256] or None
        caller = dataclasses.replace(visitor.caller, purpose=purpose or visitor.caller.purpose)
        context = dataclasses.replace(self.context, consent_reference=None)
        return self.gate.call(operation, request, caller, context)

    def _reviews(self, request: Request, visitor: Visitor) -> Response:
        now = self.context.clock()
        reviews = self._govern(
            "agnosco:ListReviews",
            visitor,
            {"status": PENDING},
            lambda: self.gate.reviews.list(PENDING),
            result=lambda found: {"Reviews": len(found)},
        )
        return self.render(
            "reviews.html",
            visitor,
            reviews=[
                {
                    "review": r,
                    "decided_by_me": any(d["reviewer"] == visitor.principal for d in r.decisions),
                    "confirms": sum(d["decision"] == "confirm" for d in r.decisions),
                    "can_decide": self.gate.permits_action(
                        "agnosco:DecideReview",
                        self._collection_arn(r.collection_id),
                        visitor.caller,
                        now,
                    ),
                }
                for r in reviews
            ],
            decided=request.arg("decided"),
            fmr=_fmr_words(self.context),
        )

    def _decide_review(self, request: Request, visitor: Visitor, review_id: str) -> Response:
        fields, _ = request.form()
        decision = fields.get("decision", "")
        reason = fields.get("reason", "").strip()
        if decision not in ("confirm", "reject"):
            raise FormError("Choose whether to confirm or reject the match.")
        if not reason:
            raise FormError("A decision needs a reason; it is kept in the audit log.")
        review = self.gate.reviews.get(review_id)
        decided = self._govern(
            "agnosco:DecideReview",
            visitor,
            {"review_id": review_id, "decision": decision, "reason": reason},
            lambda: self.gate.reviews.decide(review_id, visitor.principal, decision, reason),
            changes=True,
            resource=self._collection_arn(review.collection_id),
            result=lambda r: {
                "status": r.status,
                "candidates": [candidate_summary(c) for c in r.candidates],
            },
        )
        return redirect(f"{PREFIX}/reviews?decided={quote(decided.status)}")

    def _keys_page(
        self, request: Request, visitor: Visitor, created: NewKey | None = None
    ) -> Response:
        now = self.context.clock()
        keys = self._govern(
            "agnosco:ListAccessKeys",
            visitor,
            {},
            self.keys.list,
            result=lambda found: {"AccessKeys": len(found)},
        )
        return self.render(
            "keys.html",
            visitor,
            keys=keys,
            principals=[p.name for p in self.gate.store.list_principals()],
            created=created,
            revoked=request.arg("revoked"),
            can_create=self.gate.permits_action(
                "agnosco:CreateAccessKey", "*", visitor.caller, now
            ),
            can_revoke=self.gate.permits_action(
                "agnosco:RevokeAccessKey", "*", visitor.caller, now
            ),
        )

    def _create_key(self, request: Request, visitor: Visitor) -> Response:
        fields, _ = request.form()
        principal = fields.get("principal", "").strip()
        purpose = fields.get("default_purpose", "").strip() or None

        def create() -> NewKey:
            self.gate.store.principal(principal)  # the owner must exist
            return self.keys.create(principal, default_purpose=purpose)

        created = self._govern(
            "agnosco:CreateAccessKey",
            visitor,
            {"principal": principal, "default_purpose": purpose},
            create,
            changes=True,
            # The id only: the secret is shown once, in this answer, and recorded nowhere.
            result=lambda new: {"AccessKeyId": new.access_key_id},
        )
        return self._keys_page(request, visitor, created)

    def _revoke_key(self, request: Request, visitor: Visitor, access_key_id: str) -> Response:
        def revoke() -> int:
            if not self.keys.revoke(access_key_id):
                raise ResourceNotFoundException(f"There is no access key {access_key_id}.")
            return self.sessions.end_key(access_key_id)  # its console sessions end now

        self._govern(
            "agnosco:RevokeAccessKey",
            visitor,
            {"access_key_id": access_key_id},
            revoke,
            changes=True,
            result=lambda n: {"SessionsEnded": n},
        )
        if access_key_id == visitor.session.access_key_id:
            return redirect(f"{PREFIX}/sign-in?ended=revoked")
        return redirect(f"{PREFIX}/keys?revoked={quote(access_key_id, safe='')}")

    def _principals(
        self,
        request: Request,
        visitor: Visitor,
        *,
        editing: tuple[str, str] | None = None,
        problem: str | None = None,
        status: int = 200,
    ) -> Response:
        now = self.context.clock()
        store = self.gate.store
        principals, policies = self._govern(
            "agnosco:ListPrincipals",
            visitor,
            {},
            lambda: (store.list_principals(), store.list_policies()),
            result=lambda found: {"Principals": len(found[0]), "Policies": len(found[1])},
        )

        def may(action: str) -> bool:
            return self.gate.permits_action(action, "*", visitor.caller, now)

        return self.render(
            "principals.html",
            visitor,
            status=status,
            principals=principals,
            policies=policies,
            builtin=set(builtin_policies()),
            blank_policy=json.dumps({"Version": "2012-10-17", "Statement": []}, indent=2),
            done=request.arg("done"),
            editing=editing,
            problem=problem,
            can_create=may("agnosco:CreatePrincipal"),
            can_attach=may("agnosco:AttachPolicy"),
            can_detach=may("agnosco:DetachPolicy"),
            can_put=may("agnosco:PutPolicy"),
        )

    def _create_principal(self, request: Request, visitor: Visitor) -> Response:
        fields, _ = request.form()
        name = fields.get("name", "").strip()
        attributes = {
            k: fields.get(k, "").strip() or None
            for k in ("organization", "organization_type", "default_purpose")
        }
        if not re.fullmatch(r"[A-Za-z0-9_.@+=,-]{1,128}", name):
            raise FormError(
                "A principal's name is 1 to 128 letters, digits or _ . @ + = , - characters."
            )
        self._govern(
            "agnosco:CreatePrincipal",
            visitor,
            {"name": name, **attributes},
            lambda: self.gate.store.create_principal(name, **attributes),
            changes=True,
        )
        return redirect(f"{PREFIX}/principals?done={quote(f'created principal {name}')}")

    def _attach_policy(self, request: Request, visitor: Visitor, principal: str) -> Response:
        fields, _ = request.form()
        policy = fields.get("policy", "")
        self._govern(
            "agnosco:AttachPolicy",
            visitor,
            {"policy": policy, "principal": principal},
            lambda: self.gate.store.attach(policy, principal),
            changes=True,
        )
        done = f"attached {policy} to {principal}"
        return redirect(f"{PREFIX}/principals?done={quote(done)}")

    def _detach_policy(
        self, request: Request, visitor: Visitor, principal: str, policy: str
    ) -> Response:
        self._govern(
            "agnosco:DetachPolicy",
            visitor,
            {"policy": policy, "principal": principal},
            lambda: self.gate.store.detach(policy, principal),
            changes=True,
        )
        done = f"detached {policy} from {principal}"
        return redirect(f"{PREFIX}/principals?done={quote(done)}")

    def _policy(self, request: Request, visitor: Visitor, name: str) -> Response:
        policy = self._govern(
            "agnosco:ListPrincipals",
            visitor,
            {"policy": name},
            lambda: self.gate.store.get_policy(name),
        )
        document = json.dumps(policy.document, indent=2)
        return self._principals(request, visitor, editing=(name, document))

    def _put_policy(self, request: Request, visitor: Visitor) -> Response:
        fields, _ = request.form()
        name = fields.get("name", "").strip()
        document = fields.get("document", "")
        if not re.fullmatch(r"[A-Za-z0-9_+=,.@-]{1,128}", name):
            raise FormError(
                "A policy's name is 1 to 128 letters, digits or _ + = , . @ - characters."
            )
        try:
            self._govern(
                "agnosco:PutPolicy",
                visitor,
                {"name": name, "document": document},
                lambda: self.gate.store.put_policy(name, document),
                changes=True,
            )
        except (MalformedPolicyDocumentException, InvalidParameterException) as error:
            # The editor again, with the document as sent and why the server refused it.
            return self._principals(
                request, visitor, editing=(name, document), problem=error.message, status=400
            )
        return redirect(f"{PREFIX}/principals?done={quote(f'stored policy {name}')}")

    def _stored_evaluations(self) -> list[EvaluationRecord]:
        if self.evaluations is None:
            return []
        try:
            return list_evaluations(self.evaluations)
        except ReportFormatError as error:
            raise InternalServerError(f"A stored evaluation cannot be read: {error}") from error

    def _evaluations(self, request: Request, visitor: Visitor) -> Response:
        records = self._govern(
            "agnosco:ListEvaluations",
            visitor,
            {},
            self._stored_evaluations,
            result=lambda found: {"Evaluations": len(found)},
        )
        return self.render(
            "evaluations.html",
            visitor,
            records=list(reversed(records)),
            running=(self.context.face_model.version, self.context.calibration.version),
        )

    def _evaluation(self, request: Request, visitor: Visitor, record_id: str) -> Response:
        def read() -> bytes:
            found = {r.record_id: r for r in self._stored_evaluations()}
            if record_id not in found:
                raise ResourceNotFoundException(f"There is no stored evaluation {record_id}.")
            return (found[record_id].path / "report.html").read_bytes()

        report = self._govern("agnosco:ListEvaluations", visitor, {"evaluation": record_id}, read)
        # The report as ``agnosco evaluate`` wrote it (inline CSS, plots as data: images), in a
        # sandbox: no script, nothing fetched, no form.
        return Response(
            200,
            report,
            headers=[("content-security-policy", _REPORT_POLICY)],
        )

    def _audit_filters(self, request: Request) -> dict[str, str]:
        """The audit page's filters as given (principal, operation, collection, and the UTC days
        ``since`` and ``until``, both included).

        :raises FormError: a day that is not YYYY-MM-DD.
        """
        filters = {
            k: request.arg(k).strip()[:256]
            for k in ("principal", "operation", "collection", "since", "until")
            if request.arg(k).strip()
        }
        for k in ("since", "until"):
            if k in filters:
                try:
                    dt.date.fromisoformat(filters[k])
                except ValueError:
                    raise FormError(f"The day {filters[k]!r} is not a date (YYYY-MM-DD).") from None
        return filters

    @staticmethod
    def _audit_query(filters: dict[str, str]) -> dict[str, Any]:
        """The filters as :meth:`AuditLog.search` takes them (days as epoch seconds)."""

        def day(value: str, after: int = 0) -> float:
            start = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
            return (start + dt.timedelta(days=after)).timestamp()

        return {
            "principal": filters.get("principal"),
            "operation": filters.get("operation"),
            "collection": filters.get("collection"),
            "since": day(filters["since"]) if "since" in filters else None,
            "until": day(filters["until"], 1) if "until" in filters else None,
        }

    def _audit(self, request: Request, visitor: Visitor) -> Response:
        filters = self._audit_filters(request)
        before = request.arg("before")
        before_seq = int(before) if before.isdigit() else None
        records = self._govern(
            "agnosco:ReadAuditLog",
            visitor,
            {**filters, "before": before_seq},
            lambda: self.gate.audit.search(
                **self._audit_query(filters), before=before_seq, limit=AUDIT_PAGE
            ),
            result=lambda found: {"Records": len(found)},
        )
        older = (
            urlencode({**filters, "before": records[-1]["seq"]})
            if len(records) == AUDIT_PAGE
            else None
        )
        return self.render(
            "audit.html",
            visitor,
            records=records,
            filters=filters,
            older=older,
            export=urlencode(filters),
            verified=None,
            can_verify=self.gate.permits_action(
                "agnosco:VerifyAuditLog", "*", visitor.caller, self.context.clock()
            ),
        )

    def _audit_verify(self, request: Request, visitor: Visitor) -> Response:
        report = self._govern(
            "agnosco:VerifyAuditLog",
            visitor,
            {},
            self.gate.audit.verify,
            result=lambda r: {"ok": r.ok, "count": r.count, "problems": len(r.problems)},
        )
        return self.render(
            "audit.html",
            visitor,
            records=[],
            filters={},
            older=None,
            export="",
            verified=report,
            can_verify=True,
        )

    def _audit_export(self, request: Request, visitor: Visitor) -> Response:
        filters = self._audit_filters(request)
        query = self._audit_query(filters)
        audit = self.gate.audit

        def plan() -> tuple[int, int]:
            """What is exported: the records up to the last one now, and how many match."""
            up_to = audit.last_seq()
            return up_to, audit.count(**query, up_to=up_to)

        up_to, count = self._govern(
            "agnosco:ReadAuditLog",
            visitor,
            {**filters, "export": "jsonl"},
            plan,
            result=lambda planned: {"Records": planned[1]},
        )
        stamp = dt.datetime.fromtimestamp(self.context.clock(), dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return Response(
            200,
            b"",
            content_type="application/x-ndjson; charset=utf-8",
            headers=[
                ("content-disposition", f'attachment; filename="agnosco-audit-{stamp}.jsonl"'),
                ("x-agnosco-records", str(count)),
            ],
            # Streamed: a large log is never held in memory whole.
            stream=_chunks(audit.export_lines(**query, up_to=up_to)),
        )

    # usage ----------------------------------------------------------------------------------
    def _usage(self, request: Request, visitor: Visitor) -> Response:
        """The month's usage by principal and collection, with images per day as a chart drawn
        here (inline SVG, its figures also in a table)."""
        from agnosco.governance.usage import month_of, month_span

        month = request.arg("month").strip()[:16] or month_of(self.context.clock())
        principal = request.arg("principal").strip()[:256] or None
        try:
            month_span(month)
        except ServiceError as error:
            raise FormError(error.message) from None
        meter = self.gate.usage
        if meter is None:
            return self.error_page(404, "This deployment meters no usage.", visitor)
        report = self.gate.govern(
            "agnosco:ReadUsage",
            "*",
            visitor.caller,
            {"Month": month, "Principal": principal},
            lambda: meter.report(month, principal),
            now=self.context.clock(),
            changes_state=False,
            result=lambda r: {"Rows": len(r.rows)},
        )
        return self.render(
            "usage.html",
            visitor,
            report=report,
            principal=principal or "",
            chart=_usage_chart(report.images_by_day),
        )


def _usage_chart(images_by_day: dict[str, int]) -> dict[str, Any]:
    """Bars of images per day, in the SVG's own units (the template draws them)."""
    width, height, top = 620.0, 160.0, 10.0
    days = sorted(images_by_day)
    peak = max(images_by_day.values(), default=0)
    step = width / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        value = images_by_day[day]
        tall = 0.0 if peak == 0 else (height - top) * value / peak
        bars.append(
            {
                "day": day,
                "value": value,
                "x": round(i * step + 1, 2),
                "y": round(height - tall, 2),
                "width": round(max(step - 2, 1), 2),
                "height": round(tall, 2),
                "label": day[-2:],
                "labelled": i % 5 == 0 or i == len(days) - 1,
            }
        )
    return {"bars": bars, "width": width, "height": height, "peak": peak, "axis": height + 14}


def _safe_next(value: str) -> str:
    """A console path to return to after sign-in (never another site)."""
    if Console.serves(value) and not value.startswith("//") and "\\" not in value:
        return value
    return ""


def _same_origin(request: Request) -> bool:
    """A POST that says where it comes from must come from this host (a browser sends
    ``Origin`` with every form POST; tools that send none are judged by the token alone)."""
    origin = request.header("origin")
    if origin is None:
        return True
    host = request.header("host") or ""
    return origin in (f"http://{host}", f"https://{host}")


def _chunks(lines: Iterator[str], size: int = EXPORT_CHUNK) -> Generator[bytes, None, None]:
    """``lines`` as UTF-8, gathered into chunks of about ``size`` bytes."""
    chunk: list[bytes] = []
    held = 0
    for line in lines:
        data = line.encode("utf-8")
        chunk.append(data)
        held += len(data)
        if held >= size:
            yield b"".join(chunk)
            chunk, held = [], 0
    if chunk:
        yield b"".join(chunk)


def _data_uri(upload: Upload) -> str | None:
    """The uploaded image, to show it back in the page it was sent from (never stored)."""
    if upload.data.startswith(b"\xff\xd8"):
        kind = "image/jpeg"
    elif upload.data.startswith(b"\x89PNG"):
        kind = "image/png"
    else:
        return None
    return f"data:{kind};base64,{base64.b64encode(upload.data).decode('ascii')}"


def _utc(seconds: float | dt.datetime | None) -> str:
    if seconds is None:
        return "-"
    if isinstance(seconds, dt.datetime):
        return seconds.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return dt.datetime.fromtimestamp(float(seconds), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmr_words(context: OperationContext) -> list[tuple[float, str]]:
    """What a Similarity means as a false-match rate under the shipped calibration
    (``docs/similarity.md``): at or above each Similarity, about 1 pair of different people in
    N scores as high."""
    return [
        (similarity, f"about 1 in {round(1 / rate):,} pairs of different people")
        for similarity, rate in SHIPPED_FMR
    ]


def _numbers(fields: dict[str, str], request: dict[str, Any], *members: tuple[str, type]) -> None:
    """Copy the numeric members a form gives into ``request`` (the operation validates their
    range).

    :raises FormError: one that is not a number.
    """
    for member, kind in members:
        text = fields.get(member, "").strip()
        if text:
            try:
                request[member] = kind(text)
            except ValueError:
                raise FormError(f"{member} must be a number, not {text!r}.") from None


def _figure(
    upload: Upload,
    boxes: list[tuple[str, Any, str]],
    *,
    polygons: list[tuple[str, list[Any], str]] | None = None,
    shows: str = "face boxes",
    caption: str = "",
) -> dict[str, Any]:
    """An uploaded image with boxes to draw over it: (CSS class, BoundingBox, title); and
    ``polygons`` (CSS class, Polygon's Points, title). ``shows`` names what is drawn, for its
    label (``"3 face boxes on ..."``), and ``caption`` is added to the figure's caption."""
    drawn = [
        (kind, " ".join(f"{p['X']:.5f},{p['Y']:.5f}" for p in points), title)
        for kind, points, title in polygons or []
    ]
    return {
        "image": _data_uri(upload),
        "filename": upload.filename,
        "boxes": boxes,
        "points": [],
        "polygons": drawn,
        "label": f"{len(boxes) + len(drawn)} {shows}",
        "caption": caption,
    }


def _review_headers(headers: dict[str, str]) -> dict[str, str | None]:
    """What the gate said of a review holding the matches back (all None when none does)."""
    return {
        "id": headers.get("x-agnosco-review-id"),
        "candidates": headers.get("x-agnosco-review-candidates"),
        "reviewers": headers.get("x-agnosco-review-reviewers"),
    }


def _fmr_band(similarity: float | None) -> str:
    """What one Similarity means under the shipped calibration, in words."""
    if similarity is None:
        return "-"
    bands = [(s, rate) for s, rate in SHIPPED_FMR if similarity >= s]
    if not bands:
        return "below 80: more than 1 in 100 pairs of different people score as high"
    threshold, rate = bands[-1]
    return (
        f"at least {threshold:g}: about 1 in {round(1 / rate):,} pairs of different people or fewer"
    )


#: The shipped calibration's anchors (Similarity, false-match rate): docs/similarity.md.
SHIPPED_FMR = ((80.0, 1e-2), (90.0, 1e-3), (95.0, 1e-4), (99.0, 1e-5))


# the try page -------------------------------------------------------------------------------
#: What an image input of the try page accepts (the operations check the bytes themselves).
_IMAGE_LABEL = "Image (JPEG or PNG, at most 5 MB)"


@dataclass(frozen=True)
class TryField:
    """A control of a try-page form besides its images.

    ``kind``: ``text``; ``int`` or ``float`` (a number, left out of the request when empty);
    ``select`` (one of ``options``, (value, words) pairs; the first when none is sent);
    ``checks`` (a checkbox per option, named ``NAME.VALUE``, the first checked at first: the
    list of the values checked, left out of the request when none is);
    ``collection`` (a list of the collections the visitor may list, else typed);
    ``purpose`` (the purpose declared for the call, not a request member: see
    :meth:`Console._identify`).
    """

    name: str
    label: str
    kind: str = "text"
    options: tuple[tuple[str, str], ...] = ()
    size: int = 256


@dataclass(frozen=True)
class TryOperation:
    """An operation the try page runs on uploaded images: its form, its call and its answer.

    Adding one is an entry in :data:`TRY_OPERATIONS`: the form's images (``uploads``: field
    name and label, in the order ``request`` gets them) and ``fields``; ``request`` makes the
    operation's request from the fields' values (:func:`_try_values`) and the images
    (``{"Bytes": ...}``); ``show`` makes what the page shows from the request, the response
    and the uploads: ``title`` and ``figures`` (:func:`_figure`), and whatever the ``answer``
    template (under ``templates/``) lists. The call goes through the gate as any other, and the
    page adds the response JSON.
    """

    name: str
    heading: str
    button: str
    request: Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]]
    show: Callable[[dict[str, Any], dict[str, Any], list[Upload]], dict[str, Any]]
    answer: str
    uploads: tuple[tuple[str, str], ...] = (("image", _IMAGE_LABEL),)
    fields: tuple[TryField, ...] = ()
    help: str = ""
    missing: str = "Choose an image file to analyse."
    #: Shown only when policies permit the operation on an image; an identification's form is
    #: always shown (the purpose it declares may be what policies require: the gate decides).
    probed: bool = True


def _try_values(operation: TryOperation, fields: dict[str, str]) -> dict[str, Any]:
    """The values of ``operation``'s form fields that were given, checked and typed.

    :raises FormError: a number that is not one, an option that is not offered.
    """
    values: dict[str, Any] = {}
    for field in operation.fields:
        if field.kind in ("int", "float"):
            _numbers(fields, values, (field.name, int if field.kind == "int" else float))
        elif field.kind == "select":
            value = fields.get(field.name, field.options[0][0])
            allowed = [v for v, _ in field.options]
            if value not in allowed:
                raise FormError(f"{field.label} must be {' or '.join(allowed)}.")
            values[field.name] = value
        elif field.kind == "checks":
            if checked := [v for v, _ in field.options if fields.get(f"{field.name}.{v}")]:
                values[field.name] = checked
        elif text := fields.get(field.name, "").strip()[: field.size]:
            values[field.name] = text
    return values


def _given(values: dict[str, Any], *members: str) -> dict[str, Any]:
    return {m: values[m] for m in members if m in values}


def _show_faces(
    request: dict[str, Any], response: dict[str, Any], uploads: list[Upload]
) -> dict[str, Any]:
    faces = response.get("FaceDetails", [])
    figure = _figure(
        uploads[0], [("box", f["BoundingBox"], f"Face {i}") for i, f in enumerate(faces, 1)]
    )
    figure["points"] = [p for f in faces for p in f.get("Landmarks", [])]
    return {
        "title": f"{len(faces)} face{'' if len(faces) == 1 else 's'} in {uploads[0].filename}",
        "figures": [figure],
        "faces": faces,
    }


def _show_search(
    request: dict[str, Any], response: dict[str, Any], uploads: list[Upload]
) -> dict[str, Any]:
    box = response.get("SearchedFaceBoundingBox")
    return {
        "title": f"The largest face of {uploads[0].filename}, searched in "
        f"{request['CollectionId']}",
        "figures": [_figure(uploads[0], [("box", box, "The searched face")] if box else [])],
        "matches": response.get("FaceMatches", []),
    }


def _show_compare(
    request: dict[str, Any], response: dict[str, Any], uploads: list[Upload]
) -> dict[str, Any]:
    source, target = uploads
    source_face = response.get("SourceImageFace", {}).get("BoundingBox")
    matches = response.get("FaceMatches", [])
    boxes = [("box", m["Face"]["BoundingBox"], f"Match {i}") for i, m in enumerate(matches, 1)]
    unmatched = response.get("UnmatchedFaces", [])
    boxes += [("box unmatched", f["BoundingBox"], "Not a match") for f in unmatched]
    return {
        "title": f"The largest face of {source.filename} compared with the faces of "
        f"{target.filename}",
        "figures": [
            _figure(source, [("box", source_face, "The source face")] if source_face else []),
            _figure(target, boxes, caption="matches solid, faces that do not match dashed"),
        ],
        "matches": matches,
        "unmatched": len(unmatched),
    }


def _show_text(
    request: dict[str, Any], response: dict[str, Any], uploads: list[Upload]
) -> dict[str, Any]:
    detections = response.get("TextDetections", [])
    lines = [dict(d, words=[]) for d in detections if d.get("Type") == "LINE"]
    by_id = {line["Id"]: line for line in lines}
    for word in detections:
        if word.get("Type") == "WORD" and word.get("ParentId") in by_id:
            by_id[word["ParentId"]]["words"].append(word)
    figure = _figure(
        uploads[0],
        [],
        polygons=[
            ("line", line["Geometry"]["Polygon"], f"Line {line['Id']}: {line['DetectedText']}")
            for line in lines
        ],
        shows="text lines",
    )
    words = sum(len(line["words"]) for line in lines)
    return {
        "title": f"{len(lines)} line{'' if len(lines) == 1 else 's'} and {words} "
        f"word{'' if words == 1 else 's'} of text in {uploads[0].filename}",
        "figures": [figure],
        "lines": lines,
    }


def _show_labels(
    request: dict[str, Any], response: dict[str, Any], uploads: list[Upload]
) -> dict[str, Any]:
    labels = response.get("Labels", [])
    boxes = [
        ("box", instance["BoundingBox"], f"{label['Name']} {i} ({instance['Confidence']:.1f})")
        for label in labels
        for i, instance in enumerate(label.get("Instances", []), 1)
    ]
    named = [label["Name"] for label in labels if label.get("Instances")]
    figure = _figure(
        uploads[0],
        boxes,
        shows="label instance boxes",
        caption=f"the instances of {', '.join(named)}" if named else "no label has instances",
    )
    count = len(labels)
    return {
        "title": f"{count} label{'' if count == 1 else 's'} of {uploads[0].filename}",
        "figures": [figure],
        "labels": labels,
        "properties": response.get("ImageProperties"),
        "general": "GENERAL_LABELS" in request.get("Features", ["GENERAL_LABELS"]),
    }


def _show_moderation(
    request: dict[str, Any], response: dict[str, Any], uploads: list[Upload]
) -> dict[str, Any]:
    labels = response.get("ModerationLabels", [])
    count = len(labels)
    return {
        "title": f"{count} moderation label{'' if count == 1 else 's'} of {uploads[0].filename}",
        "figures": [
            _figure(
                uploads[0],
                [],
                shows="boxes",
                caption="a moderation label is of the whole image: nothing is drawn",
            )
        ],
        "labels": labels,
        "version": response.get("ModerationModelVersion"),
    }


def _show_celebrities(
    request: dict[str, Any], response: dict[str, Any], uploads: list[Upload]
) -> dict[str, Any]:
    recognized = response.get("CelebrityFaces", [])
    unrecognized = response.get("UnrecognizedFaces", [])
    boxes = [
        ("box", c["Face"]["BoundingBox"], f"{c['Name']} ({c['MatchConfidence']:.2f})")
        for c in recognized
    ]
    boxes += [("box unmatched", f["BoundingBox"], "Not recognized") for f in unrecognized]
    return {
        "title": f"{len(recognized)} of {len(recognized) + len(unrecognized)} "
        f"face{'' if len(recognized) + len(unrecognized) == 1 else 's'} of "
        f"{uploads[0].filename} recognized",
        "figures": [
            _figure(
                uploads[0],
                boxes,
                caption="recognized faces solid, faces not recognized dashed",
            )
        ],
        "celebrities": recognized,
        "unrecognized": len(unrecognized),
    }


_PURPOSE = TryField("purpose", "Purpose", "purpose")
#: The try page's operations, in the order their forms are shown.
TRY_OPERATIONS: dict[str, TryOperation] = {
    op.name: op
    for op in (
        TryOperation(
            "DetectFaces",
            "Detect faces",
            "Detect faces",
            lambda values, images: {"Image": images[0], "Attributes": [values["attributes"]]},
            _show_faces,
            "try_faces.html",
            fields=(
                TryField(
                    "attributes",
                    "Attributes",
                    "select",
                    (
                        ("DEFAULT", "DEFAULT: box, confidence, landmarks, pose, quality"),
                        ("ALL", "ALL: every attribute Agnosco infers"),
                    ),
                ),
            ),
        ),
        TryOperation(
            "SearchFacesByImage",
            "Search a collection",
            "Search faces",
            lambda values, images: {
                "CollectionId": values.get("collection_id", ""),
                "Image": images[0],
                **_given(values, "FaceMatchThreshold", "MaxFaces"),
            },
            _show_search,
            "try_matches.html",
            fields=(
                TryField("collection_id", "Collection", "collection", size=255),
                TryField(
                    "FaceMatchThreshold",
                    "FaceMatchThreshold (Similarity 0 to 100; 80 if left empty)",
                    "float",
                    size=8,
                ),
                TryField("MaxFaces", "MaxFaces (1 to 4096; 80 if left empty)", "int", size=4),
                _PURPOSE,
            ),
            help="Identification: your policies may refuse it, raise its threshold or hold its "
            "matches for human review.",
            probed=False,
        ),
        TryOperation(
            "CompareFaces",
            "Compare faces",
            "Compare faces",
            lambda values, images: {
                "SourceImage": images[0],
                "TargetImage": images[1],
                **_given(values, "SimilarityThreshold"),
            },
            _show_compare,
            "try_matches.html",
            uploads=(
                ("source", "Source image (its largest face is compared)"),
                ("target", "Target image (every face in it)"),
            ),
            fields=(
                TryField(
                    "SimilarityThreshold",
                    "SimilarityThreshold (0 to 100; 80 if left empty)",
                    "float",
                    size=8,
                ),
                _PURPOSE,
            ),
            missing="Choose a source image and a target image to compare.",
            probed=False,
        ),
        TryOperation(
            "DetectText",
            "Detect text",
            "Detect text",
            lambda values, images: {
                "Image": images[0],
                **(
                    {"Filters": {"WordFilter": _given(values, "MinConfidence")}}
                    if "MinConfidence" in values
                    else {}
                ),
            },
            _show_text,
            "try_text.html",
            fields=(
                TryField(
                    "MinConfidence",
                    "Words' MinConfidence (0 to 100; 80 if left empty)",
                    "float",
                    size=8,
                ),
            ),
        ),
        TryOperation(
            "DetectLabels",
            "Detect labels",
            "Detect labels",
            lambda values, images: {
                "Image": images[0],
                **_given(values, "Features", "MinConfidence", "MaxLabels"),
            },
            _show_labels,
            "try_labels.html",
            fields=(
                TryField(
                    "Features",
                    "Features",
                    "checks",
                    (
                        ("GENERAL_LABELS", "GENERAL_LABELS: the labels, Person with boxes"),
                        ("IMAGE_PROPERTIES", "IMAGE_PROPERTIES: quality and dominant colours"),
                    ),
                ),
                TryField(
                    "MinConfidence",
                    "Labels' MinConfidence (0 to 100; 55 if left empty)",
                    "float",
                    size=8,
                ),
                TryField("MaxLabels", "MaxLabels (1 to 1000; 1000 if left empty)", "int", size=4),
            ),
        ),
        TryOperation(
            "DetectModerationLabels",
            "Detect unsafe content",
            "Detect moderation labels",
            lambda values, images: {"Image": images[0], **_given(values, "MinConfidence")},
            _show_moderation,
            "try_moderation.html",
            fields=(
                TryField(
                    "MinConfidence",
                    "MinConfidence (0 to 100; 50 if left empty)",
                    "float",
                    size=8,
                ),
            ),
            help="Only pornographic images are detected (the label Explicit): an empty answer "
            "says nothing of violence, drugs, alcohol, gestures, gambling or hate symbols.",
        ),
        TryOperation(
            "RecognizeCelebrities",
            "Recognize celebrities",
            "Recognize celebrities",
            lambda values, images: {"Image": images[0]},
            _show_celebrities,
            "try_celebrities.html",
            fields=(_PURPOSE,),
            help="Identification of the public figures this deployment enrolled: your "
            "policies may refuse it or hold its matches for human review.",
        ),
    )
}
