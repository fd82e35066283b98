"""Job completion notifications: an SNS topic ARN stands for an HTTP endpoint.

Rekognition publishes a finished job's status to the SNS topic of the Start call's
``NotificationChannel``.  A self-hosted deployment has no SNS: the deployer maps a topic ARN to
an HTTP(S) endpoint (``agnosco notifications add TOPIC_ARN URL``), and when a job with that
topic finishes, the endpoint receives what an SNS HTTP subscription would: a POST with
``x-amz-sns-message-type: Notification`` whose JSON body's ``Message`` is Rekognition's
completion message, ``{"JobId", "Status", "API", "JobTag", "Timestamp", "Video": {"S3ObjectName",
"S3Bucket"}}``.  Delivery is retried :data:`ATTEMPTS` times with back-off, off the worker's thread;
a topic nobody mapped is refused when the job starts, not discovered when it ends.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agnosco.errors import InvalidParameterException, ResourceNotFoundException
from agnosco.jobs.store import Job
from agnosco.storage.database import Database, Tables

log = logging.getLogger("agnosco.notifications")

#: Deliveries of one notification before it is given up (and logged).
ATTEMPTS = 3
#: Seconds before each retry.
BACKOFF = (1.0, 4.0)
TIMEOUT_SECONDS = 10.0
_TOPIC = re.compile(r"^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")

MIGRATIONS = [
    [
        """CREATE TABLE notification_endpoints (
            topic_arn TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
    ],
]


@dataclass(frozen=True)
class Endpoint:
    topic_arn: str
    url: str
    created_at: float


class NotificationEndpoints(Tables):
    """Topic ARN -> endpoint URL, in the deployment's database (shared by replicas)."""

    def __init__(self, database: Path | Database, *, owned: bool = False) -> None:
        self._attach(database, owned, lambda db: db.migrate("notifications", MIGRATIONS))

    def add(self, topic_arn: str, url: str) -> Endpoint:
        """Map (or re-map) a topic.

        :raises InvalidParameterException: not an SNS topic ARN, or not an http(s) URL."""
        if not _TOPIC.match(topic_arn):
            raise InvalidParameterException(
                f"{topic_arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
            )
        if not re.match(r"^https?://[^\s/]+", url):
            raise InvalidParameterException(f"{url!r} is not an http:// or https:// URL.")
        endpoint = Endpoint(topic_arn, url, time.time())
        with self._db.write() as tx:
            tx.execute("DELETE FROM notification_endpoints WHERE topic_arn = ?", (topic_arn,))
            tx.execute(
                "INSERT INTO notification_endpoints (topic_arn, url, created_at) VALUES (?, ?, ?)",
                (topic_arn, url, endpoint.created_at),
            )
        return endpoint

    def remove(self, topic_arn: str) -> None:
        """:raises ResourceNotFoundException: the topic is not mapped."""
        with self._db.write() as tx:
            cursor = tx.execute(
                "DELETE FROM notification_endpoints WHERE topic_arn = ?", (topic_arn,)
            )
            if not cursor.rowcount:
                raise ResourceNotFoundException(f"No endpoint is configured for {topic_arn}.")

    def list(self) -> list[Endpoint]:
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT topic_arn, url, created_at FROM notification_endpoints ORDER BY topic_arn"
            ).fetchall()
        return [Endpoint(t, u, float(c)) for t, u, c in rows]

    def url_for(self, topic_arn: str) -> str | None:
        with self._db.read() as tx:
            row = tx.execute(
                "SELECT url FROM notification_endpoints WHERE topic_arn = ?", (topic_arn,)
            ).fetchone()
        return str(row[0]) if row is not None else None

    def require(self, channel: dict[str, Any] | None) -> None:
        """That a Start call's NotificationChannel names a mapped topic (or none).

        :raises InvalidParameterException: its topic is not mapped to an endpoint."""
        if channel and self.url_for(channel["SNSTopicArn"]) is None:
            raise InvalidParameterException(
                f"The SNS topic {channel['SNSTopicArn']} has no endpoint on this server "
                "(agnosco notifications add TOPIC_ARN URL)."
            )


def completion_message(job: Job) -> dict[str, Any]:
    """What Rekognition publishes when a job ends."""
    s3 = job.request.get("Video", {}).get("S3Object", {})
    message: dict[str, Any] = {
        "JobId": job.job_id,
        "Status": job.status,
        "API": f"Start{job.kind}",
        "Timestamp": int((job.completed_at or time.time()) * 1000),
        "Video": {"S3ObjectName": s3.get("Name"), "S3Bucket": s3.get("Bucket")},
    }
    if job.job_tag is not None:
        message["JobTag"] = job.job_tag
    return message


class Notifier:
    """A job runtime listener that delivers each finished job's notification, if it asked for
    one, on a thread of its own."""

    def __init__(
        self,
        endpoints: NotificationEndpoints,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoints = endpoints
        self._sleep = sleep

    def __call__(self, job: Job) -> None:
        channel = job.request.get("NotificationChannel")
        if not channel:
            return
        topic = channel["SNSTopicArn"]
        url = self.endpoints.url_for(topic)
        if url is None:  # removed after the job started
            log.warning("job %s: no endpoint for %s any more; not notified", job.job_id, topic)
            return
        envelope = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": json.dumps(completion_message(job)),
            "Timestamp": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        threading.Thread(
            target=self._deliver, args=(job.job_id, url, topic, envelope), daemon=True
        ).start()

    def _deliver(self, job_id: str, url: str, topic: str, envelope: dict[str, Any]) -> None:
        body = json.dumps(envelope).encode()
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",  # as SNS sends it
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": envelope["MessageId"],
            "x-amz-sns-topic-arn": topic,
        }
        for attempt in range(ATTEMPTS):
            try:
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                    if 200 <= answer.status < 300:
                        return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                log.info("job %s: notification to %s failed: %s", job_id, url, exc)
            if attempt < len(BACKOFF):
                self._sleep(BACKOFF[attempt])
        log.warning("job %s: notification to %s given up after %d attempts", job_id, url, ATTEMPTS)
