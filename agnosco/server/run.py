"""``agnosco serve``: open the data directory and run the app on uvicorn."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from agnosco.auth.keys import NewKey
from agnosco.console.app import Console
from agnosco.deployment import Deployment, ensure_admin_key, new_deployment_notice, open_deployment
from agnosco.governance.retention import purge
from agnosco.server.app import RekognitionApp
from agnosco.server.http_protocol import with_header_timeout
from agnosco.server.runtimes import start_runtimes
from agnosco.settings import Settings

log = logging.getLogger("agnosco.retention")

#: Idle keep-alive connections are kept this long: SDKs reuse pooled connections, and one the
#: server closed under them (uvicorn's default is 5 s) is a broken pipe on the next call.
KEEP_ALIVE_SECONDS = 75
#: Connections and requests at once; beyond it new ones are answered 503 at once, so that
#: thousands of idle or half-sent connections cannot exhaust the process.
MAX_CONNECTIONS = 512


class ListenError(Exception):
    """The server cannot listen where it is told to (the port is taken, the address is not this
    machine's...): one line saying so and what to do."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not listening yet: connections are refused until the
    server runs), so that a port in use is found before anything else is opened.

    :raises ListenError: it cannot be bound.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ListenError(
            f"cannot listen on {where}: --host {host!r} is not an address "
            f"({getattr(exc, 'strerror', None) or exc}); give an IP address such as 127.0.0.1 "
            "or 0.0.0.0"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"cannot listen on {where}: the port is already in use (another agnosco serve, "
                "or another program?): stop it, or choose a free port with --port"
            )
        elif exc.errno == errno.EACCES:
            message = (
                f"cannot listen on {where}: this user may not use port {port}; "
                "choose one above 1023 with --port"
            )
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = (
                f"cannot listen on {where}: {host} is not an address of this machine; "
                "give one of its addresses (127.0.0.1, 0.0.0.0 for all) with --host"
            )
        else:
            message = f"cannot listen on {where}: {exc.strerror or exc}"
        raise ListenError(message) from None
    return sock


def serve(settings: Settings) -> None:
    """Run the server until it is stopped.

    ``settings.region`` is the deployment's one region (requests signed for another are
    refused).  ``settings.trusted_proxies`` are the addresses whose ``X-Forwarded-For`` /
    ``X-Forwarded-Proto`` headers are believed (the client address in ``aws:SourceIp`` and the
    audit log); with none, no forwarded header is believed, from anywhere.  ``model_workers``
    threads analyse images (default: one per CPU), with at most ``model_queue`` such calls
    admitted at once; ``rate_limit`` (requests a second per access key, bursts of
    ``rate_burst``) is off unless set.

    The port is bound first (a port in use is a :class:`ListenError` before anything is
    opened), and the line saying where the server serves is printed once it accepts
    connections.  Logging is the caller's to configure (the command line does).
    """
    sock = listen(settings.host, settings.port)
    try:
        deployment = open_deployment(settings)
    except BaseException:
        sock.close()
        raise
    if deployment.new:  # never a fresh deployment without saying so
        print(new_deployment_notice(settings), flush=True)
    created = ensure_admin_key(deployment.keys, settings)
    if created is not None:
        path = write_admin_key(settings.data_dir, created)
        # The secret goes to a file only its owner can read, not to stdout (and so not into the
        # service's logs, where whoever reads them would hold the admin key).
        print(
            f"Created the admin access key {created.access_key_id}; its secret is in {path} "
            "(readable by you alone: read it, keep it safe, then delete the file)",
            flush=True,
        )
    store = (
        "sqlite" if settings.store_url is None else settings.store_url.split(":", 1)[0]
    )  # no password
    host, port = sock.getsockname()[:2]  # the port chosen, for --port 0
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    banner = (
        f"Agnosco serving the Rekognition API on {url} (region {settings.region}; "
        f"data: {settings.data_dir.absolute()}, store: {store})"
        + (f"; the console is at {url}/console" if settings.console else "")
    )
    app = RekognitionApp(
        deployment.context,
        deployment.keys,
        deployment.gate,
        model_workers=settings.model_workers,
        model_queue=settings.model_queue,
        rate_limit=settings.rate_limit,
        rate_burst=settings.rate_burst,
        body_timeout=settings.body_timeout,
        credentials=deployment.credentials,
        sts=deployment.sts,
        console=(
            Console(
                deployment.context,
                deployment.keys,
                deployment.gate,
                deployment.console_sessions,
                evaluations=settings.data_dir,
            )
            if settings.console
            else None
        ),
    )
    runtimes = start_runtimes(deployment, settings)
    stop = threading.Event()
    purger = threading.Thread(
        target=_purge_periodically,
        args=(deployment, stop, settings.purge_interval, settings.max_retention_days),
        name="agnosco-purge",
        daemon=True,
    )
    if settings.purge_interval > 0:
        purger.start()
    proxies = list(settings.trusted_proxies)
    if threading.current_thread() is threading.main_thread():
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the
        # handler found before it: this one, so that the clean-up below runs (jobs handed back,
        # databases closed) instead of the process dying on the signal's default action.
        signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=port,
            log_config=None,  # the command line configures logging (level, text or JSON)
            log_level=None,
            access_log=False,
            lifespan="on",
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            limit_concurrency=MAX_CONNECTIONS,
            http=with_header_timeout(settings.header_timeout),
        )
        try:
            _Server(config, lambda: print(banner, flush=True)).run(sockets=[sock])
        except KeyboardInterrupt:  # Ctrl-C: uvicorn stopped gracefully, then re-raised it
            pass
    finally:
        sock.close()
        stop.set()
        runtimes.stop()  # jobs and running processors are handed back, for the next start
        if purger.is_alive():
            purger.join(timeout=30)
        deployment.close()
    sys.stdout.flush()


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``started`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


ADMIN_KEY_FILE = "admin-key.json"


def write_admin_key(data_dir: Path, created: NewKey) -> Path:
    """Write a new admin key to ``DATA_DIR/admin-key.json``, mode 0600, in the AWS CLI's JSON
    shape (``agnosco keys create --json``); returns its path."""
    path = data_dir / ADMIN_KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        json.dump(
            {
                "AccessKeyId": created.access_key_id,
                "SecretAccessKey": created.secret_access_key,
                "Principal": created.principal,
            },
            fh,
            indent=2,
        )
        fh.write("\n")
    return path


def _purge_periodically(
    deployment: Deployment, stop: threading.Event, interval: float, max_days: float
) -> None:
    """Purge expired faces and video jobs at start and then every ``interval`` seconds until
    ``stop``."""
    while not stop.is_set():
        try:
            store = deployment.context.require_store()
            receipt = purge(
                store, deployment.audit, deployment.context.clock(), max_retention_days=max_days
            )
            if receipt.deleted_faces:
                log.info("purged %d faces (verified: %s)", receipt.deleted_faces, receipt.verified)
            jobs = deployment.jobs.purge(older_than_days=max_days)
            if jobs:
                log.info("purged %d video jobs and their results", jobs)
        except Exception:
            log.exception("retention purge failed; retrying in %.0f s", interval)
        stop.wait(interval)
