"""Policy documents and their evaluation: parse_policy, evaluate, and every Condition operator.

Unit tests of :mod:`agnosco.governance.policy` and :mod:`agnosco.governance.conditions`, with
IAM's semantics as the reference: nothing is allowed unless a statement allows it, an explicit
Deny beats any Allow, wildcards are ``*`` and ``?`` only, a missing key fails a positive
operator and satisfies a negated one, and what cannot be evaluated fails closed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agnosco.governance
from agnosco.errors import MalformedPolicyDocumentException
from agnosco.governance.conditions import (
    UnknownOperator,
    check_operator,
    condition_matches,
    operator_matches,
    wildcard_match,
)
from agnosco.governance.policy import (
    Decision,
    Effect,
    Outcome,
    Policy,
    Statement,
    evaluate,
    parse_policy,
)
from agnosco.governance.principals import builtin_policies

ARN = "arn:aws:rekognition:eu-west-1:000000000000:collection/{}"
POLICIES_DIR = Path(agnosco.governance.__file__).parent / "policies"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "rekognition:*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "rekognition:*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    *statements: dict[str, Any],
    action: str = "rekognition:SearchFaces",
    resource: str = "*",
    context: dict[str, Any] | None = None,
) -> Decision:
    return evaluate([parse_policy("P", doc(*statements))], action, resource, context or {})


def allowed(*statements: dict[str, Any], **kwargs: Any) -> bool:
    return decide(*statements, **kwargs).allowed


def cond(operator: str, key: str, value: Any, context: dict[str, Any]) -> bool:
    """Does ``{operator: {key: value}}`` hold in ``context``?"""
    return operator_matches(operator, {key: value}, context)


# evaluation: implicit deny, explicit deny -----------------------------------------------------


def test_no_policy_is_an_implicit_deny():
    decision = evaluate([], "rekognition:ListCollections", "*", {})
    assert not decision.allowed
    assert "implicit deny" in decision.reason
    assert decision.allowed_by == () and decision.denied_by == ()


def test_no_matching_statement_is_an_implicit_deny():
    decision = decide(allow("rekognition:DetectFaces"), action="rekognition:SearchFaces")
    assert not decision.allowed
    assert "implicit deny" in decision.reason


def test_a_matching_allow_allows_and_names_the_statement():
    decision = decide({"Sid": "Search", **allow("rekognition:SearchFaces")})
    assert decision.allowed
    assert decision.allowed_by == ("P/Search",)
    assert "P/Search" in decision.reason


def test_a_deny_statement_alone_does_not_allow():
    decision = decide(deny("rekognition:DeleteCollection"), action="rekognition:SearchFaces")
    assert not decision.allowed
    assert "implicit deny" in decision.reason


def test_explicit_deny_beats_allow_in_the_same_policy():
    decision = decide({"Sid": "All", **allow()}, {"Sid": "NoSearch", **deny("rekognition:Search*")})
    assert not decision.allowed
    assert decision.denied_by == ("P/NoSearch",)
    assert decision.allowed_by == ("P/All",)
    assert "explicitly denied" in decision.reason and "P/NoSearch" in decision.reason


def test_explicit_deny_beats_allow_across_policies_in_any_order():
    allow_all = parse_policy("AllowAll", doc({"Sid": "A", **allow()}))
    deny_search = parse_policy("DenySearch", doc({"Sid": "D", **deny("rekognition:SearchFaces")}))
    for policies in ([allow_all, deny_search], [deny_search, allow_all]):
        decision = evaluate(policies, "rekognition:SearchFaces", "*", {})
        assert not decision.allowed
        assert decision.denied_by == ("DenySearch/D",)
    assert evaluate([allow_all, deny_search], "rekognition:DetectFaces", "*", {}).allowed


def test_statement_sid_defaults_to_its_index():
    policy = parse_policy(
        "P", doc(allow("rekognition:DetectFaces"), allow("rekognition:SearchFaces"))
    )
    assert [s.label for s in policy.statements] == ["P/0", "P/1"]


# actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("rekognition:Search*", "rekognition:SearchFaces", True),
        ("rekognition:Search*", "rekognition:SearchFacesByImage", True),
        ("rekognition:Search*", "rekognition:SearchUsersByImage", True),
        ("rekognition:Search*", "rekognition:IndexFaces", False),
        ("rekognition:Search*", "rekognition:DescribeCollection", False),
        ("rekognition:*", "rekognition:DeleteCollection", True),
        ("rekognition:*", "s3:GetObject", False),
        ("*", "rekognition:SearchFaces", True),
        ("*", "anything:At-All", True),
        ("rekognition:*Faces", "rekognition:SearchFaces", True),
        ("rekognition:*Faces", "rekognition:SearchFacesByImage", False),
        ("rekognition:Search?aces", "rekognition:SearchFaces", True),
        ("rekognition:Search?aces", "rekognition:SearchFFaces", False),
        ("rekognition:SearchFaces", "rekognition:SearchFacesByImage", False),  # whole-string match
        # regex characters are literal
        ("rekognition:Search.aces", "rekognition:SearchFaces", False),
        ("rekognition:Search.*", "rekognition:SearchFaces", False),
        ("rekognition:Search.*", "rekognition:Search.Faces", True),
        ("rekognition:[S]earchFaces", "rekognition:SearchFaces", False),
        ("rekognition:SearchFaces|rekognition:IndexFaces", "rekognition:IndexFaces", False),
        ("rekognition:Search+", "rekognition:Searchhh", False),
        ("rekognition:^SearchFaces$", "rekognition:SearchFaces", False),
        ("rekognition:(Search)Faces", "rekognition:SearchFaces", False),
        ("rekognition:Search\\w+", "rekognition:SearchFaces", False),
    ],
)
def test_action_patterns(pattern: str, action: str, matches: bool):
    assert allowed(allow(pattern), action=action) is matches


@pytest.mark.parametrize(
    "action", ["REKOGNITION:SEARCHFACES", "rekognition:searchfaces", "Rekognition:SearchFaces"]
)
def test_action_matching_is_case_insensitive(action: str):
    assert allowed(allow("rekognition:SearchFaces"), action=action)
    assert allowed(allow("rekognition:search*"), action=action)
    assert not allowed(allow(), deny("REKOGNITION:search*"), action=action)


def test_action_list_matches_any_of_its_entries():
    statement = allow(["rekognition:DetectFaces", "rekognition:List*"])
    assert allowed(statement, action="rekognition:DetectFaces")
    assert allowed(statement, action="rekognition:ListFaces")
    assert not allowed(statement, action="rekognition:IndexFaces")


def test_not_action_applies_to_every_other_action():
    statement = {
        "Effect": "Allow",
        "NotAction": ["rekognition:Delete*", "rekognition:Search*"],
        "Resource": "*",
    }
    assert allowed(statement, action="rekognition:IndexFaces")
    assert allowed(statement, action="rekognition:ListCollections")
    assert not allowed(statement, action="rekognition:DeleteCollection")
    assert not allowed(statement, action="rekognition:SearchFaces")


def test_deny_with_not_action_denies_everything_else():
    statements = (allow(), {"Effect": "Deny", "NotAction": "rekognition:List*", "Resource": "*"})
    assert allowed(*statements, action="rekognition:ListFaces")
    assert not allowed(*statements, action="rekognition:IndexFaces")


# resources -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "collection", "matches"),
    [
        ("arn:aws:rekognition:*:*:collection/people*", "people", True),
        ("arn:aws:rekognition:*:*:collection/people*", "people-2", True),
        ("arn:aws:rekognition:*:*:collection/people*", "people/user/u1", True),
        ("arn:aws:rekognition:*:*:collection/people*", "other", False),
        ("arn:aws:rekognition:*:*:collection/people*", "my-people", False),
        ("arn:aws:rekognition:*:*:collection/people*", "People", False),  # ARNs are case-sensitive
        ("arn:aws:rekognition:eu-west-1:000000000000:collection/people", "people", True),
        ("arn:aws:rekognition:eu-west-1:000000000000:collection/people", "people-2", False),
        ("arn:aws:rekognition:us-east-1:*:collection/*", "people", False),
        ("arn:aws:rekognition:*:*:collection/p?ople", "people", True),
        ("arn:aws:rekognition:*:*:collection/p.ople", "people", False),
        ("arn:aws:rekognition:*:*:collection/p.ople", "p.ople", True),
        ("*", "anything", True),
    ],
)
def test_resource_patterns(pattern: str, collection: str, matches: bool):
    assert (
        allowed(
            allow(resource=pattern),
            action="rekognition:DeleteCollection",
            resource=ARN.format(collection),
        )
        is matches
    )


def test_resource_wildcard_does_not_match_the_star_resource_of_collectionless_operations():
    statement = allow(resource="arn:aws:rekognition:*:*:collection/*")
    assert not allowed(statement, action="rekognition:ListCollections", resource="*")
    assert allowed(allow(resource="*"), action="rekognition:ListCollections", resource="*")


def test_deny_on_a_collection_prefix():
    statements = (
        allow(),
        deny("rekognition:Delete*", "arn:aws:rekognition:*:*:collection/protected*"),
    )
    assert not allowed(
        *statements, action="rekognition:DeleteCollection", resource=ARN.format("protected-x")
    )
    assert allowed(
        *statements, action="rekognition:DeleteCollection", resource=ARN.format("scratch")
    )
    assert allowed(
        *statements, action="rekognition:DescribeCollection", resource=ARN.format("protected-x")
    )


def test_not_resource_applies_to_every_other_resource():
    statement = {
        "Effect": "Allow",
        "Action": "rekognition:*",
        "NotResource": ["arn:aws:rekognition:*:*:collection/secret*"],
    }
    assert allowed(statement, resource=ARN.format("public"))
    assert allowed(statement, resource="*")
    assert not allowed(statement, resource=ARN.format("secret"))
    assert not allowed(statement, resource=ARN.format("secret-2/user/u"))


def test_deny_with_not_resource():
    statements = (
        allow(),
        {
            "Effect": "Deny",
            "Action": "rekognition:IndexFaces",
            "NotResource": "arn:aws:rekognition:*:*:collection/enrol-*",
        },
    )
    assert allowed(*statements, action="rekognition:IndexFaces", resource=ARN.format("enrol-1"))
    assert not allowed(*statements, action="rekognition:IndexFaces", resource=ARN.format("other"))


# wildcard_match itself --------------------------------------------------------------------------


def test_wildcard_match():
    assert wildcard_match("a*c", "abbbc") and wildcard_match("a*c", "ac")
    assert wildcard_match("a?c", "abc") and not wildcard_match("a?c", "ac")
    assert not wildcard_match("a*c", "abcd")
    assert wildcard_match("a*", "a\nb")  # * spans any character, newlines included
    assert not wildcard_match("ABC", "abc") and wildcard_match("ABC", "abc", ignore_case=True)
    assert not wildcard_match("a.c", "abc") and wildcard_match("a.c", "a.c")
    assert not wildcard_match("a\\d", "a1") and wildcard_match("a\\d", "a\\d")
    assert wildcard_match("", "") and not wildcard_match("", "x")


def _reference_match(pattern: str, value: str) -> bool:
    """The definition, as a (backtracking) regular expression: fine for short strings."""
    import re

    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(st.text("ab*?", max_size=9), st.text("abc", max_size=12))
def test_wildcard_match_agrees_with_the_regular_expression(pattern, value):
    assert wildcard_match(pattern, value) == _reference_match(pattern, value)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*a*a*a*a*a*a*b", "a" * 200, False),  # held a backtracking matcher for minutes
        ("*a*a*a*a*a*a*b", "a" * 199 + "b", True),
        ("*?*?*?*?*?*?*?*?*?*x", "y" * 255, False),
        (
            "arn:aws:rekognition:*:*:collection/*a*a*a*",
            "arn:aws:rekognition:r:1:collection/" + "a" * 255,
            True,
        ),
        ("arn:*:*:*:*:*b", "arn:" + ":" * 255, False),
    ],
)
def test_hostile_wildcards_are_answered(pattern, value, expected):
    """Each of these patterns makes a backtracking matcher exponential in its stars."""
    assert wildcard_match(pattern, value) is expected


# conditions: strings -------------------------------------------------------------------------


def test_string_equals():
    ctx = {"agnosco:Purpose": "missing_persons"}
    assert cond("StringEquals", "agnosco:Purpose", "missing_persons", ctx)
    assert not cond("StringEquals", "agnosco:Purpose", "Missing_Persons", ctx)  # case-sensitive
    assert cond(
        "StringEquals", "agnosco:Purpose", ["research", "missing_persons"], ctx
    )  # values are ORed
    assert not cond("StringEquals", "agnosco:Purpose", ["research", "media"], ctx)
    assert not cond("StringEquals", "agnosco:Purpose", "missing_*", ctx)  # no wildcards


def test_string_not_equals():
    ctx = {"agnosco:Purpose": "missing_persons"}
    assert not cond("StringNotEquals", "agnosco:Purpose", "missing_persons", ctx)
    assert cond("StringNotEquals", "agnosco:Purpose", "research", ctx)
    # a negated operator with several values: the value is none of them
    assert not cond("StringNotEquals", "agnosco:Purpose", ["research", "missing_persons"], ctx)
    assert cond("StringNotEquals", "agnosco:Purpose", ["research", "media"], ctx)


def test_string_equals_ignore_case():
    ctx = {"agnosco:OrganizationType": "Law_Enforcement"}
    assert cond("StringEqualsIgnoreCase", "agnosco:OrganizationType", "law_enforcement", ctx)
    assert not cond("StringEqualsIgnoreCase", "agnosco:OrganizationType", "law_enforcement_x", ctx)
    assert not cond("StringNotEqualsIgnoreCase", "agnosco:OrganizationType", "LAW_ENFORCEMENT", ctx)
    assert cond("StringNotEqualsIgnoreCase", "agnosco:OrganizationType", "media", ctx)


def test_string_like():
    ctx = {"agnosco:Purpose": "research_genomics"}
    assert cond("StringLike", "agnosco:Purpose", "research_*", ctx)
    assert cond("StringLike", "agnosco:Purpose", "research_genomic?", ctx)
    assert cond("StringLike", "agnosco:Purpose", ["media", "*_genomics"], ctx)
    assert not cond("StringLike", "agnosco:Purpose", "Research_*", ctx)  # case-sensitive
    assert not cond("StringLike", "agnosco:Purpose", "research", ctx)  # whole-string match
    assert not cond(
        "StringLike",
        "agnosco:Purpose",
        "research.genomics",
        {"agnosco:Purpose": "researchXgenomics"},
    )
    assert cond(
        "StringLike",
        "agnosco:Purpose",
        "research.genomics",
        {"agnosco:Purpose": "research.genomics"},
    )


def test_string_not_like():
    ctx = {"agnosco:Purpose": "research_genomics"}
    assert not cond("StringNotLike", "agnosco:Purpose", "research_*", ctx)
    assert cond("StringNotLike", "agnosco:Purpose", "media_*", ctx)
    assert not cond("StringNotLike", "agnosco:Purpose", ["media_*", "research_*"], ctx)


# conditions: numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "policy_value", "actual", "holds"),
    [
        ("NumericEquals", "99", 99.0, True),
        ("NumericEquals", 99, "99", True),
        ("NumericEquals", "99", 98.9, False),
        ("NumericNotEquals", "99", 98.9, True),
        ("NumericNotEquals", "99", 99, False),
        ("NumericLessThan", "99", 98.9, True),
        ("NumericLessThan", "99", 99, False),
        ("NumericLessThan", "99", 100, False),
        ("NumericLessThanEquals", "99", 99, True),
        ("NumericLessThanEquals", "99", 99.01, False),
        ("NumericGreaterThan", "95", 95, False),
        ("NumericGreaterThan", "95", 95.5, True),
        ("NumericGreaterThanEquals", "95", 95, True),
        ("NumericGreaterThanEquals", 95, 94.99, False),
        ("NumericGreaterThanEquals", "9.5e1", 95, True),
        ("NumericLessThan", "100", "not a number", False),  # an unparsable value fails
        ("NumericLessThan", "not a number", 5, False),
    ],
)
def test_numeric(operator: str, policy_value: Any, actual: Any, holds: bool):
    assert (
        cond(
            operator,
            "rekognition:FaceMatchThreshold",
            policy_value,
            {"rekognition:FaceMatchThreshold": actual},
        )
        is holds
    )


def test_numeric_values_are_ored():
    ctx = {"rekognition:MaxFaces": 5}
    assert cond("NumericEquals", "rekognition:MaxFaces", ["1", "5"], ctx)
    assert not cond("NumericEquals", "rekognition:MaxFaces", ["1", "2"], ctx)
    assert not cond("NumericNotEquals", "rekognition:MaxFaces", ["1", "5"], ctx)


# conditions: Bool and Null ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False])
def test_string_operators_see_booleans_as_iam_renders_them(value):
    """A Deny written the IAM way, StringEquals agnosco:HumanReview "false", must fire."""
    text = "true" if value else "false"
    other = "false" if value else "true"
    assert cond("StringEquals", "agnosco:HumanReview", text, {"agnosco:HumanReview": value})
    assert not cond("StringEquals", "agnosco:HumanReview", other, {"agnosco:HumanReview": value})
    assert cond(
        "StringNotEquals", "agnosco:Identification", other, {"agnosco:Identification": value}
    )
    assert cond(
        "StringLike", "agnosco:Identification", text[:2] + "*", {"agnosco:Identification": value}
    )


def test_bool():
    assert cond("Bool", "agnosco:HumanReview", "true", {"agnosco:HumanReview": True})
    assert cond("Bool", "agnosco:HumanReview", "false", {"agnosco:HumanReview": False})
    assert cond("Bool", "agnosco:HumanReview", True, {"agnosco:HumanReview": True})
    assert cond("Bool", "agnosco:HumanReview", "TRUE", {"agnosco:HumanReview": "true"})
    assert not cond("Bool", "agnosco:HumanReview", "true", {"agnosco:HumanReview": False})
    assert not cond("Bool", "agnosco:HumanReview", "false", {"agnosco:HumanReview": True})
    assert not cond(
        "Bool", "agnosco:HumanReview", "false", {}
    )  # a missing key fails, even for "false"


def test_null():
    assert cond("Null", "agnosco:Purpose", "true", {})
    assert cond(
        "Null", "agnosco:Purpose", "true", {"agnosco:Purpose": None}
    )  # None counts as absent
    assert not cond("Null", "agnosco:Purpose", "true", {"agnosco:Purpose": "research"})
    assert cond("Null", "agnosco:Purpose", "false", {"agnosco:Purpose": "research"})
    assert not cond("Null", "agnosco:Purpose", "false", {})
    assert cond("Null", "agnosco:Purpose", False, {"agnosco:Purpose": "x"})


# conditions: missing keys, IfExists -------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("StringEquals", "x"),
        ("StringEqualsIgnoreCase", "x"),
        ("StringLike", "*"),
        ("NumericEquals", "1"),
        ("NumericLessThan", "100"),
        ("NumericLessThanEquals", "100"),
        ("NumericGreaterThan", "0"),
        ("NumericGreaterThanEquals", "0"),
        ("Bool", "true"),
        ("ForAnyValue:StringEquals", "x"),
        ("ForAnyValue:StringLike", "*"),
    ],
)
def test_a_missing_key_fails_a_positive_operator(operator: str, value: str):
    assert not cond(operator, "agnosco:Purpose", value, {})
    assert not cond(operator, "agnosco:Purpose", value, {"agnosco:Purpose": None})
    # ...so an Allow conditioned on it does not apply,
    assert not allowed(allow(Condition={operator: {"agnosco:Purpose": value}}))
    # ...and neither does a Deny.
    assert allowed(allow(), deny(Condition={operator: {"agnosco:Purpose": value}}))


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("StringNotEquals", "x"),
        ("StringNotEqualsIgnoreCase", "x"),
        ("StringNotLike", "*"),
        ("NumericNotEquals", "1"),
    ],
)
def test_a_missing_key_satisfies_a_negated_operator(operator: str, value: str):
    assert cond(operator, "agnosco:Purpose", value, {})
    # a Deny "unless the purpose is x" applies to a call without a purpose
    assert not allowed(allow(), deny(Condition={operator: {"agnosco:Purpose": value}}))


@pytest.mark.parametrize(
    ("operator", "value", "present", "holds_when_present"),
    [
        ("StringEqualsIfExists", "research", "research", True),
        ("StringEqualsIfExists", "research", "media", False),
        ("StringLikeIfExists", "research_*", "media", False),
        ("StringNotEqualsIfExists", "media", "media", False),
        ("NumericGreaterThanEqualsIfExists", "95", 90, False),
        ("NumericGreaterThanEqualsIfExists", "95", 99, True),
        ("BoolIfExists", "true", True, True),
        ("BoolIfExists", "true", False, False),
    ],
)
def test_if_exists(operator: str, value: Any, present: Any, holds_when_present: bool):
    assert cond(operator, "k:K", value, {})  # a missing key satisfies ...IfExists
    assert cond(operator, "k:K", value, {"k:K": None})
    assert cond(operator, "k:K", value, {"k:K": present}) is holds_when_present


# conditions: set operators -------------------------------------------------------------------


def test_for_any_value():
    ctx = {"rekognition:Attributes": ["DEFAULT", "FACE_OCCLUDED"]}
    assert cond("ForAnyValue:StringEquals", "rekognition:Attributes", "FACE_OCCLUDED", ctx)
    assert cond("ForAnyValue:StringEquals", "rekognition:Attributes", ["ALL", "DEFAULT"], ctx)
    assert not cond("ForAnyValue:StringEquals", "rekognition:Attributes", ["ALL", "EMOTIONS"], ctx)
    assert cond("ForAnyValue:StringLike", "rekognition:Attributes", "FACE_*", ctx)
    assert not cond(
        "ForAnyValue:StringEquals", "rekognition:Attributes", "ALL", {"rekognition:Attributes": []}
    )


def test_for_all_values():
    ctx = {"rekognition:Attributes": ["DEFAULT", "FACE_OCCLUDED"]}
    assert cond(
        "ForAllValues:StringEquals",
        "rekognition:Attributes",
        ["DEFAULT", "FACE_OCCLUDED", "AGE_RANGE"],
        ctx,
    )
    assert not cond("ForAllValues:StringEquals", "rekognition:Attributes", ["DEFAULT"], ctx)
    assert cond("ForAllValues:StringLike", "rekognition:Attributes", ["DEF*", "FACE_*"], ctx)
    assert not cond("ForAllValues:StringLike", "rekognition:Attributes", "FACE_*", ctx)
    # an empty set: every (no) value matches
    assert cond(
        "ForAllValues:StringEquals", "rekognition:Attributes", "ALL", {"rekognition:Attributes": []}
    )


def test_for_all_values_negated():
    ctx = {"rekognition:Attributes": ["DEFAULT", "FACE_OCCLUDED"]}
    assert cond("ForAllValues:StringNotEquals", "rekognition:Attributes", ["ALL", "EMOTIONS"], ctx)
    assert not cond(
        "ForAllValues:StringNotEquals", "rekognition:Attributes", ["ALL", "DEFAULT"], ctx
    )


def test_for_any_value_numeric():
    ctx = {"k:Scores": [10, 50, 99]}
    assert cond("ForAnyValue:NumericGreaterThanEquals", "k:Scores", "99", ctx)
    assert not cond("ForAllValues:NumericGreaterThanEquals", "k:Scores", "50", ctx)
    assert cond("ForAllValues:NumericGreaterThanEquals", "k:Scores", "10", ctx)


def test_a_list_value_without_a_set_operator_matches_when_any_element_does():
    assert cond("StringEquals", "k:K", "b", {"k:K": ["a", "b"]})
    assert not cond("StringEquals", "k:K", "c", {"k:K": ["a", "b"]})


# conditions: combining -------------------------------------------------------------------------


def test_keys_and_operators_are_anded():
    ctx = {
        "agnosco:OrganizationType": "law_enforcement",
        "agnosco:Purpose": "criminal_investigation",
    }
    both = {
        "StringEquals": {
            "agnosco:OrganizationType": "law_enforcement",
            "agnosco:Purpose": "criminal_investigation",
        }
    }
    assert condition_matches(both, ctx)
    assert not condition_matches(both, ctx | {"agnosco:Purpose": "missing_persons"})
    two_operators = {
        "StringEquals": {"agnosco:OrganizationType": "law_enforcement"},
        "StringNotEquals": {"agnosco:Purpose": ["missing_persons"]},
    }
    assert condition_matches(two_operators, ctx)
    assert not condition_matches(two_operators, ctx | {"agnosco:Purpose": "missing_persons"})
    assert not condition_matches(two_operators, ctx | {"agnosco:OrganizationType": "media"})
    assert condition_matches({}, ctx)  # no condition holds


def test_threshold_condition_in_a_policy():
    statement = allow(
        "rekognition:SearchFacesByImage",
        Condition={"NumericGreaterThanEquals": {"rekognition:FaceMatchThreshold": "95"}},
    )
    for threshold, holds in ((80.0, False), (94.9, False), (95.0, True), (99.0, True)):
        assert (
            allowed(
                statement,
                action="rekognition:SearchFacesByImage",
                context={"rekognition:FaceMatchThreshold": threshold},
            )
            is holds
        )
    assert not allowed(statement, action="rekognition:SearchFacesByImage", context={})


def test_condition_key_names_are_case_insensitive():
    ctx = {"agnosco:OrganizationType": "law_enforcement"}
    assert cond("StringEquals", "AGNOSCO:organizationtype", "law_enforcement", ctx)
    assert not allowed(
        allow(),
        deny(Condition={"StringEquals": {"agnosco:organizationType": "law_enforcement"}}),
        context=ctx,
    )


# unknown operators: refused when parsed, fail closed if evaluated --------------------------------


@pytest.mark.parametrize(
    "operator",
    [
        "StringEqualz",
        "IpAddress",
        "ArnLike",
        "DateGreaterThan",
        "BinaryEquals",
        "NullIfExists",
        "IfExists",
        "StringEqualsIfExistsIfExists",
        "ForSomeValues:StringEquals",
        "stringequals",
        "ForAnyValue:",
        "",
    ],
)
def test_unknown_operators_are_refused_when_parsed(operator: str):
    with pytest.raises(UnknownOperator):
        check_operator(operator)
    with pytest.raises(MalformedPolicyDocumentException) as excinfo:
        parse_policy("P", doc(allow(Condition={operator: {"agnosco:Purpose": "x"}})))
    assert excinfo.value.code == "MalformedPolicyDocumentException"
    with pytest.raises(MalformedPolicyDocumentException):
        parse_policy("P", doc(deny(Condition={operator: {"agnosco:Purpose": "x"}})))


def test_a_double_set_prefix_is_refused():
    with pytest.raises(MalformedPolicyDocumentException):
        parse_policy(
            "P", doc(allow(Condition={"ForAnyValue:ForAllValues:StringEquals": {"k:K": "x"}}))
        )


@pytest.mark.parametrize(
    "operator",
    [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "Bool",
        "Null",
        "StringEqualsIfExists",
        "NumericLessThanIfExists",
        "BoolIfExists",
        "ForAnyValue:StringLike",
        "ForAllValues:StringEquals",
        "ForAllValues:NumericGreaterThanIfExists",
    ],
)
def test_known_operators_are_accepted(operator: str):
    check_operator(operator)
    parse_policy("P", doc(allow(Condition={operator: {"agnosco:Purpose": "1"}})))


def _bogus(effect: Effect) -> Statement:
    return Statement(
        policy="Bogus",
        sid="S",
        effect=effect,
        actions=("rekognition:*",),
        actions_negated=False,
        resources=("*",),
        resources_negated=False,
        condition={"StringEqualsBogus": {"agnosco:Purpose": "x"}},
    )


def test_an_unknown_operator_raises_when_evaluated_directly():
    with pytest.raises(UnknownOperator):
        operator_matches("StringEqualsBogus", {"k:K": "x"}, {"k:K": "x"})
    with pytest.raises(UnknownOperator):
        condition_matches({"StringEqualsBogus": {"k:K": "x"}}, {})


def test_an_unknown_operator_fails_closed_when_evaluated():
    ctx = {"agnosco:Purpose": "x"}
    # a Deny with a condition that cannot be evaluated applies...
    assert _bogus(Effect.DENY).evaluate("rekognition:SearchFaces", "*", ctx) is Outcome.DENY
    assert _bogus(Effect.DENY).evaluate("rekognition:SearchFaces", "*", {}) is Outcome.DENY
    # ...an Allow does not.
    assert _bogus(Effect.ALLOW).evaluate("rekognition:SearchFaces", "*", ctx) is Outcome.NEUTRAL
    allow_all = parse_policy("AllowAll", doc(allow()))
    deny_bogus = Policy("Bogus", (_bogus(Effect.DENY),), {})
    allow_bogus = Policy("Bogus", (_bogus(Effect.ALLOW),), {})
    decision = evaluate([allow_all, deny_bogus], "rekognition:SearchFaces", "*", ctx)
    assert not decision.allowed and decision.denied_by == ("Bogus/S",)
    decision = evaluate([allow_bogus], "rekognition:SearchFaces", "*", ctx)
    assert not decision.allowed and "implicit deny" in decision.reason
    # the action and resource still scope the statement
    assert _bogus(Effect.DENY).evaluate("s3:GetObject", "*", ctx) is Outcome.NEUTRAL


# malformed documents ---------------------------------------------------------------------------

GOOD = {"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"}


@pytest.mark.parametrize(
    ("document", "mentions"),
    [
        ({"Statement": [GOOD]}, "Version"),
        ({"Version": "2012-10-18", "Statement": [GOOD]}, "Version"),
        ({"Version": 2012, "Statement": [GOOD]}, "Version"),
        ({"Version": "2012-10-17"}, "Statement"),
        ({"Version": "2012-10-17", "Statement": []}, "Statement"),
        ({"Version": "2012-10-17", "Statement": None}, "Statement"),
        ({"Version": "2012-10-17", "Statement": "Allow everything"}, "Statement"),
        ({"Version": "2012-10-17", "Statement": [GOOD, "not an object"]}, "statement 1"),
        ({"Version": "2012-10-17", "Statement": [GOOD], "Extra": 1}, "Extra"),
        (doc({**GOOD, "Effect": "Permit"}), "Effect"),
        (doc({**GOOD, "Effect": "allow"}), "Effect"),
        (doc({k: v for k, v in GOOD.items() if k != "Effect"}), "Effect"),
        (doc({**GOOD, "NotAction": "rekognition:Delete*"}), "Action"),
        (doc({"Effect": "Allow", "Resource": "*"}), "Action"),
        (doc({**GOOD, "NotResource": "arn:aws:rekognition:*:*:collection/x"}), "Resource"),
        (doc({"Effect": "Allow", "Action": "rekognition:*"}), "Resource"),
        (doc({**GOOD, "Principal": {"AWS": "*"}}), "Principal"),
        (doc({**GOOD, "NotPrincipal": {"AWS": "*"}}), "NotPrincipal"),
        (doc({**GOOD, "Action": ""}), "Action"),
        (doc({**GOOD, "Action": []}), "Action"),
        (doc({**GOOD, "Action": ["rekognition:SearchFaces", 7]}), "Action"),
        (doc({**GOOD, "Resource": []}), "Resource"),
        (doc({**GOOD, "Condition": "StringEquals"}), "Condition"),
        (doc({**GOOD, "Condition": {"StringEquals": "agnosco:Purpose"}}), "Condition"),
        (
            doc({**GOOD, "Condition": {"StringEquals": {"agnosco:Purpose": {"nested": "x"}}}}),
            "agnosco:Purpose",
        ),
        (
            doc({**GOOD, "Condition": {"StringEquals": {"agnosco:Purpose": [["x"]]}}}),
            "agnosco:Purpose",
        ),
        (
            doc({**GOOD, "Condition": {"StringEquals": {"agnosco:Purpose": None}}}),
            "agnosco:Purpose",
        ),
        (["not", "an", "object"], "object"),
    ],
)
def test_malformed_documents_are_refused(document: Any, mentions: str):
    with pytest.raises(MalformedPolicyDocumentException) as excinfo:
        parse_policy("P", document)
    assert mentions in excinfo.value.message
    with pytest.raises(MalformedPolicyDocumentException):  # the same as JSON text
        parse_policy("P", json.dumps(document))


@pytest.mark.parametrize(
    "text", ["", "{", "not json", "{'Version': '2012-10-17'}", '{"Version": "2012-10-17",}']
)
def test_non_json_is_refused(text: str):
    with pytest.raises(MalformedPolicyDocumentException) as excinfo:
        parse_policy("P", text)
    assert excinfo.value.code == "MalformedPolicyDocumentException"


def test_well_formed_variants_are_accepted():
    single = parse_policy(
        "P", {"Version": "2008-10-17", "Statement": GOOD, "Id": "one statement, not a list"}
    )
    assert len(single.statements) == 1 and single.statements[0].effect is Effect.ALLOW
    text = parse_policy(
        "P", json.dumps(doc({"Sid": "X", **GOOD, "Action": ["rekognition:A", "rekognition:B"]}))
    )
    assert text.statements[0].actions == ("rekognition:A", "rekognition:B")
    assert text.statements[0].label == "P/X"
    negated = parse_policy(
        "P", doc({"Effect": "Deny", "NotAction": "rekognition:List*", "NotResource": "x"})
    )
    assert negated.statements[0].actions_negated and negated.statements[0].resources_negated


# built-in policies ---------------------------------------------------------------------------------

BUILTIN_FILES = sorted(POLICIES_DIR.glob("*.json"))


def test_the_builtin_policies_are_the_shipped_files():
    assert {p.stem for p in BUILTIN_FILES} == set(builtin_policies())
    assert {
        "Admin",
        "ReadOnly",
        "Indexer",
        "Identifier",
        "ImageAnalyst",
        "PoliceMoratorium2020",
    } <= set(builtin_policies())


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=[p.stem for p in BUILTIN_FILES])
def test_each_builtin_policy_parses(path: Path):
    policy = parse_policy(path.stem, path.read_text())
    assert policy.statements
    assert builtin_policies()[path.stem].document == json.loads(path.read_text())


def _builtin(*names: str) -> list[Policy]:
    return [builtin_policies()[n] for n in names]


def test_builtin_read_only_and_indexer():
    for action in ("ListCollections", "DescribeCollection", "ListFaces"):
        assert evaluate(_builtin("ReadOnly"), f"rekognition:{action}", "*", {}).allowed
    for action in ("IndexFaces", "DeleteCollection", "SearchFacesByImage", "DetectFaces"):
        assert not evaluate(_builtin("ReadOnly"), f"rekognition:{action}", "*", {}).allowed
    assert evaluate(_builtin("Indexer"), "rekognition:IndexFaces", "*", {}).allowed
    assert not evaluate(_builtin("Indexer"), "rekognition:SearchFaces", "*", {}).allowed
    assert not evaluate(_builtin("Indexer"), "rekognition:DeleteCollection", "*", {}).allowed
    assert evaluate(_builtin("Admin"), "rekognition:DeleteCollection", ARN.format("x"), {}).allowed


def test_builtin_image_analyst_reads_images_without_identifying():
    """DetectText is allowed where images are analysed without identification: by the
    ImageAnalyst policy (with DetectFaces) and Admin, not by the face roles, whose work needs
    no text read (a sign, a name badge, a number plate are personal data of their own)."""
    analyst = _builtin("ImageAnalyst")
    for action in ("DetectFaces", "DetectText", "DetectLabels"):
        assert evaluate(analyst, f"rekognition:{action}", "*", {}).allowed
    for action in ("SearchFacesByImage", "CompareFaces", "IndexFaces", "ListCollections"):
        assert not evaluate(analyst, f"rekognition:{action}", ARN.format("c"), {}).allowed
    for role in ("ReadOnly", "Indexer", "Identifier"):
        assert not evaluate(_builtin(role), "rekognition:DetectText", "*", {}).allowed
    assert evaluate(_builtin("Admin"), "rekognition:DetectText", "*", {}).allowed
    # the moratorium is about identification: it leaves reading text to the police
    police = _builtin("ImageAnalyst", "PoliceMoratorium2020")
    context = {"agnosco:Identification": False, "agnosco:OrganizationType": "law_enforcement"}
    assert evaluate(police, "rekognition:DetectText", "*", context).allowed


def _police(**context: Any) -> dict[str, Any]:
    base = {
        "agnosco:Identification": True,
        "agnosco:OrganizationType": "law_enforcement",
        "agnosco:Purpose": "missing_persons",
        "agnosco:MatchThreshold": 99.0,
        "agnosco:HumanReview": True,
        "agnosco:RequiredReviewers": 1,
    }
    return {k: v for k, v in (base | context).items() if v is not None}


@pytest.mark.parametrize(
    ("context", "allowed_"),
    [
        (_police(), True),
        (_police(**{"agnosco:Purpose": "human_trafficking_victims"}), True),
        (_police(**{"agnosco:Purpose": "criminal_investigation"}), False),
        (_police(**{"agnosco:Purpose": None}), False),  # no purpose: denied
        (_police(**{"agnosco:MatchThreshold": 98.9}), False),
        (_police(**{"agnosco:MatchThreshold": 80.0}), False),
        (_police(**{"agnosco:HumanReview": False}), False),
        (
            _police(
                **{
                    "agnosco:OrganizationType": "missing_persons",
                    "agnosco:Purpose": None,
                    "agnosco:MatchThreshold": 80.0,
                    "agnosco:HumanReview": False,
                }
            ),
            True,
        ),
        (
            _police(
                **{
                    "agnosco:OrganizationType": None,
                    "agnosco:Purpose": None,
                    "agnosco:MatchThreshold": 80.0,
                    "agnosco:HumanReview": False,
                }
            ),
            True,
        ),
    ],
)
def test_builtin_police_moratorium(context: dict[str, Any], allowed_: bool):
    policies = _builtin("Identifier", "PoliceMoratorium2020")
    for operation in (
        "SearchFaces",
        "SearchFacesByImage",
        "SearchUsers",
        "SearchUsersByImage",
        "CompareFaces",
    ):
        decision = evaluate(policies, f"rekognition:{operation}", ARN.format("c"), context)
        assert decision.allowed is allowed_, (operation, decision.reason)
    # the moratorium forbids identification (every operation comparing faces), not detection
    not_identification = _police(**{"agnosco:Purpose": None, "agnosco:Identification": False})
    assert evaluate(policies, "rekognition:DetectFaces", "*", not_identification).allowed


def test_a_policy_over_iams_size_quota_is_refused():
    statement = {"Effect": "Allow", "Action": "rekognition:DescribeCollection", "Resource": "*"}
    many = {"Version": "2012-10-17", "Statement": [statement] * 20_001}
    with pytest.raises(MalformedPolicyDocumentException, match="at most 6144"):
        parse_policy("huge", many)
    fits = {"Version": "2012-10-17", "Statement": [statement] * 60}
    assert len(parse_policy("fits", fits).statements) == 60
