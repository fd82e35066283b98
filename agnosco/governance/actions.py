"""From an operation call to what policies see: action, resource ARN and context keys.

What an operation acts on, whether it is identification and where its threshold is come from
its :class:`~agnosco.operations.traits.Traits` (``agnosco.operations.REGISTRY``), never from
lists kept here.  Resources: collection-scoped operations act on
``arn:aws:rekognition:R:A:collection/C``; operations naming a user (CreateUser, DeleteUser,
AssociateFaces, DisassociateFaces, and SearchUsers and ListFaces by UserId) on
``...:collection/C/user/U`` (so ``collection/C*`` covers a collection and its users); tag
operations on their ResourceArn; DetectFaces, CompareFaces and ListCollections on ``*``.

Identification is every operation that compares faces with faces (searches, CompareFaces,
AssociateFaces: ``agnosco.operations.traits``), and Agnosco's redaction when it spares a
collection's faces (``Traits.compares_faces_with``).  Thresholds enter the context with their
*effective* value (the Rekognition default when the request leaves them out), so omitting a
threshold can never slip past a condition on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agnosco.operations import FACE_MATCH, REGISTRY, traits_of
from agnosco.operations.traits import Resource, Threshold

SERVICE_PREFIX = "rekognition"
#: Every match-threshold member an operation can have (the ``rekognition:*`` condition keys).
THRESHOLD_MEMBERS = frozenset(
    op.traits.threshold.member for op in REGISTRY.values() if op.traits.threshold is not None
)


def is_identification(operation: str, request: Mapping[str, Any] | None = None) -> bool:
    """Does the call compare faces with faces (and so fall under identification rules)?  A
    stream processor call does when its governed view names a collection to search; an
    operation that compares faces only when asked to (``Traits.compares_faces_with``: Agnosco's
    redaction) does when ``request`` asks."""
    traits = traits_of(operation)
    given = request or {}
    asked = traits.compares_faces_with
    return traits.compares_faces or bool(
        (traits.face_search_settings and given.get("CollectionId"))
        or (asked and given.get(asked) is not None)
    )


def threshold_member(operation: str, request: dict[str, Any]) -> Threshold | None:
    traits = traits_of(operation)
    if traits.threshold is not None:
        return traits.threshold
    if traits.face_search_settings and request.get("CollectionId"):
        return FACE_MATCH
    return None


@dataclass(frozen=True)
class CallerSession:
    """The temporary credentials a call is signed with (:mod:`agnosco.auth.sessions`)."""

    #: ``"AssumedRole"`` or ``"SessionToken"``.
    kind: str
    #: The long-term access key the credentials descend from.
    source_access_key_id: str
    expires_at: float
    #: Who assumed the role (for AssumedRole), the role, its unique id, the session's name.
    assumed_by: str | None = None
    role: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    source_identity: str | None = None
    #: Made with temporary credentials (role chaining).
    chained: bool = False

    def audited(self) -> dict[str, Any]:
        """What the audit log keeps of it: who assumed which role, as which session."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "source_access_key_id": self.source_access_key_id,
            "expires_at": self.expires_at,
        }
        for name in ("assumed_by", "role", "session_name", "source_identity"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the protocol layer established it."""

    principal: str
    access_key_id: str | None
    source_ip: str | None
    region: str
    purpose: str | None  # from the signed x-agnosco-purpose header
    consent_reference: str | None  # from the signed x-agnosco-consent-ref header
    request_id: str | None = None  # the x-amzn-RequestId the caller receives
    #: Where the call came in: ``"api"`` (a signed request) or ``"console"`` (a console page,
    #: signed in with an access key); records of console calls say so (``channel``).
    channel: str = "api"
    #: The temporary credentials the call is signed with; None for a long-term access key.
    session: CallerSession | None = None


def action_name(operation: str) -> str:
    return f"{SERVICE_PREFIX}:{operation}"


def resource_arn(operation: str, request: dict[str, Any], region: str, account: str) -> str:
    resource = traits_of(operation).resource
    if resource is Resource.TAGGED:
        return str(request.get("ResourceArn", "*"))
    if resource is Resource.STREAM_PROCESSOR:
        name = request.get("Name")
        return f"arn:aws:rekognition:{region}:{account}:streamprocessor/{name}" if name else "*"
    collection = request.get("CollectionId")
    if resource is Resource.NONE or collection is None:
        return "*"
    arn = f"arn:aws:rekognition:{region}:{account}:collection/{collection}"
    if resource is Resource.USER and request.get("UserId"):
        arn += f"/user/{request['UserId']}"
    return arn


def threshold_of(operation: str, request: dict[str, Any]) -> float | None:
    """The effective match threshold of the call (None when the operation has none)."""
    threshold = threshold_member(operation, request)
    if threshold is None:
        # an identification matching at the engine's threshold (RecognizeCelebrities)
        return traits_of(operation).engine_threshold
    return float(request.get(threshold.member, threshold.default))


def caller_context(
    caller: Caller, attributes: dict[str, str | None], purpose: str | None, now: float
) -> dict[str, Any]:
    """The condition keys of who calls, when and from where: every call's, and all a
    governance action (``agnosco:DecideReview``...) has."""
    return {
        "aws:CurrentTime": dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": int(now),
        "aws:SourceIp": caller.source_ip,
        "aws:RequestedRegion": caller.region,
        "aws:SecureTransport": "false",
        "aws:username": caller.principal,
        # who assumed the role a session speaks for (None for a long-term key's own calls)
        "agnosco:AssumedBy": caller.session.assumed_by if caller.session else None,
        "agnosco:Principal": caller.principal,
        "agnosco:Organization": attributes.get("organization"),
        "agnosco:OrganizationType": attributes.get("organization_type"),
        "agnosco:Purpose": purpose,
        "agnosco:ConsentReference": caller.consent_reference,
        "agnosco:Channel": caller.channel,
    }


def request_context(
    operation: str,
    request: dict[str, Any],
    caller: Caller,
    attributes: dict[str, str | None],
    purpose: str | None,
    now: float,
) -> dict[str, Any]:
    """The condition keys of one call (review and reviewer keys are added by the gate)."""
    context = caller_context(caller, attributes, purpose, now) | {
        "agnosco:Identification": is_identification(operation, request),
        "rekognition:CollectionId": request.get("CollectionId"),
        "rekognition:UserId": request.get("UserId"),
        "rekognition:MaxFaces": request.get("MaxFaces"),
        "rekognition:QualityFilter": request.get("QualityFilter"),
    }
    threshold = threshold_of(operation, request)
    if threshold is not None:
        member = threshold_member(operation, request)
        if member is not None:  # None: the engine's threshold, no request member's
            context[f"rekognition:{member.member}"] = threshold
        if is_identification(operation, request):
            context["agnosco:MatchThreshold"] = threshold
    context["agnosco:RealTimeIdentification"] = traits_of(
        operation
    ).face_search_settings and is_identification(operation, request)
    return context
