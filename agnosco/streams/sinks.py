"""Where a stream processor's records go: what a Kinesis data stream ARN is mapped to.

* ``jsonl``: a JSON Lines file, one record a line, appended and flushed record by record (a
  reader tailing the file sees each record whole: a line is written in one call under a lock,
  and a process killed mid-line leaves at most that one line incomplete).
* ``S3Destination`` (a processor's own output, not a mapping): objects under the S3 mapping,
  ``<KeyPrefix><processor>/<SessionId>/<first record's number>.jsonl``, each a JSON Lines batch of
  :data:`OBJECT_RECORDS` records or of :data:`OBJECT_SECONDS` seconds, whichever comes first, and
  the rest when the session ends (objects are whole when they appear, never appended to).
* ``webhook``: an HTTP(S) endpoint receiving each record as the JSON body of a POST
  (``Content-Type: application/json``), off the analysis thread: records wait in a bounded queue
  (:data:`QUEUE_RECORDS`; when the endpoint falls that far behind, the oldest record waiting is
  dropped and counted, so a slow endpoint cannot grow memory or stall the analysis), and each is
  tried :data:`ATTEMPTS` times before it is dropped and logged.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from agnosco.streams.objects import ObjectError, ObjectWriter
from agnosco.streams.store import JSONL, WEBHOOK, DataSinkMapping

log = logging.getLogger("agnosco.streams")

QUEUE_RECORDS = 1000
OBJECT_RECORDS = 100
OBJECT_SECONDS = 10.0
ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 2.0)
TIMEOUT_SECONDS = 5.0


class SinkError(Exception):
    """The sink cannot take records (a file that cannot be opened or written)."""


class Sink(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonLinesSink:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise SinkError(f"The data sink file {path} cannot be written: {exc.strerror}") from exc
        self.path = path
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            try:
                self._fh.write(line)
                self._fh.flush()
            except OSError as exc:
                raise SinkError(
                    f"The data sink file {self.path} cannot be written: {exc.strerror}"
                ) from exc

    def close(self) -> None:
        with self._lock:
            self._fh.close()


class WebhookSink:
    def __init__(self, url: str) -> None:
        self.url = url
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_RECORDS)
        self.dropped = 0
        self._thread = threading.Thread(target=self._deliver, name="agnosco-sink", daemon=True)
        self._thread.start()

    def write(self, record: dict[str, Any]) -> None:
        while True:
            try:
                self._queue.put_nowait(record)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(TIMEOUT_SECONDS * ATTEMPTS)

    def _deliver(self) -> None:
        while True:
            record = self._queue.get()
            if record is None:
                return
            body = json.dumps(record).encode()
            for attempt in range(ATTEMPTS):
                try:
                    request = urllib.request.Request(
                        self.url,
                        data=body,
                        method="POST",
                        headers={"Content-Type": "application/json"},
                    )
                    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):
                        break
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    if attempt + 1 == ATTEMPTS:
                        self.dropped += 1
                        log.warning("a stream record to %s was dropped: %s", self.url, exc)
                    else:
                        time.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])


class ObjectSink:
    """Records as JSON Lines objects under ``prefix`` in ``bucket`` (see the module docstring)."""

    def __init__(self, objects: ObjectWriter, bucket: str, prefix: str) -> None:
        self.objects, self.bucket, self.prefix = objects, bucket, prefix
        self._lines: list[str] = []
        self._first = 0
        self._started = 0.0
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            if not self._lines:
                self._started = time.monotonic()
            self._lines.append(json.dumps(record, separators=(",", ":")) + "\n")
            if len(self._lines) >= OBJECT_RECORDS or (
                time.monotonic() - self._started >= OBJECT_SECONDS
            ):
                self._flush()

    def close(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if not self._lines:
            return
        key = f"{self.prefix}{self._first:010d}.jsonl"
        try:
            self.objects.put(self.bucket, key, "".join(self._lines).encode())
        except ObjectError as exc:
            raise SinkError(str(exc)) from exc
        self._first += len(self._lines)
        self._lines = []


class FanOut:
    """Every record to each of ``sinks``."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def write(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.write(record)

    def close(self) -> None:
        errors = []
        for sink in self.sinks:
            try:
                sink.close()
            except SinkError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


def open_sink(mapping: DataSinkMapping) -> Sink:
    """:raises SinkError: the sink cannot be opened."""
    if mapping.kind == JSONL:
        return JsonLinesSink(Path(mapping.target))
    if mapping.kind == WEBHOOK:
        return WebhookSink(mapping.target)
    raise SinkError(f"Unknown data sink kind {mapping.kind!r}.")
