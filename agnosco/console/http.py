"""The console's HTTP, free of pages: a request read once, a response, forms and cookies.

The server (:mod:`agnosco.server.app`) reads the body, builds a :class:`Request` and sends
the :class:`Response` back; nothing here touches ASGI.  Forms are
``application/x-www-form-urlencoded`` or ``multipart/form-data`` (an image upload), parsed
strictly: a malformed body is :class:`FormError`, which the console answers in words.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs


class FormError(ValueError):
    """A form body that cannot be read (its message is shown to the user)."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, list[str]]
    body: bytes = field(repr=False)
    client_ip: str | None
    scheme: str
    request_id: str

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def cookie(self, name: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        for raw in self.headers.get("cookie", []):
            try:
                jar.load(raw)
            except CookieError:
                continue
        morsel = jar.get(name)
        return morsel.value if morsel is not None else None

    def form(self) -> tuple[dict[str, str], dict[str, Upload]]:
        """The fields (the first value of each) and the files of a POSTed form.

        :raises FormError: not a form, or a malformed one.
        """
        content_type = self.header("content-type") or ""
        kind, _, params = content_type.partition(";")
        kind = kind.strip().lower()
        if kind == "application/x-www-form-urlencoded":
            try:
                parsed = parse_qs(
                    self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
                )
            except UnicodeDecodeError:
                raise FormError("The form was not sent as UTF-8.") from None
            return {k: v[0] for k, v in parsed.items()}, {}
        if kind == "multipart/form-data":
            boundary = _parameter(params, "boundary")
            if not boundary:
                raise FormError("The form has no multipart boundary.")
            return _multipart(self.body, boundary.encode("latin-1"))
        raise FormError("This page expects a form (URL-encoded or multipart).")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: A body sent as it is made, chunk by chunk (``body`` is then empty): the server takes
    #: each chunk in a worker thread, with no Content-Length; a failure while it is sent cuts
    #: the response short, so it is never mistaken for a whole one.
    stream: Generator[bytes, None, None] | None = None


def redirect(location: str, *cookies: str) -> Response:
    """303 See Other: after a POST, the browser GETs ``location``."""
    return Response(
        303,
        b"",
        headers=[("location", location), *(("set-cookie", c) for c in cookies)],
    )


def _parameter(params: str, name: str) -> str | None:
    for part in params.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None


def _multipart(body: bytes, boundary: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """RFC 7578 multipart/form-data, as browsers send it."""
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    delimiter = b"--" + boundary
    parts = body.split(delimiter)
    if len(parts) < 3 or not parts[-1].startswith(b"--"):
        raise FormError("The form's multipart body is incomplete.")
    for part in parts[1:-1]:
        if not part.startswith(b"\r\n") or not part.endswith(b"\r\n"):
            raise FormError("The form's multipart body is malformed.")
        head, separator, content = part[2:-2].partition(b"\r\n\r\n")
        if not separator:
            raise FormError("A part of the form has no headers.")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _parameter(disposition.partition(";")[2], "name")
        if disposition.partition(";")[0].strip().lower() != "form-data" or name is None:
            raise FormError("A part of the form is not a named form field.")
        filename = _parameter(disposition.partition(";")[2], "filename")
        if filename is not None:
            files[name] = Upload(
                filename, headers.get("content-type", "application/octet-stream"), content
            )
        elif name not in fields:
            try:
                fields[name] = content.decode("utf-8")
            except UnicodeDecodeError:
                raise FormError(f"The form field {name!r} is not UTF-8 text.") from None
    return fields, files
