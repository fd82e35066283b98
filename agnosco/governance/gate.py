"""The gate every API call passes: authorize, apply obligations, run, audit.

1. The caller's principal, attributes, purpose and attached policies give the request context
   (:mod:`.actions`); :func:`~agnosco.governance.policy.evaluate` decides.
2. **Obligations.** Policies can make identification conditional on human review
   (``agnosco:HumanReview``), on a number of reviewers (``agnosco:RequiredReviewers``) and on a
   minimum threshold (``agnosco:MatchThreshold`` and the ``rekognition:*Threshold`` keys).
   When the request as sent is refused, the gate looks for the least intrusive way to satisfy
   the policies: review by one reviewer, then two; and, in ``clamp`` mode, the smallest
   threshold named by a policy that is above the requested one.  In the default ``refuse``
   mode a threshold below a policy minimum is refused, never silently changed.
   Identification calls also see ``agnosco:WorstGroupFMR``: the worst per-group false-match rate
   that the latest ``agnosco evaluate`` of the running model measured at the call's threshold
   (absent when there is none), so a policy can require a good enough, existing evaluation.
3. The operation runs; under review its matches are withheld and queued
   (:mod:`.review`), and the response says so in headers only (``x-agnosco-review-id``,
   ``x-agnosco-review-status: PENDING``, ``x-agnosco-review-candidates``), so AWS clients see
   a valid, empty match list and never a pending match as an identification.
4. Every call, allowed or refused, succeeded or failed, is appended to the audit log before the
   response leaves; if the log cannot be written, the call fails.  A call that changes state
   (``Traits.changes_state``) is recorded twice: an ``intent`` record before it runs (if that
   cannot be written, nothing changes) and its outcome after, so that no change is ever
   unrecorded, even when the process dies between the change and the outcome record.

Governance actions that are not Rekognition operations — deciding a review, reading or
verifying the audit log, from the web console — pass :meth:`Gate.govern`: the same policies
decide them as ``agnosco:*`` actions, refusals are audited, changes recorded before and after.
A caller's ``channel`` (``"console"``) is kept in its records and is the ``agnosco:Channel``
condition key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from agnosco import spec
from agnosco.errors import AccessDeniedException, InternalServerError, ServiceError
from agnosco.governance.actions import (
    THRESHOLD_MEMBERS,
    Caller,
    CallerSession,
    action_name,
    caller_context,
    is_identification,
    request_context,
    resource_arn,
    threshold_member,
    threshold_of,
)
from agnosco.governance.audit import AuditEntry, AuditLog
from agnosco.governance.policy import Decision, Policy, evaluate
from agnosco.governance.principals import GovernanceStore
from agnosco.governance.review import ReviewQueue
from agnosco.governance.usage import UsageMeter
from agnosco.operations import (
    Response,
    governed_request,
    run_validated,
    traits_of,
    validate_request,
)
from agnosco.operations.context import OperationContext, Requester
from agnosco.storage.database import Transaction

if TYPE_CHECKING:
    from agnosco.governance.sts import SecurityTokenService

THRESHOLD_MODES = ("refuse", "clamp")
T = TypeVar("T")


class WorstGroupFMR(Protocol):
    """Where the gate learns the measured worst-group FMR of the running model at a threshold
    (``agnosco.evaluation.records.EvaluationIndex``); None when nothing was measured."""

    def worst_group_fmr(self, threshold: float) -> float | None: ...


_THRESHOLD_KEYS = ("agnosco:MatchThreshold",) + tuple(
    f"rekognition:{m}" for m in sorted(THRESHOLD_MEMBERS)
)
_THRESHOLD_KEYS_LOWER = frozenset(k.lower() for k in _THRESHOLD_KEYS)
_IMAGE_MEMBERS = ("Image", "SourceImage", "TargetImage")
_AUDITED_PARAMETERS = (
    "CollectionId",
    "Name",
    "UserId",
    "FaceId",
    "FaceIds",
    "ExternalImageId",
    "MaxFaces",
    "MaxUsers",
    "MaxResults",
    "QualityFilter",
    "Attributes",
    "DetectionAttributes",
    "Filters",
    "ResourceArn",
    "TagKeys",
    "Input",  # Agnosco's redaction: the files it reads and writes
    "Output",
    "Features",  # DetectLabels: what was asked for, and how many labels at what confidence
    "MaxLabels",
    "MinConfidence",  # and DetectModerationLabels
    "HumanLoopConfig",
    "ProjectVersion",
    "Id",  # GetCelebrityInfo: which celebrity was looked up
)


@dataclass(frozen=True)
class Plan:
    decision: Decision
    threshold: float | None
    reviewers: int
    clamped: bool


@dataclass(frozen=True)
class Decided:
    """A call as the gate decided it: what it decided on, and how."""

    #: The request with what a stream processor call acts on (governed_request).
    view: dict[str, Any]
    resource: str
    purpose: str | None
    plan: Plan


@dataclass
class CallResult:
    response: Response
    headers: dict[str, str] = field(default_factory=dict)


class Gate:
    def __init__(
        self,
        store: GovernanceStore,
        audit: AuditLog,
        reviews: ReviewQueue,
        *,
        threshold_mode: str = "refuse",
        evaluations: WorstGroupFMR | None = None,
        usage: UsageMeter | None = None,
    ) -> None:
        if threshold_mode not in THRESHOLD_MODES:
            raise ValueError(f"threshold_mode must be one of {THRESHOLD_MODES}")
        self.store, self.audit, self.reviews = store, audit, reviews
        self.threshold_mode = threshold_mode
        self.evaluations = evaluations
        #: The usage meter and quotas (:mod:`.usage`): None for no quotas (images are metered
        #: by the audit log either way).
        self.usage = usage

    def call(
        self, operation: str, request: dict[str, Any], caller: Caller, context: OperationContext
    ) -> CallResult:
        """Authorize, run and audit one call.

        :raises AccessDeniedException: policy refused it (after it is audited).
        :raises ServiceError: the operation's own errors (after they are audited).
        """
        now = context.clock()
        try:
            # Before anything reads the request: every value the gate looks at is then of the
            # model's type and within its limits (a NaN threshold, a 2 MB id, a list where a
            # number belongs are the caller's 400, audited, never our 500).
            validate_request(operation, request)
        except ServiceError as error:
            refused: AuditEntry = {
                "time": now,
                "request_id": caller.request_id,
                "principal": caller.principal,
                "access_key_id": caller.access_key_id,
                "source": caller.source_ip,
                "region": caller.region,
                "operation": operation,
                "parameters": bounded(_raw_parameters(request)),
                "decision": "Deny",
                "reason": "invalid request (refused before authorization)",
                "error": error.code,
                "message": bounded(error.message),
            }
            self.append(_with_caller(refused, caller))
            raise
        decided = self.decide(operation, request, caller, context, now)
        view, resource, purpose, plan = (
            decided.view,
            decided.resource,
            decided.purpose,
            decided.plan,
        )
        action = action_name(operation)
        record: AuditEntry = {
            "time": now,
            "request_id": caller.request_id,
            "principal": caller.principal,
            "access_key_id": caller.access_key_id,
            "source": caller.source_ip,
            "region": caller.region,
            "operation": operation,
            "purpose": purpose,
            "consent_reference": caller.consent_reference,
            "collection": view.get("CollectionId"),
            "resource": resource,
            "parameters": _parameters(operation, view, plan),
            "images": _images(request),
            "decision": "Allow" if plan.decision.allowed else "Deny",
            "reason": plan.decision.reason,
        }
        record = _with_caller(record, caller)
        if not plan.decision.allowed:
            self.append(record | {"error": "AccessDeniedException"})
            # Worded as AWS words it: which policy and statement refused is in the audit record,
            # not told to a caller who may be probing the policies.
            why = (
                "with an explicit deny in an identity-based policy"
                if plan.decision.denied_by
                else f"because no identity-based policy allows the {action} action"
            )
            who = caller.principal
            if caller.session is not None and caller.session.role is not None:
                # as AWS names a role's session: its assumed-role ARN
                who = (
                    f"arn:aws:sts::{context.account_id}:assumed-role/"
                    f"{caller.session.role}/{caller.session.session_name}"
                )
            raise AccessDeniedException(
                f"User: {who} is not authorized to perform: {action} on resource: {resource} {why}"
            )
        traits = traits_of(operation)
        # Quotas bound images and the faces IndexFaces stores: only image calls read them.
        quota = (
            self.usage.quota(caller.principal)
            if self.usage is not None and traits.analyses_images
            else None
        )
        release: Callable[[Transaction], None] | None = None
        if (
            self.usage is not None
            and quota is not None
            and quota.images_per_month is not None
            and traits.analyses_images
            and caller.principal is not None
        ):
            # Before anything runs or changes: a call beyond the month's images is refused,
            # audited, and leaves nothing behind.
            try:
                reservation = self.usage.reserve_images(
                    caller.principal, len(record.get("images", [])), quota.images_per_month, now
                )
            except ServiceError as error:
                self.append(record | {"error": error.code, "message": error.message})
                raise
            release = self.usage.releasing(reservation)
        if plan.clamped:
            request = _with_threshold(operation, request, view, plan.threshold)
        context = dataclasses.replace(
            context,
            requester=Requester(
                caller.principal,
                caller.access_key_id,
                purpose,
                caller.request_id,
                reviewers=plan.reviewers,
                threshold=plan.threshold if plan.clamped else None,
                consent_reference=caller.consent_reference,
                face_quota=quota.faces if quota is not None else None,
            ),
        )
        if traits.changes_state:
            # Written before the change: if it cannot be, nothing changes; if the process dies
            # after the change, the intent is there (the outcome record follows it).
            self.append(record | {"phase": "intent"})
        try:
            response = run_validated(operation, request, context)
        except ServiceError as error:
            self.append(record | {"error": error.code, "message": error.message}, then=release)
            raise
        result = CallResult(response)
        if plan.clamped:
            result.headers["x-agnosco-threshold-applied"] = f"{plan.threshold:g}"
        if plan.reviewers and traits.defers_matches:
            # The matches come later (stream records): the session withholds each of them.
            record["review"] = {"reviewers": plan.reviewers, "deferred": True}
        elif plan.reviewers:
            result = self._hold_for_review(operation, request, caller, purpose, plan, result)
            record["review"] = {
                "review_id": result.headers["x-agnosco-review-id"],
                "reviewers": plan.reviewers,
            }
        record["result"] = _summary(operation, response)
        self.append(record, then=release)
        return result

    def permits(
        self, operation: str, request: dict[str, Any], caller: Caller, context: OperationContext
    ) -> bool:
        """Would the caller's policies allow this call (with review, if they require it)?
        Nothing runs and nothing is recorded: for a page deciding which forms to show.  The
        call itself is decided again by :meth:`call`."""
        return self.decide(operation, request, caller, context).plan.decision.allowed

    def decide(
        self,
        operation: str,
        request: dict[str, Any],
        caller: Caller,
        context: OperationContext,
        now: float | None = None,
    ) -> Decided:
        """How the caller's policies decide the (validated) call, without running or recording
        it: what :meth:`call` and :meth:`permits` decide on, and what a running stream
        processor's session is decided on again."""
        principal, policies = self.store.resolve(caller.principal)
        purpose = caller.purpose or (principal.default_purpose if principal else None)
        # What policies decide on: the request, with what a stream processor call acts on (its
        # collection and threshold, from the request's Settings or the stored processor).
        view = governed_request(operation, request, context)
        resource = resource_arn(operation, view, caller.region, context.account_id)
        base = request_context(
            operation,
            view,
            caller,
            principal.attributes() if principal else {},
            purpose,
            context.clock() if now is None else now,
        )
        plan = self._plan(operation, view, policies, action_name(operation), resource, base)
        return Decided(view, resource, purpose, plan)

    def permits_action(self, action: str, resource: str, caller: Caller, now: float) -> bool:
        """As :meth:`permits`, for a governance action (``agnosco:DecideReview``...)."""
        return self._decide_action(action, resource, caller, now)[0].allowed

    def govern(
        self,
        action: str,
        resource: str,
        caller: Caller,
        parameters: dict[str, Any],
        run: Callable[[], T],
        *,
        now: float,
        changes_state: bool,
        result: Callable[[T], dict[str, Any]] | None = None,
    ) -> T:
        """Authorize, run and audit a governance action that is not a Rekognition operation
        (deciding a review, reading or verifying the audit log): the caller's policies decide
        ``action`` (e.g. ``agnosco:DecideReview``) on ``resource`` as they decide an
        operation, refusals are audited and raised as :class:`AccessDeniedException`, a change
        is recorded before it runs (``phase: intent``) and its outcome after, with
        ``result(value)`` when given.

        :raises AccessDeniedException: policy refused it (after it is audited).
        :raises ServiceError: ``run``'s own errors (after they are audited).
        """
        decision, purpose = self._decide_action(action, resource, caller, now)
        record: AuditEntry = {
            "time": now,
            "request_id": caller.request_id,
            "principal": caller.principal,
            "access_key_id": caller.access_key_id,
            "source": caller.source_ip,
            "region": caller.region,
            "operation": action,
            "purpose": purpose,
            "resource": resource,
            "parameters": bounded(parameters),
            "decision": "Allow" if decision.allowed else "Deny",
            "reason": decision.reason,
        }
        record = _with_caller(record, caller)
        if not decision.allowed:
            self.append(record | {"error": "AccessDeniedException"})
            why = (
                "with an explicit deny in an identity-based policy"
                if decision.denied_by
                else f"because no identity-based policy allows the {action} action"
            )
            raise AccessDeniedException(
                f"User: {caller.principal} is not authorized to perform: {action} on resource: {resource} {why}"
            )
        if changes_state:
            self.append(record | {"phase": "intent"})
        try:
            value = run()
        except ServiceError as error:
            self.append(record | {"error": error.code, "message": bounded(error.message)})
            raise
        if result is not None:
            record["result"] = result(value)
        self.append(record)
        return value

    def _decide_action(
        self, action: str, resource: str, caller: Caller, now: float
    ) -> tuple[Decision, str | None]:
        principal, policies = self.store.resolve(caller.principal)
        purpose = caller.purpose or (principal.default_purpose if principal else None)
        context = caller_context(caller, principal.attributes() if principal else {}, purpose, now)
        return evaluate(policies, action, resource, context), purpose

    def call_sts(
        self,
        operation: str,
        request: dict[str, Any],
        caller: Caller,
        sts: SecurityTokenService,
        now: float,
    ) -> dict[str, Any]:
        """Validate, run and audit one STS call (:mod:`agnosco.governance.sts`): the temporary
        credentials it issues are recorded by key id and expiry, never their secret or token.

        :raises ServiceError: ValidationError, AccessDenied (after they are audited).
        """
        from agnosco.governance.sts import action_of, summary

        record: AuditEntry = {
            "time": now,
            "request_id": caller.request_id,
            "principal": caller.principal,
            "access_key_id": caller.access_key_id,
            "source": caller.source_ip,
            "region": caller.region,
            "operation": action_of(operation),
            "resource": bounded(sts.resource(operation, request)),
            "parameters": bounded(
                {k: v for k, v in request.items() if k not in ("Policy", "TokenCode")}
            ),
            "decision": "Allow",
            "reason": "STS: " + _STS_REASONS[operation],
        }
        record = _with_caller(record, caller)
        try:
            spec.validate(request, spec.input_shape_name(operation, spec.STS), spec.STS)
            response = sts.call(operation, request, caller, now)
        except ServiceError as error:
            denied = isinstance(error, AccessDeniedException)
            self.append(
                record
                | {
                    "decision": "Deny",
                    "reason": "STS: refused" if denied else "STS: invalid request",
                    "error": error.code,
                    "message": bounded(error.message),
                }
            )
            raise
        self.append(record | {"result": summary(operation, response)})
        return response

    def record_refusal(
        self,
        operation: str,
        access_key_id: str,
        principal: str | None,
        source_ip: str | None,
        request_id: str,
        error: ServiceError,
        now: float,
        session: CallerSession | None = None,
    ) -> None:
        """Audit a call refused after its signature was verified but before it reached the gate
        (e.g. an unsigned x-agnosco-purpose header, an unknown operation, an undecodable body)."""
        refused: AuditEntry = {
            "time": now,
            "request_id": request_id,
            "principal": principal,
            "access_key_id": access_key_id,
            "source": source_ip,
            "operation": bounded(operation),
            "decision": "Deny",
            "reason": "refused before authorization",
            "error": error.code,
            "message": bounded(error.message),
        }
        if session is not None:
            refused["session"] = session.audited()
        self.append(refused)

    def append(
        self, record: AuditEntry, *, then: Callable[[Transaction], None] | None = None
    ) -> None:
        """Append ``record`` to the audit log (and run ``then`` in its transaction: a quota
        reservation's release).

        :raises InternalServerError: it could not be written (nothing may go on without it)."""
        try:
            if then is None:
                self.audit.append(record)
            else:
                self.audit.append(record, then=then)
        except Exception as exc:  # no acknowledged call without its record
            raise InternalServerError(
                "The audit log could not be written; the call is not acknowledged."
            ) from exc

    def _plan(
        self,
        operation: str,
        request: dict[str, Any],
        policies: list[Policy],
        action: str,
        resource: str,
        base: dict[str, Any],
    ) -> Plan:
        requested = threshold_of(operation, request)
        thresholds = [requested]
        clampable = threshold_member(operation, request) is not None  # not the engine's own
        if requested is not None and clampable and self.threshold_mode == "clamp":
            thresholds += _policy_thresholds_above(policies, requested)
        # Review is offered only where matches can be withheld; an identification that cannot
        # be held back (AssociateFaces) is refused by a policy that requires review.
        traits = traits_of(operation)
        reviewable = traits.withheld is not None or traits.defers_matches
        reviews = [(False, 0), (True, 1), (True, 2)] if reviewable else [(False, 0)]
        first: Decision | None = None
        for threshold in thresholds:
            for review, reviewers in reviews:
                context = base | {
                    "agnosco:HumanReview": review,
                    "agnosco:RequiredReviewers": reviewers,
                }
                if threshold is not None:
                    context |= {k: threshold for k in _THRESHOLD_KEYS if k in base}
                    if self.evaluations is not None and is_identification(operation, request):
                        context["agnosco:WorstGroupFMR"] = self.evaluations.worst_group_fmr(
                            threshold
                        )
                decision = evaluate(policies, action, resource, context)
                first = first or decision
                if decision.allowed:
                    return Plan(decision, threshold, reviewers, threshold != requested)
        assert first is not None
        return Plan(first, requested, 0, False)

    def _hold_for_review(
        self,
        operation: str,
        request: dict[str, Any],
        caller: Caller,
        purpose: str | None,
        plan: Plan,
        result: CallResult,
    ) -> CallResult:
        member = traits_of(operation).withheld
        assert member is not None  # _plan offers review only where matches can be withheld
        candidates = result.response.get(member, [])
        review = self.reviews.submit(
            principal=caller.principal,
            access_key_id=caller.access_key_id,
            operation=operation,
            collection_id=request.get("CollectionId"),
            purpose=purpose,
            threshold=plan.threshold,
            required_reviewers=plan.reviewers,
            candidates=candidates,
        )
        headers = result.headers | {
            "x-agnosco-review-id": review.review_id,
            "x-agnosco-review-status": "PENDING",
            "x-agnosco-review-candidates": str(len(candidates)),
            "x-agnosco-review-reviewers": str(plan.reviewers),
        }
        return CallResult({**result.response, member: []}, headers)


_STS_REASONS = {
    "GetCallerIdentity": "no permission is needed to learn one's own identity",
    "GetSessionToken": "a principal's temporary credentials for itself",
    "AssumeRole": "the role's trust list names the caller",
}


def _with_caller(record: AuditEntry, caller: Caller) -> AuditEntry:
    """The record, naming the role, who assumed it and the session when the call is signed with
    temporary credentials, and the channel when it did not come in through the API (a console
    page)."""
    out: AuditEntry = record
    if caller.session is not None:
        out = out | {"session": caller.session.audited()}
    if caller.channel != "api":
        out = out | {"channel": caller.channel}
    return out


def _policy_thresholds_above(policies: list[Policy], requested: float) -> list[float]:
    """Threshold values named in policy conditions, above ``requested``, ascending."""
    values: set[float] = set()
    for policy in policies:
        for statement in policy.statements:
            for operator, block in statement.condition.items():
                for key, expected in block.items():
                    if key.lower() not in _THRESHOLD_KEYS_LOWER:
                        continue
                    for v in expected if isinstance(expected, list) else [expected]:
                        try:
                            number = float(v)
                        except (TypeError, ValueError):
                            continue
                        # "LessThanEquals 99" is satisfied only above 99.
                        candidate = number + 1e-6 if "LessThanEquals" in operator else number
                        if requested < candidate <= 100:
                            values.add(candidate)
    return sorted(values)


#: What a record keeps of a value it cannot trust to be small (a refused request's): strings cut
#: to this many characters, lists and objects to this many items, nesting to this depth.
BOUNDED_CHARS, BOUNDED_ITEMS, BOUNDED_DEPTH = 256, 20, 4


def bounded(value: Any, depth: int = 0) -> Any:
    """``value`` cut to a size that cannot grow the audit log by what a caller sends: any key,
    even one no policy allows anything, can send 7 MB of parameters."""
    if isinstance(value, str):
        return (
            value
            if len(value) <= BOUNDED_CHARS
            else f"{value[:BOUNDED_CHARS]}...({len(value)} chars)"
        )
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if depth >= BOUNDED_DEPTH and isinstance(value, (list, dict)):
        return f"<{type(value).__name__} nested too deeply>"
    if isinstance(value, list):
        items = [bounded(v, depth + 1) for v in value[:BOUNDED_ITEMS]]
        return items + ([f"...({len(value)} items)"] if len(value) > BOUNDED_ITEMS else [])
    if isinstance(value, dict):
        kept = list(value.items())[:BOUNDED_ITEMS]
        out = {bounded(str(k)): bounded(v, depth + 1) for k, v in kept}
        if len(value) > BOUNDED_ITEMS:
            out["..."] = f"({len(value)} members)"
        return out
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # the log's canonical JSON has no NaN or Infinity
    return value


def _raw_parameters(request: dict[str, Any]) -> dict[str, Any]:
    """The audited members of a request not known to be valid, as sent (images stand apart)."""
    return {k: v for k, v in request.items() if k not in _IMAGE_MEMBERS}


def _parameters(operation: str, request: dict[str, Any], plan: Plan) -> dict[str, Any]:
    out = {k: request[k] for k in _AUDITED_PARAMETERS if k in request}
    threshold = threshold_member(operation, request)
    if plan.threshold is not None and threshold is not None:
        out[threshold.member] = plan.threshold
    elif plan.threshold is not None:  # the engine's threshold (RecognizeCelebrities)
        out["MatchThreshold"] = plan.threshold
    return out


def _with_threshold(
    operation: str, request: dict[str, Any], view: dict[str, Any], threshold: float | None
) -> dict[str, Any]:
    """The request with the threshold the gate clamped it to (in its Settings.FaceSearch for a
    stream processor definition; a StartStreamProcessor carries it in its Requester)."""
    member = threshold_member(operation, view)
    assert member is not None and threshold is not None  # only a call with a threshold clamps
    if traits_of(operation).face_search_settings:
        settings = request.get("Settings")
        if isinstance(settings, dict) and isinstance(settings.get("FaceSearch"), dict):
            face_search = dict(settings["FaceSearch"], **{member.member: threshold})
            return dict(request, Settings=dict(settings, FaceSearch=face_search))
        return request
    return dict(request, **{member.member: threshold})


def _images(request: dict[str, Any]) -> list[dict[str, Any]]:
    images = []
    for member in _IMAGE_MEMBERS:
        image = request.get(member)
        if not isinstance(image, dict):
            continue
        if isinstance(image.get("Bytes"), (bytes, bytearray)):
            images.append(
                {
                    "member": member,
                    "sha256": hashlib.sha256(image["Bytes"]).hexdigest(),
                    "bytes": len(image["Bytes"]),
                }
            )
        elif isinstance(image.get("S3Object"), dict):
            images.append({"member": member, "s3": image["S3Object"]})
    return images


def _summary(operation: str, response: Response) -> dict[str, Any]:
    """Face ids, user ids and similarities a response revealed or changed; never pixels, and
    of text read in an image only how many lines and words (not what they say)."""
    summary: dict[str, Any] = {}
    for member in ("FaceMatches", "UserMatches"):
        if member in response:
            summary[member] = [
                {
                    "FaceId": m.get("Face", {}).get("FaceId"),
                    "UserId": m.get("User", {}).get("UserId"),
                    "Similarity": m.get("Similarity"),
                }
                for m in response[member]
            ]
    if "FaceRecords" in response:
        summary["IndexedFaceIds"] = [r["Face"]["FaceId"] for r in response["FaceRecords"]]
        summary["UnindexedFaces"] = len(response.get("UnindexedFaces", []))
    if "FaceDetails" in response:
        summary["FaceCount"] = len(response["FaceDetails"])
    if "TextDetections" in response:  # how much text was read, never the text itself
        types = [  # a video job's detections are each in a TextDetectionResult
            d.get("TextDetection", d).get("Type") for d in response["TextDetections"]
        ]
        summary["TextLines"], summary["TextWords"] = types.count("LINE"), types.count("WORD")
    if "Labels" in response and "LabelModelVersion" in response:  # counts, never the names
        summary["LabelCount"] = len(response["Labels"])
        summary["LabelInstances"] = sum(  # a video job's labels are each in a LabelDetection
            len(x.get("Label", x).get("Instances", [])) for x in response["Labels"]
        )
    if "ModerationLabels" in response:  # the labels reported; the image is its SHA-256 above
        summary["ModerationLabels"] = [  # a video job's: each in a ContentModerationDetection
            {"Name": m.get("Name"), "Confidence": m.get("Confidence")}
            | ({"Timestamp": d["Timestamp"]} if "Timestamp" in d else {})
            for d in response["ModerationLabels"]
            for m in (d.get("ModerationLabel", d),)
        ]
        loop = response.get("HumanLoopActivationOutput") or {}
        if "HumanLoopArn" in loop:  # the review a person will decide
            summary["HumanLoopArn"] = loop["HumanLoopArn"]
    for member in ("DeletedFaces",):
        if member in response:
            summary[member] = response[member]
    for member in ("AssociatedFaces", "DisassociatedFaces"):
        if member in response:
            summary[member] = [f["FaceId"] for f in response[member]]
    for member in ("UnsuccessfulFaceAssociations", "UnsuccessfulFaceDisassociations"):
        if member in response:  # with AssociateFaces' Confidence: what the caller learnt
            summary[member] = [
                {k: f[k] for k in ("FaceId", "UserId", "Reasons", "Confidence") if k in f}
                for f in response[member]
            ]
    if "CelebrityFaces" in response:  # who was recognized, and how surely
        summary["CelebrityFaces"] = [
            {"Id": c.get("Id"), "MatchConfidence": c.get("MatchConfidence")}
            for c in response["CelebrityFaces"]
        ]
        summary["UnrecognizedFaces"] = len(response.get("UnrecognizedFaces", []))
    if "UnmatchedFaces" in response:
        summary["UnmatchedFaces"] = len(response["UnmatchedFaces"])
    if "Persons" in response:  # a video face search's matches, per frame and person
        summary["Persons"] = [
            {
                "Timestamp": p.get("Timestamp"),
                "Index": p.get("Person", {}).get("Index"),
                "FaceMatches": [
                    {"FaceId": m.get("Face", {}).get("FaceId"), "Similarity": m.get("Similarity")}
                    for m in p.get("FaceMatches", [])
                ],
            }
            for p in response["Persons"]
        ]
    if "Celebrities" in response:  # a video's celebrities: when and who, never names or faces
        summary["Celebrities"] = [
            {
                "Timestamp": c.get("Timestamp"),
                "Id": c.get("Celebrity", {}).get("Id"),
                "MatchConfidence": c.get("Celebrity", {}).get("Confidence"),
            }
            for c in response["Celebrities"]
        ]
    for member in ("StreamProcessorArn", "SessionId", "Status"):
        if member in response:  # a stream processor created, started or described
            summary[member] = response[member]
    if "JobId" in response:  # a video job started, or read
        summary["JobId"] = response["JobId"]
        if "JobStatus" in response:
            summary["JobStatus"] = response["JobStatus"]
    if "Faces" in response and "JobId" in response:
        summary["FaceCount"] = len(response["Faces"])
    return summary
