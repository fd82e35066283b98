"""The stream runtime a server owns: one thread per running stream processor.

The runtime claims active processors from the :class:`~agnosco.streams.store.StreamStore` under
a lease (so that of several replicas one works each processor), and for each runs the loop

    open the sink -> open the source (-> RUNNING) -> take the newest sampled frame -> analyse it
    -> let governance see the result (audit, review) -> write the record to the sink

renewing the lease as it goes (a ``STOPPING`` status seen on renewal ends the session
``STOPPED``; a lease found lost ends the thread at once).  What a frame's analysis is comes from
the operations layer (:data:`Analysis`: faces found and searched, as a record of the documented
shape) and what governance does with it from the governance layer (:class:`Governor`); this
module knows neither faces nor policies.

**Sources that fail.**  A source that cannot be opened or breaks off is reconnected with
back-off (1, 2, 4, 8 s, then every :data:`MAX_BACKOFF_SECONDS`), the StatusMessage saying so,
for up to ``reconnect_seconds``; then the processor is ``FAILED`` with a message naming the
source and the last error.  A file source that reaches its end ends the session ``STOPPED``
(a file does not come back); a network stream that ends is reconnected.
``StopSelector.MaxDurationInSeconds`` ends the session ``STOPPED`` when its time is up.
Stopping the runtime (the server shutting down) hands its processors back still ``RUNNING``:
the next start, of this server or another replica, resumes them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agnosco.errors import ServiceError
from agnosco.streams.objects import ObjectWriter
from agnosco.streams.sinks import FanOut, ObjectSink, Sink, SinkError, open_sink
from agnosco.streams.store import FAILED, STOPPED, STOPPING, StreamProcessor, StreamStore
from agnosco.vision.live import LiveFrame, LiveSource, SourceEnded, SourceError, is_file

log = logging.getLogger("agnosco.streams")

LEASE_SECONDS = 30.0
POLL_SECONDS = 1.0
#: How long a dropped source is retried before the processor fails.
RECONNECT_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 10.0
#: How often a running session's permission is checked again (a policy detached, a
#: moratorium attached while it runs ends it).
PERMIT_SECONDS = 10.0


@dataclass
class AnalysedFrame:
    """A frame's result: the record the sink receives, and per face of its
    ``FaceSearchResponse`` the tracked person it belongs to (None: not yet a tracked person),
    which governance uses to queue one review per person rather than one per frame."""

    record: dict[str, Any]
    persons: list[int | None] = field(default_factory=list)


#: A processor's frame analysis (made once per session by the operations layer).
Analysis = Callable[[LiveFrame], AnalysedFrame]
#: Makes a session's analysis; raises ServiceError when it cannot run (collection deleted...).
AnalysisFactory = Callable[[StreamProcessor], Analysis]


class Governor(Protocol):
    """What governance does with a running session (:mod:`agnosco.governance.streams`)."""

    def permit(self, processor: StreamProcessor) -> str | None:
        """None while the session's principal may still run it; else why not."""

    def release(
        self, processor: StreamProcessor, frame: LiveFrame, result: AnalysedFrame
    ) -> dict[str, Any]:
        """The record as it may leave: matches audited, and withheld while under review."""

    def ended(self, processor: StreamProcessor, status: str, message: str | None) -> None:
        """The session ended (audited)."""


class StreamRuntime:
    def __init__(
        self,
        store: StreamStore,
        analysis: AnalysisFactory,
        governor: Governor,
        *,
        workers: int = 4,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        reconnect_seconds: float = RECONNECT_SECONDS,
        clock: Callable[[], float] = time.time,
        source_urls: Callable[[str], str | None] | None = None,
        objects: ObjectWriter | None = None,
    ) -> None:
        self.store = store
        self.analysis = analysis
        self.governor = governor
        #: Processors this runtime works at once (each is a thread and a decoder).
        self.workers = workers
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.reconnect_seconds = reconnect_seconds
        self.clock = clock
        #: Where an S3Destination's objects are written (None: nowhere).
        self.objects = objects
        self._source_urls = source_urls or (
            lambda arn: m.url if (m := store.video_source(arn)) else None
        )
        self.owner = f"streams-{uuid.uuid4().hex[:12]}"
        self._stopping = threading.Event()
        self._wake = threading.Condition()
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._claimer: threading.Thread | None = None
        store.on_start.append(self.wake)
        #: Per processor name, the latest session's figures (frames analysed, dropped...).
        self.stats: dict[str, dict[str, Any]] = {}

    def start(self) -> None:
        self._claimer = threading.Thread(
            target=self._claim_loop, name="agnosco-streams", daemon=True
        )
        self._claimer.start()

    def wake(self) -> None:
        with self._wake:
            self._wake.notify()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every session this runtime works, handing each back still active."""
        self._stopping.set()
        self.wake()
        if self._claimer is not None:
            self._claimer.join(timeout)
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout)

    def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            processor = None
            with self._lock:
                busy = len(self._running) >= self.workers
            if not busy:
                try:
                    processor = self.store.claim(self.owner, self.lease_seconds)
                except Exception:
                    log.exception("could not claim a stream processor")
            if processor is None:
                with self._wake:
                    self._wake.wait(self.poll_seconds)
                continue
            thread = threading.Thread(
                target=self._session,
                args=(processor,),
                name=f"agnosco-stream-{processor.name}",
                daemon=True,
            )
            with self._lock:
                self._running[processor.name] = thread
            thread.start()

    # one session --------------------------------------------------------------------------------

    def _session(self, processor: StreamProcessor) -> None:
        log.info("stream processor %s claimed by %s", processor.name, self.owner)
        try:
            status, message = self._work(processor)
        except _Lost:
            log.info("stream processor %s is no longer this runtime's", processor.name)
            return
        except Exception:
            failure = uuid.uuid4().hex[:12]
            log.exception("stream processor %s failed: failure %s", processor.name, failure)
            status, message = (
                FAILED,
                (
                    f"The stream processor failed with an internal error (failure {failure} in the"
                    " server log)."
                ),
            )
        finally:
            with self._lock:
                self._running.pop(processor.name, None)
        if status is None:  # the runtime is stopping: hand the processor back, still active
            self.store.release(processor.name, self.owner)
            return
        if self.store.finish(processor.name, self.owner, status, message):
            log.info("stream processor %s %s: %s", processor.name, status, message or "")
            try:
                self.governor.ended(processor, status, message)
            except Exception:
                log.exception("could not record the end of stream processor %s", processor.name)

    def _work(self, processor: StreamProcessor) -> tuple[str | None, str | None]:
        """Run the session to its end: (status, message); status None when the runtime stops."""
        definition = processor.definition
        session = processor.session
        arn = definition["Input"]["KinesisVideoStream"]["Arn"]
        url = self._source_urls(arn)
        if url is None:
            return FAILED, f"No video source is mapped to {arn} (agnosco video-sources add)."
        refusal = self.governor.permit(processor)
        if refusal is not None:
            return FAILED, refusal
        try:
            analyse = self.analysis(processor)
        except ServiceError as error:
            return FAILED, error.message
        try:
            sink = self._open_sinks(processor)
        except SinkError as error:
            return FAILED, str(error)
        stats = self.stats[processor.name] = {"frames": 0, "dropped": 0, "records": 0}
        lease = _Lease(self, processor.name)
        try:
            ended = self._read(
                processor, url, analyse, sink, lease, stats, session.stop_at if session else None
            )
        finally:
            try:
                sink.close()  # the last records are delivered before the session's end is told
            except SinkError as error:
                ended = (FAILED, str(error))
        return ended

    def _open_sinks(self, processor: StreamProcessor) -> Sink:
        """Where the processor's records go: its Kinesis data stream's mapped sink, and its
        S3Destination's objects (one or both).

        :raises SinkError: a sink is not mapped or cannot be opened."""
        output = processor.definition["Output"]
        sinks: list[Sink] = []
        try:
            if "KinesisDataStream" in output:
                arn = output["KinesisDataStream"]["Arn"]
                mapping = self.store.data_sink(arn)
                if mapping is None:
                    raise SinkError(f"No data sink is mapped to {arn} (agnosco data-sinks add).")
                sinks.append(open_sink(mapping))
            if "S3Destination" in output:
                if self.objects is None:
                    raise SinkError("This server writes no S3 objects.")
                destination = output["S3Destination"]
                session = processor.session
                prefix = (
                    f"{destination.get('KeyPrefix', '')}{processor.name}/"
                    f"{session.session_id if session else 'session'}/"
                )
                sinks.append(ObjectSink(self.objects, destination["Bucket"], prefix))
        except SinkError:
            for sink in sinks:
                sink.close()
            raise
        return sinks[0] if len(sinks) == 1 else FanOut(sinks)

    def _read(
        self,
        processor: StreamProcessor,
        url: str,
        analyse: Analysis,
        sink: Sink,
        lease: _Lease,
        stats: dict[str, Any],
        stop_at: float | None,
    ) -> tuple[str | None, str | None]:
        failing_since: float | None = None
        backoff = 1.0
        last_permit = self.clock()
        while True:
            source = LiveSource(url, clock=self.clock)
            try:
                source.start()
                if failing_since is not None:
                    self.store.set_message(processor.name, self.owner, None)
                failing_since, backoff = None, 1.0
                self.store.mark_running(processor.name, self.owner)
                while True:
                    if self._stopping.is_set():
                        return None, None
                    if lease.renew_due() and lease.renew() == STOPPING:
                        return STOPPED, None
                    now = self.clock()
                    if stop_at is not None and now >= stop_at:
                        return STOPPED, "The session reached its StopSelector.MaxDurationInSeconds."
                    if now - last_permit >= PERMIT_SECONDS:
                        last_permit = now
                        refusal = self.governor.permit(processor)
                        if refusal is not None:
                            return FAILED, refusal
                    frame = source.take(timeout=min(1.0, self.lease_seconds / 3))
                    if frame is None:
                        continue
                    record = self.governor.release(processor, frame, analyse(frame))
                    sink.write(record)
                    stats["frames"] += 1
                    stats["records"] += 1
                    stats["dropped"] = source.slot.dropped
                    stats["last_latency"] = self.clock() - frame.received_time
            except SourceEnded as end:
                if is_file(url):
                    return STOPPED, str(end)
                error: Exception = end
            except SourceError as exc:
                error = exc
            except SinkError as exc:
                return FAILED, str(exc)
            finally:
                source.close()
            now = self.clock()
            failing_since = failing_since or now
            if now - failing_since >= self.reconnect_seconds:
                return (
                    FAILED,
                    f"{error} It could not be read again for {self.reconnect_seconds:g} s.",
                )
            self.store.set_message(
                processor.name, self.owner, f"Reconnecting to the video source: {error}"
            )
            log.warning(
                "stream processor %s: %s Reconnecting in %g s.", processor.name, error, backoff
            )
            deadline = time.monotonic() + backoff
            while time.monotonic() < deadline:
                if self._stopping.wait(min(1.0, deadline - time.monotonic())):
                    return None, None
                if lease.renew_due() and lease.renew() == STOPPING:
                    return STOPPED, None
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


class _Lost(Exception):
    """The processor is no longer this runtime's (stopped and restarted elsewhere, deleted)."""


class _Lease:
    def __init__(self, runtime: StreamRuntime, name: str) -> None:
        self.runtime, self.name = runtime, name
        self._renewed = time.monotonic()

    def renew_due(self) -> bool:
        # Often enough that a StopStreamProcessor takes effect within a second.
        return time.monotonic() - self._renewed >= min(1.0, self.runtime.lease_seconds / 3)

    def renew(self) -> str:
        """:raises _Lost: the lease is gone."""
        status = self.runtime.store.renew(self.name, self.runtime.owner, self.runtime.lease_seconds)
        if status is None:
            raise _Lost(self.name)
        self._renewed = time.monotonic()
        return status
