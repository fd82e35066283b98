"""The job runtime a server owns: worker threads that claim jobs and run them.

Each kind of job (``FaceDetection``, ...) has a *runner*: a function of a :class:`JobRun` that
does the work, hands its results to :meth:`JobRun.emit` a batch at a time, and returns what the
Get answers besides the items (e.g. ``VideoMetadata``).  The runtime claims jobs from the
:class:`~agnosco.jobs.store.JobStore` with a lease, renews the lease while the runner works
(every emit and every :meth:`JobRun.check`), and finishes the job ``SUCCEEDED``, or ``FAILED``
with the runner's error message (a :class:`~agnosco.errors.ServiceError`) or, for anything
else, a message naming the failure's id in the server log — never a traceback to the caller,
never a dead worker.  Stopping the runtime hands unfinished jobs back at once (they are not
counted as failed attempts), so a restart resumes them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agnosco.errors import ServiceError
from agnosco.jobs.store import FAILED, SUCCEEDED, Item, Job, JobStore

log = logging.getLogger("agnosco.jobs")

#: A worker holds a job this long without renewing; a crashed worker's job is claimed again
#: after it.
LEASE_SECONDS = 60.0
#: How often an idle worker looks for work (a submit in this process wakes it at once).
POLL_SECONDS = 1.0


class JobLost(Exception):
    """The job is no longer this worker's: its lease ran out and another claimed it, it was
    purged, or the runtime is stopping.  The runner must stop; nothing it does now counts."""


@dataclass
class JobRun:
    """One run of a claimed job, as its runner sees it."""

    job: Job
    store: JobStore
    owner: str
    lease_seconds: float
    stopping: threading.Event
    _renewed: float = field(default_factory=time.monotonic)

    @property
    def request(self) -> dict[str, Any]:
        return self.job.request

    def emit(self, items: Sequence[Item]) -> None:
        """Store a batch of results.

        :raises JobLost: the job is no longer this run's."""
        self.check()
        if items and not self.store.add_items(self.job.job_id, self.owner, items):
            raise JobLost(self.job.job_id)
        self._renewed = time.monotonic()

    def check(self) -> None:
        """Renew the lease when a third of it has passed; call it often during long work.

        :raises JobLost: the runtime is stopping, or the job is no longer this run's."""
        if self.stopping.is_set():
            raise JobLost(self.job.job_id)
        if time.monotonic() - self._renewed > self.lease_seconds / 3:
            if not self.store.renew(self.job.job_id, self.owner, self.lease_seconds):
                raise JobLost(self.job.job_id)
            self._renewed = time.monotonic()


#: A job kind's work: results through ``run.emit``; returns the Get's other members.
Runner = Callable[[JobRun], Mapping[str, Any]]
#: Told of every job that finished (its final state), e.g. to send its notification.
Listener = Callable[[Job], None]


class JobRuntime:
    """``workers`` threads working the jobs of ``runners``' kinds from ``store``."""

    def __init__(
        self,
        store: JobStore,
        runners: Mapping[str, Runner],
        *,
        workers: int = 1,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.store = store
        self.runners = dict(runners)
        self.workers = workers
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.listeners = list(listeners)
        #: This runtime's name in leases (unique per process start).
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        self._stopping = threading.Event()
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        store.on_submit.append(self.wake)

    def start(self) -> None:
        for n in range(self.workers):
            thread = threading.Thread(
                target=self._work, name=f"agnosco-job-{n}", args=(f"{self.owner}-{n}",), daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A job was submitted: an idle worker looks now rather than at its next poll."""
        with self._wake:
            self._wake.notify()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers; a job a worker holds is handed back for the next start."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _work(self, owner: str) -> None:
        while not self._stopping.is_set():
            try:
                job = self.store.claim(owner, self.lease_seconds, list(self.runners))
            except Exception:  # the database is away: try again later, never die
                log.exception("could not claim a job")
                job = None
            if job is None:
                with self._wake:
                    self._wake.wait(self.poll_seconds)
                continue
            self.run(job, owner)

    def run(self, job: Job, owner: str) -> None:
        """Run one claimed job to its end (also used by tests, without threads)."""
        run = JobRun(job, self.store, owner, self.lease_seconds, self._stopping)
        log.info("job %s (%s) claimed by %s, attempt %d", job.job_id, job.kind, owner, job.attempts)
        try:
            result = self.runners[job.kind](run)
        except JobLost:
            if self._stopping.is_set():
                self.store.release(job.job_id, owner)
            log.info("job %s (%s) stopped: no longer this worker's", job.job_id, job.kind)
            return
        except ServiceError as error:
            self._finish(job, owner, FAILED, error.message)
            return
        except Exception:
            failure = uuid.uuid4().hex[:12]
            log.exception("job %s (%s) failed: failure %s", job.job_id, job.kind, failure)
            self._finish(
                job,
                owner,
                FAILED,
                f"The job failed with an internal error (failure {failure} in the server log).",
            )
            return
        self._finish(job, owner, SUCCEEDED, None, dict(result))

    def _finish(
        self,
        job: Job,
        owner: str,
        status: str,
        message: str | None,
        result: dict[str, Any] | None = None,
    ) -> None:
        try:
            finished = self.store.complete(job.job_id, owner, status, message, result)
        except Exception:
            log.exception("could not record the end of job %s", job.job_id)
            return
        if not finished:
            return
        final = self.store.get(job.job_id)
        for listener in self.listeners:
            try:
                listener(final)
            except Exception:
                log.exception("a listener failed on job %s", job.job_id)
