"""Governance of running stream processors: the gate's rules applied to every frame.

A session was allowed when it started (StartStreamProcessor passed the gate, which recorded
its principal, purpose, threshold and review obligation in the session).  While it runs:

* **It stays allowed, or it ends.**  Every :data:`~agnosco.streams.runtime.PERMIT_SECONDS` the
  access key that started it must still speak for its principal (not revoked; temporary
  credentials not expired, their source key and role still there), and the principal's policies
  are evaluated again for StartStreamProcessor on the processor, exactly as the gate would (a
  policy detached, a moratorium attached, a principal removed): a session they no longer allow
  is ended ``FAILED`` with a message saying so, and the refusal audited.
* **Every match is audited** before its record leaves: one audit record per frame with
  matches (operation ``StartStreamProcessor``, phase ``match``), naming the session, the
  frame's offset and producer time, and each matched FaceId with its Similarity.  If the audit
  log cannot be written the record does not leave (the session fails).
* **Review withholds matches.**  When a policy required review at Start, a record's
  ``MatchedFaces`` are emptied and the matches queued for review: one review per tracked person
  of the session (its first matching frame's candidates), each withheld face carrying
  ``"MatchesWithheld": {"ReviewId", "ReviewStatus": "PENDING"}`` beside the documented members.
* The session's end (stopped, failed, its time up) is audited (phase ``end``).
"""

from __future__ import annotations

from typing import Any

from agnosco.auth.sessions import Credentials
from agnosco.governance.actions import (
    Caller,
    action_name,
)
from agnosco.governance.audit import AuditEntry
from agnosco.governance.gate import Gate
from agnosco.operations.context import OperationContext
from agnosco.streams.runtime import AnalysedFrame
from agnosco.streams.store import StreamProcessor
from agnosco.vision.live import LiveFrame

OPERATION = "StartStreamProcessor"


class StreamGovernor:
    def __init__(self, gate: Gate, context: OperationContext, credentials: Credentials) -> None:
        self.gate = gate
        self.context = context
        self.credentials = credentials
        #: (session, person) -> the review holding that person's matches.
        self._reviews: dict[tuple[str, int], str] = {}

    def permit(self, processor: StreamProcessor) -> str | None:
        session = processor.session
        if session is None or session.principal is None:
            return "The stream processor has no session started through the API."
        now = self.context.clock()
        if session.access_key_id is not None:
            ended = self.credentials.standing(session.access_key_id, now)
            if ended is not None:
                return self._refuse(processor, now, ended, f"The session was ended: {ended}.")
        decided = self.gate.decide(
            OPERATION, {"Name": processor.name}, self._caller(processor), self.context, now
        )
        plan, resource = decided.plan, decided.resource
        allowed = plan.decision.allowed and plan.reviewers <= session.reviewers
        if allowed:
            return None
        reason = (
            plan.decision.reason
            if not plan.decision.allowed
            else f"policies now require {plan.reviewers} reviewers"
        )
        return self._refuse(
            processor,
            now,
            reason,
            f"The policies of {session.principal} no longer allow {action_name(OPERATION)} on"
            f" {resource}; the session was ended.",
        )

    def _refuse(self, processor: StreamProcessor, now: float, reason: str, message: str) -> str:
        """Audit that the running session is no longer allowed, and say why to its status."""
        self.gate.append(
            self._entry(processor, now)
            | {
                "decision": "Deny",
                "reason": f"the running session is no longer allowed: {reason}",
                "error": "AccessDeniedException",
            }
        )
        return message

    def release(
        self, processor: StreamProcessor, frame: LiveFrame, result: AnalysedFrame
    ) -> dict[str, Any]:
        session = processor.session
        record = result.record
        faces = record.get("FaceSearchResponse", [])
        matched = [i for i, face in enumerate(faces) if face.get("MatchedFaces")]
        if not matched or session is None:
            return record
        withhold = session.reviewers > 0
        review_ids: list[str] = []
        summary = []
        for i in matched:
            face = faces[i]
            summary.append(
                [
                    {"FaceId": m["Face"].get("FaceId"), "Similarity": m["Similarity"]}
                    for m in face["MatchedFaces"]
                ]
            )
            if not withhold:
                continue
            person = result.persons[i] if i < len(result.persons) else None
            review_id = self._review_for(processor, person, face["MatchedFaces"])
            review_ids.append(review_id)
            face["MatchedFaces"] = []
            face["MatchesWithheld"] = {"ReviewId": review_id, "ReviewStatus": "PENDING"}
        entry = self._entry(processor, self.context.clock()) | {
            "decision": "Allow",
            "reason": f"a match of the session {session.session_id}",
            "phase": "match",
            "result": {
                "SessionId": session.session_id,
                "FrameOffsetInSeconds": frame.offset_ms / 1000,
                "ProducerTimestamp": round(frame.producer_time, 3),
                "FaceMatches": summary,
                "Withheld": withhold,
            },
        }
        if review_ids:
            entry["review"] = {
                "review_ids": sorted(set(review_ids)),
                "reviewers": session.reviewers,
            }
        self.gate.append(entry)  # raises when it cannot be written: the record does not leave
        return record

    def ended(self, processor: StreamProcessor, status: str, message: str | None) -> None:
        session = processor.session
        self.gate.append(
            self._entry(processor, self.context.clock())
            | {
                "decision": "Allow",
                "reason": "the session ended",
                "phase": "end",
                "result": {
                    "SessionId": session.session_id if session else None,
                    "Status": status,
                    "StatusMessage": message,
                },
            }
        )

    def _review_for(
        self, processor: StreamProcessor, person: int | None, candidates: list[dict[str, Any]]
    ) -> str:
        session = processor.session
        assert session is not None and session.principal is not None
        key = (session.session_id, person) if person is not None else None
        if key is not None and key in self._reviews:
            return self._reviews[key]
        face_search = processor.definition["Settings"]["FaceSearch"]
        review = self.gate.reviews.submit(
            principal=session.principal,
            access_key_id=session.access_key_id,
            operation=OPERATION,
            collection_id=face_search.get("CollectionId"),
            purpose=session.purpose,
            threshold=session.threshold,
            required_reviewers=session.reviewers,
            candidates=candidates,
        )
        if key is not None:
            self._reviews[key] = review.review_id
        return review.review_id

    def _caller(self, processor: StreamProcessor) -> Caller:
        session = processor.session
        assert session is not None and session.principal is not None
        return Caller(
            principal=session.principal,
            access_key_id=session.access_key_id,
            source_ip="stream-runtime",
            region=self.context.region,
            purpose=session.purpose,
            consent_reference=session.consent_reference,
            request_id=session.request_id,
        )

    def _entry(self, processor: StreamProcessor, now: float) -> AuditEntry:
        session = processor.session
        face_search = (processor.definition.get("Settings") or {}).get("FaceSearch") or {}
        return {
            "time": now,
            "operation": OPERATION,
            "principal": session.principal if session else None,
            "access_key_id": session.access_key_id if session else None,
            "request_id": session.request_id if session else None,
            "source": "stream-runtime",
            "region": self.context.region,
            "purpose": session.purpose if session else None,
            "collection": face_search.get("CollectionId"),
            "resource": processor.arn,
            "parameters": {
                "Name": processor.name,
                "FaceMatchThreshold": session.threshold if session else None,
            },
            "decision": "Allow",
            "reason": "",
        }
