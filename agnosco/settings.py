"""A deployment's settings, read once at start: command-line flags, then the environment, then
the defaults.  Nothing else in Agnosco reads the environment or changes it.

:meth:`Settings.load` is called by the command line (``agnosco.cli.main``) with the parsed flags;
the result is handed to the composition root (:mod:`agnosco.deployment`), which builds the
deployment from it.  This module loads nothing, so the command line can show the defaults
without loading a model.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

#: The region a deployment serves, unless ``--region`` / ``$AGNOSCO_REGION`` says otherwise:
#: AWS's default region.
DEFAULT_REGION = "us-east-1"
#: One deployment is one account.
DEFAULT_ACCOUNT = "000000000000"
#: Where state is kept unless ``--data-dir`` / ``$AGNOSCO_DATA_DIR`` says otherwise: the user's
#: data directory, as command-line services keep theirs (:func:`default_data_dir`), so that every
#: command finds the same deployment from any working directory.
DEFAULT_DATA_DIR_TEXT = "$XDG_DATA_HOME/agnosco, else ~/.local/share/agnosco"
#: The data directory of Agnosco before it had a per-user default: relative to the working
#: directory.  Only named in a hint when one is found there.
LEGACY_DATA_DIR = Path("agnosco-data")
#: No face is kept longer than this, whatever its collection says: three years.
DEFAULT_MAX_RETENTION_DAYS = 3 * 365
#: A request body whose parts are further apart than this is abandoned (RequestTimeoutException).
BODY_TIMEOUT_SECONDS = 20.0
#: A connection without a whole request's headers this long after it opens is closed.
HEADER_TIMEOUT_SECONDS = 20.0

#: Agnosco's own messages are logged at this level and above unless ``--log-level`` says
#: otherwise; other libraries' (faiss's loader, uvicorn...) at WARNING and above.
DEFAULT_LOG_LEVEL = "INFO"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
#: ``text`` (one line a record, for a terminal) or ``json`` (one JSON object a line).
LOG_FORMATS = ("text", "json")
#: The ports a server can listen on (0: any free port, the one chosen is printed).
PORTS = range(65536)

#: An access key id as AWS forms one: 16-128 characters, upper-case letters and digits; a
#: long-term key (the admin key is one) begins with ``AKIA``, as every key Agnosco makes.
ACCESS_KEY_ID = re.compile(r"AKIA[A-Z0-9]{12,124}")
#: A secret access key as AWS forms one: 40 characters of base64's alphabet.
SECRET_ACCESS_KEY = re.compile(r"[A-Za-z0-9/+]{40}")

#: The environment variable of each setting that has one.
ENVIRONMENT = {
    "data_dir": "AGNOSCO_DATA_DIR",
    "store_url": "AGNOSCO_STORE",
    "region": "AGNOSCO_REGION",
    "trusted_proxies": "AGNOSCO_TRUSTED_PROXIES",
    "master_key": "AGNOSCO_MASTER_KEY",
    "admin_access_key_id": "AGNOSCO_ACCESS_KEY_ID",
    "admin_secret_access_key": "AGNOSCO_SECRET_ACCESS_KEY",
    "ray_address": "AGNOSCO_RAY_ADDRESS",
    "log_level": "AGNOSCO_LOG_LEVEL",
    "log_format": "AGNOSCO_LOG_FORMAT",
}
#: The flag (``argparse`` destination) of each setting whose name differs from it.
FLAGS = {"store": "store_url", "trusted_proxy": "trusted_proxies"}


class SettingsError(ValueError):
    """A setting that cannot be used, said in one line naming its flag or variable."""


def default_data_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The per-user data directory of ``agnosco``, where platformdirs' ``user_data_dir`` puts an
    application's: ``$XDG_DATA_HOME/agnosco`` (when set to an absolute path), else
    ``~/.local/share/agnosco`` on Linux and other Unix systems; ``~/Library/Application
    Support/agnosco`` on macOS; ``%LOCALAPPDATA%\\agnosco`` on Windows."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    home = Path(environ.get("HOME") or Path.home())
    if platform == "darwin":
        return home / "Library" / "Application Support" / "agnosco"
    if platform == "win32":
        local = environ.get("LOCALAPPDATA")
        return Path(local) / "agnosco" if local else home / "AppData" / "Local" / "agnosco"
    xdg = environ.get("XDG_DATA_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG specification ignores a relative one
        return Path(xdg) / "agnosco"
    return home / ".local" / "share" / "agnosco"


@dataclass(frozen=True)
class AdminKey:
    """The admin access key a deployment is given from outside (``$AGNOSCO_ACCESS_KEY_ID`` and
    ``$AGNOSCO_SECRET_ACCESS_KEY``), kept in its key store on start."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything a deployment is configured with; ``docs/configuration.md`` lists each."""

    data_dir: Path = field(default_factory=default_data_dir)
    #: Whether ``data_dir`` is the default (no ``--data-dir``, no ``$AGNOSCO_DATA_DIR``).
    data_dir_is_default: bool = True
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
    #: The Ray cluster long stored videos are analysed on (``auto``, ``HOST:PORT`` or
    #: ``ray://HOST:PORT``); None: every video in the job's worker.
    ray_address: str | None = None
    #: On a cluster, a video longer than this is analysed in chunks of this many seconds.
    ray_chunk_seconds: float = 60.0
    rate_limit: float | None = None
    rate_burst: float | None = None
    body_timeout: float = BODY_TIMEOUT_SECONDS
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    #: Whether ``agnosco serve`` serves the web console at ``/console``.
    console: bool = True
    #: How long a console session lasts from sign-in.
    console_session_hours: float = 8.0
    # logging
    log_level: str = DEFAULT_LOG_LEVEL
    log_format: str = "text"

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
        if key_id or secret:
            values["admin_key"] = _admin_key(key_id, secret)
        for flag, value in (flags or {}).items():
            name = FLAGS.get(flag, flag)
            if name in names and value is not None and value != []:
                values[name] = tuple(value) if name == "trusted_proxies" else value
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"]).expanduser()
            values["data_dir_is_default"] = False
        else:
            values["data_dir"] = default_data_dir(environ)
        if values.get("store_url") == "sqlite":
            values["store_url"] = None
        if "log_level" in values:
            values["log_level"] = str(values["log_level"]).upper()
            if values["log_level"] not in LOG_LEVELS:
                raise SettingsError(
                    f"--log-level / $AGNOSCO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                    f"not {values['log_level']!r}"
                )
        if "log_format" in values:
            values["log_format"] = str(values["log_format"]).lower()
            if values["log_format"] not in LOG_FORMATS:
                raise SettingsError(
                    f"--log-format / $AGNOSCO_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, "
                    f"not {values['log_format']!r}"
                )
        if "port" in values and values["port"] not in PORTS:
            raise SettingsError(
                f"--port must be a port number from 1 to 65535 (or 0 for any free port), "
                f"not {values['port']}"
            )
        return cls(**values)


def _admin_key(key_id: str | None, secret: str | None) -> AdminKey:
    """The admin key of ``$AGNOSCO_ACCESS_KEY_ID`` and ``$AGNOSCO_SECRET_ACCESS_KEY``, checked to be
    formed as AWS forms a long-term key (the SDKs and the AWS CLI send it as given); never
    naming the secret in an error."""
    if not key_id or not secret:
        given, missing = (
            ("AGNOSCO_ACCESS_KEY_ID", "AGNOSCO_SECRET_ACCESS_KEY")
            if key_id
            else ("AGNOSCO_SECRET_ACCESS_KEY", "AGNOSCO_ACCESS_KEY_ID")
        )
        raise SettingsError(f"${given} is set but ${missing} is not: set both, or neither")
    if not ACCESS_KEY_ID.fullmatch(key_id):
        shown = key_id if len(key_id) <= 32 and key_id.isprintable() else key_id[:32] + "..."
        raise SettingsError(
            f"$AGNOSCO_ACCESS_KEY_ID {shown!r} is not an access key id: 16 to 128 upper-case "
            "letters and digits beginning with AKIA (e.g. what `agnosco keys create` prints)"
        )
    if not SECRET_ACCESS_KEY.fullmatch(secret):
        raise SettingsError(
            f"$AGNOSCO_SECRET_ACCESS_KEY is not a secret access key: 40 characters of A-Z, a-z, "
            f"0-9, '/' and '+' (it has {len(secret)}; e.g. `openssl rand -base64 30`)"
        )
    return AdminKey(key_id, secret)
