"""Principals, policies and attachments (``GovernanceStore``) on both backends (``store_url``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.errors import (
    InvalidParameterException,
    MalformedPolicyDocumentException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from agnosco.governance.principals import GovernanceStore, Principal, builtin_policies
from agnosco.storage.database import open_database

DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "rekognition:DetectFaces", "Resource": "*"}],
}


def open_governance(tmp_path: Path, store_url: str | None) -> GovernanceStore:
    return GovernanceStore(open_database(store_url, tmp_path / "agnosco.db"), owned=True)


@pytest.fixture
def store(tmp_path: Path, store_url: str | None) -> Iterator[GovernanceStore]:
    governance = open_governance(tmp_path, store_url)
    yield governance
    governance.close()


def test_principals(store: GovernanceStore) -> None:
    created = store.create_principal(
        "police",
        organization="Metro PD",
        organization_type="law_enforcement",
        default_purpose="investigation",
    )
    assert created == Principal("police", "Metro PD", "law_enforcement", "investigation")
    with pytest.raises(ResourceAlreadyExistsException, match="principal police already exists"):
        store.create_principal("police")
    store.ensure_principal("police")  # an existing principal is left as it is
    store.ensure_principal("Zed")
    store.ensure_principal("admin")
    assert store.principal("police") == created
    assert store.principal("Zed") == Principal("Zed", None, None, None)
    assert [p.name for p in store.list_principals()] == ["Zed", "admin", "police"]  # byte order
    with pytest.raises(ResourceNotFoundException, match="principal nobody does not exist"):
        store.principal("nobody")


def test_policies_and_attachments(store: GovernanceStore) -> None:
    store.ensure_principal("analyst")
    policy = store.put_policy("DetectOnly", json.dumps(DOCUMENT))
    assert store.get_policy("DetectOnly").document == policy.document == DOCUMENT
    assert store.list_policies() == sorted({"DetectOnly", *builtin_policies()})
    replaced = dict(
        DOCUMENT, Statement=[dict(DOCUMENT["Statement"][0], Action="rekognition:Detect*")]
    )
    store.put_policy("DetectOnly", json.dumps(replaced))
    assert store.get_policy("DetectOnly").document == replaced
    with pytest.raises(InvalidParameterException, match="built-in"):
        store.put_policy("Admin", json.dumps(DOCUMENT))
    with pytest.raises(MalformedPolicyDocumentException):
        store.put_policy("Broken", "{}")
    assert "Broken" not in store.list_policies()

    store.attach("DetectOnly", "analyst")
    store.attach("DetectOnly", "analyst")  # twice is once
    store.attach("ReadOnly", "analyst")
    assert store.principal("analyst").policies == ("DetectOnly", "ReadOnly")
    principal, policies = store.resolve("analyst")
    assert principal is not None and [p.name for p in policies] == ["DetectOnly", "ReadOnly"]
    with pytest.raises(ResourceNotFoundException):
        store.attach("NoSuchPolicy", "analyst")
    with pytest.raises(ResourceNotFoundException):
        store.attach("ReadOnly", "nobody")
    store.detach("ReadOnly", "analyst")
    with pytest.raises(ResourceNotFoundException, match="not attached"):
        store.detach("ReadOnly", "analyst")
    assert store.resolve("analyst")[0].policies == ("DetectOnly",)  # type: ignore[union-attr]
    assert store.resolve("nobody") == (None, [])


def test_another_openers_changes_show_within_a_second(
    store: GovernanceStore, tmp_path: Path, store_url: str | None
) -> None:
    store.ensure_principal("analyst")
    assert store.resolve("analyst")[1] == []
    other = open_governance(tmp_path, store_url)  # as the CLI, or another server
    try:
        other.attach("ReadOnly", "analyst")
        time.sleep(1.05)  # resolutions are cached for a second
        assert [p.name for p in store.resolve("analyst")[1]] == ["ReadOnly"]
    finally:
        other.close()
