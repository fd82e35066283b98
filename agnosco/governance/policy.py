"""IAM-style policy documents: parsing with validation, and evaluation as AWS evaluates them.

A policy is ``{"Version": "2012-10-17", "Statement": [...]}``; each statement has an
``Effect`` (Allow or Deny), ``Action`` or ``NotAction`` (``rekognition:Search*`` style
wildcards, matched case-insensitively), ``Resource`` or ``NotResource`` (ARNs with
wildcards), and an optional ``Condition`` (:mod:`.conditions`).

Evaluation: every statement of every attached policy answers ALLOW, DENY or NEUTRAL for the
request; any DENY wins, otherwise any ALLOW allows, otherwise the request is implicitly
denied.  A principal with no policy can do nothing.  Invalid documents are refused when
stored (:class:`MalformedPolicyDocumentException`), never half-applied; a Condition that
cannot be evaluated fails closed (a Deny statement then applies, an Allow does not).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from agnosco.errors import MalformedPolicyDocumentException
from agnosco.governance.conditions import (
    UnknownOperator,
    check_operator,
    condition_matches,
    wildcard_match,
)

VERSIONS = ("2012-10-17", "2008-10-17")
#: IAM's quota for a managed policy: 6,144 characters, whitespace not counted.  Evaluation cost
#: grows with a policy's size, and every call evaluates every attached policy.
MAX_POLICY_CHARACTERS = 6144
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


class Effect(enum.StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class Outcome(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Statement:
    policy: str
    sid: str
    effect: Effect
    actions: tuple[str, ...]
    actions_negated: bool
    resources: tuple[str, ...]
    resources_negated: bool
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.policy}/{self.sid}"

    def evaluate(self, action: str, resource: str, context: dict[str, Any]) -> Outcome:
        in_actions = any(wildcard_match(p, action, ignore_case=True) for p in self.actions)
        if in_actions == self.actions_negated:
            return Outcome.NEUTRAL
        in_resources = any(wildcard_match(p, resource) for p in self.resources)
        if in_resources == self.resources_negated:
            return Outcome.NEUTRAL
        try:
            holds = condition_matches(self.condition, context)
        except UnknownOperator:
            holds = self.effect is Effect.DENY  # fail closed
        if not holds:
            return Outcome.NEUTRAL
        return Outcome.ALLOW if self.effect is Effect.ALLOW else Outcome.DENY


@dataclass(frozen=True)
class Policy:
    name: str
    statements: tuple[Statement, ...]
    document: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    allowed_by: tuple[str, ...] = ()
    denied_by: tuple[str, ...] = ()


def _strings(value: Any, what: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise MalformedPolicyDocumentException(
            f"{what} must be a non-empty string or list of strings"
        )
    return tuple(values)


def parse_policy(name: str, document: dict[str, Any] | str) -> Policy:
    """A validated :class:`Policy`.

    :raises MalformedPolicyDocumentException: naming what is wrong.
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise MalformedPolicyDocumentException(
                f"policy {name} is not valid JSON: {exc}"
            ) from exc
    if not isinstance(document, dict):
        raise MalformedPolicyDocumentException("a policy document must be a JSON object")
    size = len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))
    if size > MAX_POLICY_CHARACTERS:
        raise MalformedPolicyDocumentException(
            f"policy {name} has {size} characters (whitespace not counted); "
            f"at most {MAX_POLICY_CHARACTERS} are allowed, as in IAM"
        )
    unknown = set(document) - {"Version", "Statement", "Id"}
    if unknown:
        raise MalformedPolicyDocumentException(f"unsupported policy elements: {sorted(unknown)}")
    if document.get("Version") not in VERSIONS:
        raise MalformedPolicyDocumentException(f"Version must be one of {VERSIONS}")
    raw = document.get("Statement")
    raw_statements = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
    if not raw_statements:
        raise MalformedPolicyDocumentException(
            "Statement must be a statement or a non-empty list of them"
        )
    statements = []
    for i, st in enumerate(raw_statements):
        if not isinstance(st, dict):
            raise MalformedPolicyDocumentException(f"statement {i} is not an object")
        unknown = set(st) - _STATEMENT_KEYS
        if unknown:
            raise MalformedPolicyDocumentException(
                f"statement {i}: unsupported elements {sorted(unknown)} (identity policies have no Principal)"
            )
        try:
            effect = Effect(str(st.get("Effect")))
        except ValueError:
            raise MalformedPolicyDocumentException(
                f"statement {i}: Effect must be Allow or Deny"
            ) from None
        if ("Action" in st) == ("NotAction" in st):
            raise MalformedPolicyDocumentException(
                f"statement {i}: exactly one of Action, NotAction"
            )
        if ("Resource" in st) == ("NotResource" in st):
            raise MalformedPolicyDocumentException(
                f"statement {i}: exactly one of Resource, NotResource"
            )
        condition = st.get("Condition", {})
        if not isinstance(condition, dict) or not all(
            isinstance(b, dict) for b in condition.values()
        ):
            raise MalformedPolicyDocumentException(
                f"statement {i}: Condition must map operators to objects"
            )
        for operator, block in condition.items():
            try:
                check_operator(operator)
            except UnknownOperator as exc:
                raise MalformedPolicyDocumentException(f"statement {i}: {exc}") from None
            for key, values in block.items():
                for v in values if isinstance(values, list) else [values]:
                    if not isinstance(v, (str, int, float, bool)):
                        raise MalformedPolicyDocumentException(
                            f"statement {i}: bad value for {key}"
                        )
        statements.append(
            Statement(
                policy=name,
                sid=str(st.get("Sid", i)),
                effect=effect,
                actions=_strings(st.get("Action", st.get("NotAction")), f"statement {i}: Action"),
                actions_negated="NotAction" in st,
                resources=_strings(
                    st.get("Resource", st.get("NotResource")), f"statement {i}: Resource"
                ),
                resources_negated="NotResource" in st,
                condition=condition,
            )
        )
    return Policy(name=name, statements=tuple(statements), document=document)


def evaluate(
    policies: list[Policy], action: str, resource: str, context: dict[str, Any]
) -> Decision:
    """The decision for ``action`` on ``resource`` in ``context`` under ``policies``."""
    allows, denies = [], []
    for policy in policies:
        for statement in policy.statements:
            outcome = statement.evaluate(action, resource, context)
            if outcome is Outcome.DENY:
                denies.append(statement.label)
            elif outcome is Outcome.ALLOW:
                allows.append(statement.label)
    if denies:
        return Decision(
            False, f"explicitly denied by {', '.join(denies)}", tuple(allows), tuple(denies)
        )
    if allows:
        return Decision(True, f"allowed by {', '.join(allows)}", tuple(allows))
    return Decision(False, "no policy allows it (implicit deny)")
