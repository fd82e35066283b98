"""Runners: where the model work of bulk indexing happens.

A runner takes the coordinator's jobs lazily (it pulls a job only when it has room for it,
so at most a few images per worker are read ahead and held in memory) and yields one
:class:`~agnosco.bulk.worker.Analysis` per job, in the order they finish.  Runners never
write anything: the coordinator does, in its own process.

* :class:`InProcessRunner` (``--workers 0``): in the coordinator's process, for debugging.
* :class:`ProcessPoolRunner` (``--workers N``): N worker processes of a
  ``concurrent.futures.ProcessPoolExecutor`` started with ``spawn`` (a fresh interpreter: no
  model runtime threads or SQLite connections are inherited through ``fork``); each loads
  the models once and keeps them, ignores Ctrl-C (the coordinator stops the pool) and exits
  when the coordinator dies.  When a worker dies mid-image (a segfault in a decoder, the OOM
  killer), the pool is replaced and the images that were in flight are analysed again one at
  a time, so only the image that kills a worker fails, with ``WorkerCrashed``.
* :class:`agnosco.bulk.ray_runner.RayRunner` (``--ray-address``): Ray tasks on a cluster.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from agnosco.bulk.worker import Analysis, Job, analyze, init_worker

#: The error code of an image whose worker process died while analysing it (a crash in a
#: decoder or model, the kernel's OOM killer): the run goes on with a new pool.
WORKER_CRASHED = "WorkerCrashed"
#: Jobs in flight per worker: enough to keep every worker busy while results are written.
READ_AHEAD = 3


class Runner(Protocol):
    #: For the summary and the audit log, e.g. "2 worker processes".
    description: str

    def run(self, jobs: Iterator[Job]) -> Iterator[Analysis]: ...


class InProcessRunner:
    description = "in process"

    def run(self, jobs: Iterator[Job]) -> Iterator[Analysis]:
        init_worker()
        for job in jobs:
            yield analyze(job)


class ProcessPoolRunner:
    def __init__(
        self,
        workers: int,
        start_method: str = "spawn",
        *,
        function: Callable[[Job], Analysis] = analyze,
    ) -> None:
        if workers < 1:
            raise ValueError("a process pool needs at least one worker")
        self.workers = workers
        self.start_method = start_method
        self.function = function  # a module-level function (it is pickled by name)
        self.description = f"{workers} worker process{'es' if workers > 1 else ''}"

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=init_worker,
            initargs=(os.getpid(),),
        )

    def run(self, jobs: Iterator[Job]) -> Iterator[Analysis]:
        window = self.workers * READ_AHEAD
        pool = self._pool()
        in_flight: dict[Future[Analysis], Job] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < window:
                    job = next(jobs, None)
                    if job is None:
                        exhausted = True
                    else:
                        in_flight[pool.submit(self.function, job)] = job
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                suspects: list[Job] = []
                for future in done:
                    job = in_flight.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        suspects.append(job)
                        continue
                    yield result
                if suspects:  # a worker died: every job in flight is a suspect
                    suspects += in_flight.values()
                    in_flight.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool()
                    for job in suspects:
                        result, pool = self._alone(pool, job)
                        yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _alone(self, pool: ProcessPoolExecutor, job: Job) -> tuple[Analysis, ProcessPoolExecutor]:
        """Run one job of those in flight when a worker died, to find the one that kills workers."""
        try:
            return pool.submit(self.function, job).result(), pool
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            crashed = Analysis(
                job.key,
                error_code=WORKER_CRASHED,
                error_message="the worker process analysing this image died",
            )
            return crashed, self._pool()
