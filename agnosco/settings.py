"""A deployment's settings, read once at start: command-line flags, then the environment, then
the defaults.  Nothing else in Agnosco reads the environment or changes it.

:meth:`Settings.load` is called by the command line (``agnosco.cli.main``) with the parsed flags;
the result is handed to the composition root (:mod:`agnosco.deployment`), which builds the
deployment from it.  This module loads nothing, so the command line can show the defaults
without loading a model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

#: The region a deployment serves, unless ``--region`` / ``$AGNOSCO_REGION`` says otherwise:
#: AWS's default region.
DEFAULT_REGION = "us-east-1"
#: One deployment is one account.
DEFAULT_ACCOUNT = "000000000000"
#: Where state is kept unless ``--data-dir`` / ``$AGNOSCO_DATA_DIR`` says otherwise.
DEFAULT_DATA_DIR = Path("agnosco-data")
#: No face is kept longer than this, whatever its collection says: three years.
DEFAULT_MAX_RETENTION_DAYS = 3 * 365
#: A request body whose parts are further apart than this is abandoned (RequestTimeoutException).
BODY_TIMEOUT_SECONDS = 20.0
#: A connection without a whole request's headers this long after it opens is closed.
HEADER_TIMEOUT_SECONDS = 20.0

#: The environment variable of each setting that has one.
ENVIRONMENT = {
    "data_dir": "AGNOSCO_DATA_DIR",
    "store_url": "AGNOSCO_STORE",
    "region": "AGNOSCO_REGION",
    "trusted_proxies": "AGNOSCO_TRUSTED_PROXIES",
    "master_key": "AGNOSCO_MASTER_KEY",
    "admin_access_key_id": "AGNOSCO_ACCESS_KEY_ID",
    "admin_secret_access_key": "AGNOSCO_SECRET_ACCESS_KEY",
}
#: The flag (``argparse`` destination) of each setting whose name differs from it.
FLAGS = {"store": "store_url", "trusted_proxy": "trusted_proxies"}


@dataclass(frozen=True)
class AdminKey:
    """The admin access key a deployment is given from outside (``$AGNOSCO_ACCESS_KEY_ID`` and
    ``$AGNOSCO_SECRET_ACCESS_KEY``), kept in its key store on start."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything a deployment is configured with; ``docs/configuration.md`` lists each."""

    data_dir: Path = DEFAULT_DATA_DIR
    #: ``None``/``"sqlite"``, ``sqlite:///PATH`` or ``postgresql://...`` (:func:`agnosco.storage.open_store`).
    store_url: str | None = field(default=None, repr=False)  # it may hold a password
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    #: A Fernet key, or ``None`` for ``DATA_DIR/master.key``.
    master_key: str | None = field(default=None, repr=False)
    admin_key: AdminKey | None = None
    # the server
    host: str = "127.0.0.1"
    port: int = 8080
    s3_dir: Path | None = None
    s3_endpoint_url: str | None = None
    threshold_mode: str = "refuse"
    max_retention_days: float = DEFAULT_MAX_RETENTION_DAYS
    purge_interval: float = 3600.0
    trusted_proxies: tuple[str, ...] = ()
    model_workers: int | None = None
    model_queue: int | None = None
    #: Threads that work stored-video jobs (each job uses the model threads of its frames).
    job_workers: int = 1
    #: A job whose worker has not renewed its lease for this long (its server was killed) is
    #: claimed again by another worker.
    job_lease_seconds: float = 60.0
    #: Stream processors a server runs at once (each is a decoder and an analysis thread).
    stream_workers: int = 4
    #: How long a dropped video source is retried before its processor is FAILED.
    stream_reconnect_seconds: float = 60.0
    #: A running processor whose server stopped renewing its lease this long (it was killed)
    #: is resumed by another server.
    stream_lease_seconds: float = 30.0
    rate_limit: float | None = None
    rate_burst: float | None = None
    body_timeout: float = BODY_TIMEOUT_SECONDS
    header_timeout: float = HEADER_TIMEOUT_SECONDS

    @classmethod
    def load(
        cls, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """The settings: each flag given (not ``None``), else its environment variable (not
        empty), else the default.  ``flags`` are ``argparse``'s destinations (``vars(args)``);
        others are ignored."""
        environ = os.environ if environ is None else environ
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT.items():
            text = environ.get(variable, "").strip()
            if text:
                values[name] = text
        if "trusted_proxies" in values:
            values["trusted_proxies"] = tuple(
                a.strip() for a in values["trusted_proxies"].split(",") if a.strip()
            )
        key_id, secret = (
            values.pop("admin_access_key_id", None),
            values.pop("admin_secret_access_key", None),
        )
        if key_id and secret:
            values["admin_key"] = AdminKey(key_id, secret)
        for flag, value in (flags or {}).items():
            name = FLAGS.get(flag, flag)
            if name in names and value is not None and value != []:
                values[name] = tuple(value) if name == "trusted_proxies" else value
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        if values.get("store_url") == "sqlite":
            values["store_url"] = None
        return cls(**values)
