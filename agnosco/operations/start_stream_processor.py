"""StartStreamProcessor: begin a session (``STARTING``, then ``RUNNING`` once the server's
stream runtime has opened the source).  The session keeps who started it, the purpose they
declared, the threshold and the review obligation the gate allowed it under: every match it
finds is audited in that principal's name and withheld while a policy requires review, and
the runtime checks the principal's policies again while it runs.

``StopSelector.MaxDurationInSeconds`` (1 to 120) ends the session by itself.  A
``StartSelector`` (a position in a Kinesis video stream) has nothing to select on a live source
mapped here: it is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from agnosco.errors import InvalidParameterException
from agnosco.operations.context import OperationContext
from agnosco.operations.stream_processors import (
    effective_threshold,
    face_search_settings,
    require_processor,
)
from agnosco.streams.store import Session, new_session_id

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.type_defs import StartStreamProcessorRequestTypeDef


class StartStreamProcessorResponse(TypedDict, total=False):
    SessionId: str


def start_stream_processor(
    request: StartStreamProcessorRequestTypeDef, context: OperationContext
) -> StartStreamProcessorResponse:
    """:raises ResourceNotFoundException, ResourceInUseException: missing, or already running.
    :raises InvalidParameterException: a StartSelector."""
    if request.get("StartSelector"):
        raise InvalidParameterException(
            "StartSelector selects a position in a Kinesis video stream; the sources mapped on"
            " this deployment are live and are read from now."
        )
    processor = require_processor(request["Name"], context)
    face_search = face_search_settings(processor.definition)
    requester = context.requester
    now = context.clock()
    stop = (request.get("StopSelector") or {}).get("MaxDurationInSeconds")
    session = Session(
        session_id=new_session_id(),
        principal=requester.principal if requester else None,
        access_key_id=requester.access_key_id if requester else None,
        purpose=requester.purpose if requester else None,
        request_id=requester.request_id if requester else None,
        threshold=(
            None
            if face_search is None
            else max(effective_threshold(face_search), (requester and requester.threshold) or 0)
        ),
        reviewers=requester.reviewers if requester else 0,
        started_at=now,
        stop_at=now + float(stop) if stop else None,
        consent_reference=requester.consent_reference if requester else None,
    )
    context.require_streams().start(processor.name, session)
    return {"SessionId": session.session_id}
