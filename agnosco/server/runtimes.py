"""The background work a server owns beside its API: the job runtime (stored-video jobs, with
their completion notifications) and the stream runtime (running stream processors, governed
frame by frame).  ``agnosco serve`` and the tests' in-process server start them the same way."""

from __future__ import annotations

from dataclasses import dataclass

from agnosco.deployment import Deployment
from agnosco.governance.streams import StreamGovernor
from agnosco.jobs.notifications import Notifier
from agnosco.jobs.runtime import JobRuntime
from agnosco.operations import STREAM_ANALYSIS, job_runners
from agnosco.settings import Settings
from agnosco.streams.objects import ObjectWriter
from agnosco.streams.runtime import StreamRuntime


@dataclass
class Runtimes:
    jobs: JobRuntime
    streams: StreamRuntime

    def stop(self) -> None:
        """Hand back what the workers hold: unfinished jobs and running processors are resumed
        by the next start (of this server or another replica)."""
        self.jobs.stop()
        self.streams.stop()


def start_runtimes(deployment: Deployment, settings: Settings) -> Runtimes:
    jobs = JobRuntime(
        deployment.jobs,
        job_runners(deployment.context),
        workers=settings.job_workers,
        lease_seconds=settings.job_lease_seconds,
        listeners=[Notifier(deployment.notifications)],
    )
    streams = StreamRuntime(
        deployment.streams,
        STREAM_ANALYSIS(deployment.context),
        StreamGovernor(deployment.gate, deployment.context, deployment.credentials),
        workers=settings.stream_workers,
        lease_seconds=settings.stream_lease_seconds,
        reconnect_seconds=settings.stream_reconnect_seconds,
        objects=ObjectWriter(deployment.context.videos.s3_dir, deployment.context.videos.s3_client),
    )
    jobs.start()
    streams.start()
    return Runtimes(jobs, streams)
