"""uvicorn's h11 protocol with a deadline for a request's headers.

uvicorn times out an idle keep-alive connection between requests, but not a connection that
sends nothing after opening, nor one whose request headers trickle in (slowloris): each is held
for ever, and a few hundred of them take every connection the server allows.
:class:`DeadlinedH11Protocol` closes a connection whose next request's headers are not complete
within ``header_timeout`` seconds of the connection opening, or of the first byte of that
request.  (A body that stops arriving is the app's to time out: ``app.py``.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from agnosco.settings import HEADER_TIMEOUT_SECONDS


class DeadlinedH11Protocol(H11Protocol):
    header_timeout = HEADER_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_headers():
            if self._headers_due is None and not self.transport.is_closing():
                self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)
        elif self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        """No request of this connection is being handled: its next one's headers are due."""
        return self.cycle is None or self.cycle.response_complete

    def _headers_late(self) -> None:
        self._headers_due = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.close()


def with_header_timeout(seconds: float) -> type[DeadlinedH11Protocol]:
    """The protocol class with its deadline set to ``seconds``."""
    return type("DeadlinedH11Protocol", (DeadlinedH11Protocol,), {"header_timeout": seconds})
