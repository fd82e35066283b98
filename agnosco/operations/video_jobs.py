"""What the stored-video operations share: starting a job, and the members every Get answers.

``Start<Kind>`` checks the video's object at once (a missing object or one over the size limit
is an error of the call, as in Rekognition), then stores the job and answers its ``JobId``; the
server's job runtime (:mod:`agnosco.jobs.runtime`) analyses the video later.  ``Get<Kind>``
answers the job's state, and once it has ``SUCCEEDED`` its results a page at a time
(``MaxResults``, default and maximum 1000, and a signed ``NextToken``), in the order they were
stored (time order, or FaceSearch's sort key), or as an :class:`Arrangement` orders or
aggregates them at Get time (GetLabelDetection's and GetContentModeration's ``SortBy=NAME``
and ``AggregateBy=SEGMENTS``: :mod:`agnosco.operations.frame_analysis`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, cast

from agnosco.errors import InvalidParameterException
from agnosco.jobs.store import SUCCEEDED, Item, Job
from agnosco.operations.context import OperationContext
from agnosco.operations.pagination import make_token, read_token

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import VideoJobStatusType
    from types_boto3_rekognition.type_defs import VideoTypeDef

#: Results a Get answers at most, and when MaxResults is not given (Rekognition's).
MAX_RESULTS = 1000


def start_job(kind: str, request: Mapping[str, Any], context: OperationContext) -> str:
    """Check the request's video and store its job; returns the JobId.

    :raises InvalidS3ObjectException, VideoTooLargeException: the video's object.
    :raises InvalidParameterException: its NotificationChannel names a topic with no endpoint.
    :raises IdempotentParameterMismatchException: its ClientRequestToken started another job."""
    context.videos.check(request["Video"])
    channel = request.get("NotificationChannel")
    if channel:
        if context.notifications is None:
            raise InvalidParameterException("This server sends no notifications.")
        context.notifications.require(channel)
    requester = context.requester  # whose job it is (usage is metered to it)
    return (
        context.require_jobs()
        .submit(
            kind,
            dict(request),
            principal=requester.principal if requester else None,
            access_key_id=requester.access_key_id if requester else None,
        )
        .job_id
    )


def get_job(kind: str, job_id: str, context: OperationContext) -> Job:
    """:raises ResourceNotFoundException: no such job of this kind (or its results expired)."""
    return context.require_jobs().get(job_id, kind)


class JobMembers(TypedDict, total=False):
    """The members every Get answers about its job (typed as the model's Get outputs)."""

    JobId: str
    JobStatus: VideoJobStatusType
    StatusMessage: str
    Video: VideoTypeDef
    JobTag: str


def add_job_members(response: JobMembers, job: Job) -> None:
    """Put the job's members into a Get's response (any response TypedDict that has them)."""
    response["JobId"] = job.job_id
    response["JobStatus"] = cast("VideoJobStatusType", job.status)
    response["Video"] = cast("VideoTypeDef", job.request["Video"])
    if job.status_message is not None:
        response["StatusMessage"] = job.status_message
    if job.job_tag is not None:
        response["JobTag"] = job.job_tag


@dataclass(frozen=True)
class Arrangement:
    """A Get's order or aggregation of a finished job's results other than the stored order.

    ``arrange(job, results)`` takes every result body of the job, in time order, and returns
    the list the Get pages through.  ``name`` keys the NextToken, so a token is good only for
    the arrangement that issued it.  Such a Get reads all of the job's results for each page
    (they are arranged again per page, not kept): fine for the label and moderation jobs'
    results of a video of hours (a few hundred thousand items at most), not free."""

    name: str
    arrange: Callable[[Job, Iterator[dict[str, Any]]], list[dict[str, Any]]]


def _all_bodies(context: OperationContext, job_id: str) -> Iterator[dict[str, Any]]:
    position: int | None = None
    while True:
        items, position = context.require_jobs().items(job_id, position, MAX_RESULTS)
        yield from (item.body for item in items)
        if position is None:
            return


def result_page(
    context: OperationContext,
    job: Job,
    request: Mapping[str, Any],
    *,
    by_key: bool = False,
    arrangement: Arrangement | None = None,
) -> tuple[list[Item], str | None]:
    """The page of a finished job's items a Get asks for, and the NextToken after it (None at
    the end; no items at all before the job has succeeded); with ``arrangement``, a page of
    what it makes of the job's results (each an :class:`Item` at its ``Timestamp``).

    :raises InvalidPaginationTokenException: a token not issued for this job and order."""
    order = arrangement.name if arrangement else "key" if by_key else "time"
    listing = f"{job.kind}/{job.job_id}/{order}"
    after = read_token(context.token_key, listing, request.get("NextToken"))
    if job.status != SUCCEEDED:
        return [], None
    limit = min(int(request.get("MaxResults", MAX_RESULTS)), MAX_RESULTS)
    if arrangement is not None:
        start = int(after) if after and after.isdigit() else 0
        arranged = arrangement.arrange(job, _all_bodies(context, job.job_id))
        page = [Item(int(b.get("Timestamp", 0)), b) for b in arranged[start : start + limit]]
        more = start + limit < len(arranged)
        return page, make_token(context.token_key, listing, str(start + limit) if more else None)
    items, position = context.require_jobs().items(
        job.job_id, int(after) if after and after.isdigit() else None, limit, by_key=by_key
    )
    return items, make_token(
        context.token_key, listing, None if position is None else str(position)
    )


def job_results(
    kind: str,
    member: str,
    request: Mapping[str, Any],
    context: OperationContext,
    arrangement: Arrangement | None = None,
    *,
    by_key: bool = False,
) -> dict[str, Any]:
    """A Get of a job whose results are one list answered in time order (FaceDetection and the
    frame-analysis jobs, :mod:`agnosco.operations.frame_analysis`), or as ``arrangement``
    orders or aggregates them: the job's members, what its runner returned
    (``VideoMetadata``, a model version), a page of its items as ``member``, and the
    NextToken after it.  The Get casts it to its own response TypedDict.  ``by_key``: ordered
    by the items' stored sort key, then time (GetCelebrityRecognition's ``SortBy=ID``).

    :raises ResourceNotFoundException, InvalidPaginationTokenException:"""
    job = get_job(kind, request["JobId"], context)
    response: dict[str, Any] = dict(job.result or {})
    add_job_members(cast("JobMembers", response), job)
    items, token = result_page(context, job, request, by_key=by_key, arrangement=arrangement)
    response[member] = [item.body for item in items]
    if token is not None:
        response["NextToken"] = token
    return response
