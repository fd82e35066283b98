"""Logging for every ``agnosco`` command: Agnosco's own messages at ``--log-level`` (default
INFO), other libraries' at WARNING and above (faiss's loader announces at INFO which CPU build it
loads, uvicorn its start and stop), as text lines or, with ``--log-format json``, one JSON object
a line with the record's fields (``request_id``, ``operation``, ``status``, ``error_code``,
``access_key_id``... where the record has them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from typing import Any, TextIO

from agnosco.settings import DEFAULT_LOG_LEVEL, LOG_FORMATS, LOG_LEVELS

#: The logger every Agnosco module logs under (``agnosco.server``, ``agnosco.jobs``...).
OWN = "agnosco"
#: Other libraries log at this level and above unless ``--log-level`` is stricter (or DEBUG).
THIRD_PARTY_LEVEL = logging.WARNING
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
#: What every LogRecord has: not a field of the message (the rest, given in ``extra=``, are).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, the fields the
    record was given (``extra=``), and the exception's traceback, if any, as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (a test's redirection)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send log records to stderr: Agnosco's at ``level`` and above, other libraries' at
    :data:`THIRD_PARTY_LEVEL` and above (or at ``level`` when it is DEBUG or stricter than
    that).  Calling it again replaces the handler it installed, and nothing else."""
    own = logging.getLevelName(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(own if own == logging.DEBUG else max(own, THIRD_PARTY_LEVEL))
    logging.getLogger(OWN).setLevel(own)


def add_logging(parser: argparse.ArgumentParser, default: Any = None) -> None:
    """``--log-level`` and ``--log-format``; ``default`` is ``argparse.SUPPRESS`` on a command's
    own parser, so that the top-level option, given before the command, is not undone."""
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        help="the least severe of Agnosco's messages that are logged (default: "
        f"$AGNOSCO_LOG_LEVEL, else {DEFAULT_LOG_LEVEL}); other libraries' are logged from "
        "WARNING up",
    )
    parser.add_argument(
        "--log-format",
        type=str.lower,
        choices=LOG_FORMATS,
        default=default,
        help="text lines, or one JSON object a line (default: $AGNOSCO_LOG_FORMAT, else text)",
    )
