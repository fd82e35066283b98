"""The model work of bulk indexing as Ray tasks: one machine's cores or a whole cluster.

``--ray-address local`` starts a private Ray instance on this machine (``--workers`` CPUs, no
dashboard) and stops it at the end; any other address (``auto``, ``ray://head:10001``,
``head:6379``) joins an existing cluster and leaves it running.  Every node must have the
same ``agnosco`` installed (with its model wheels), since tasks import it.

Images travel in batches (:data:`BATCH_SIZE` per task) through Ray's object store to tasks
that run :func:`agnosco.bulk.worker.analyze_batch`, the very function the process pool runs;
a Ray worker process keeps its models between tasks, so they load once per worker.  At most
:data:`READ_AHEAD` batches per CPU of the cluster are in flight, and results stream back to the
coordinator as each batch finishes, where they are written (one writer for the store: the
workers never need database access or credentials).  A task lost with its node is retried by
Ray (``max_retries``; the analysis is a pure function, so a retry is harmless); a batch that
still fails has its images fail with ``WorkerCrashed`` and the run goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from agnosco.bulk.runners import WORKER_CRASHED
from agnosco.bulk.worker import Analysis, Job, analyze_batch

BATCH_SIZE = 8
READ_AHEAD = 2
LOCAL = "local"


class RayRunner:
    def __init__(
        self, address: str = LOCAL, *, num_cpus: int | None = None, batch_size: int = BATCH_SIZE
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.batch_size = batch_size
        self.description = f"Ray ({'local instance' if address == LOCAL else address})"

    def _init(self) -> bool:
        """Connect (or start a local instance); True when this runner must shut it down."""
        import ray

        if ray.is_initialized():
            return False
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if self.address == LOCAL:
            ray.init(num_cpus=self.num_cpus, **options)
        else:
            ray.init(address=self.address, **options)
        return True

    def run(self, jobs: Iterator[Job]) -> Iterator[Analysis]:
        import ray

        started_here = self._init()
        try:
            task = ray.remote(num_cpus=1, max_retries=3)(analyze_batch)
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            window = cpus * READ_AHEAD
            keys: dict[Any, list[str]] = {}  # task -> the keys of its batch
            exhausted = False
            while True:
                while not exhausted and len(keys) < window:
                    batch = list(islice(jobs, self.batch_size))
                    if batch:
                        keys[task.remote(batch)] = [job.key for job in batch]
                    exhausted = len(batch) < self.batch_size
                if not keys:
                    return
                ready, _ = ray.wait(list(keys), num_returns=1)
                batch_keys = keys.pop(ready[0])
                try:
                    results = ray.get(ready[0])
                except ray.exceptions.RayError as exc:  # the task failed even after its retries
                    message = f"the Ray task analysing this image failed: {type(exc).__name__}"
                    results = [
                        Analysis(key, error_code=WORKER_CRASHED, error_message=message)
                        for key in batch_keys
                    ]
                yield from results
        finally:
            if started_here:
                ray.shutdown()
