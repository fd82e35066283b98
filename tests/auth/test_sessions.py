"""Temporary credentials and roles, on both backends (``store_url``): secrets encrypted at rest,
the session token checked on every use, expiry, and sessions ending with their key or role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agnosco import deployment
from agnosco.auth.keys import KeyStore
from agnosco.auth.sessions import ASSUMED_ROLE, SESSION_TOKEN, Credentials, SessionStore
from agnosco.errors import (
    ExpiredTokenException,
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from agnosco.governance.roles import RoleStore, parse_role_arn
from agnosco.settings import Settings
from agnosco.storage.database import Database

NOW = 1_800_000_000.0  # a whole second: sessions expire on one


@dataclass
class State:
    keys: KeyStore
    sessions: SessionStore
    roles: RoleStore
    credentials: Credentials
    database: Database


@pytest.fixture
def state(tmp_path: Path, store_url: str | None) -> Iterator[State]:
    parts = deployment.open_governance(
        Settings.load({"data_dir": tmp_path / "data", "store_url": store_url})
    )
    keys = KeyStore(parts.master, parts.database)
    sessions = SessionStore(parts.master, parts.database)
    roles = RoleStore(parts.database, parts.governance)
    yield State(
        keys, sessions, roles, Credentials(keys, sessions, roles.role_id_of), parts.database
    )
    for part in (keys, sessions, roles):
        part.close()
    parts.close()


def test_a_session_is_its_key_secret_and_token(state: State) -> None:
    key = state.keys.create("admin")
    new = state.sessions.issue(
        kind=SESSION_TOKEN,
        principal="admin",
        source_access_key_id=key.access_key_id,
        issued_at=NOW,
        duration=900,
    )
    session = new.session
    assert session.access_key_id.startswith("ASIA") and len(session.access_key_id) == 20
    assert session.expires_at == NOW + 900
    secret = state.credentials.secret_for(session.access_key_id, new.session_token)
    assert secret == session.secret
    signer = state.credentials.signer(session.access_key_id, new.session_token, NOW)
    assert signer is not None and signer.owner.principal == "admin"
    assert signer.session is not None and signer.session.kind == SESSION_TOKEN


def test_secrets_and_tokens_are_not_stored_in_clear(state: State) -> None:
    key = state.keys.create("admin")
    new = state.sessions.issue(
        kind=SESSION_TOKEN,
        principal="admin",
        source_access_key_id=key.access_key_id,
        issued_at=NOW,
        duration=900,
    )
    with state.database.read() as tx:
        row = tx.execute(
            "SELECT secret, token_sha256 FROM sessions WHERE access_key_id = ?",
            (new.session.access_key_id,),
        ).fetchone()
    assert new.session.secret.encode() not in bytes(row[0])
    assert new.session_token not in row[1] and len(row[1]) == 64


def test_the_token_is_checked_on_every_use(state: State) -> None:
    key = state.keys.create("admin")
    new = state.sessions.issue(
        kind=SESSION_TOKEN,
        principal="admin",
        source_access_key_id=key.access_key_id,
        issued_at=NOW,
        duration=900,
    )
    key_id = new.session.access_key_id
    assert state.credentials.secret_for(key_id, "garbage") is None
    assert state.credentials.secret_for(key_id, None) is None  # a temporary key alone
    assert state.credentials.secret_for(key_id, new.session_token + "x") is None
    # a long-term key with any session token, even a real one, is refused
    assert state.credentials.secret_for(key.access_key_id, new.session_token) is None
    assert state.credentials.secret_for(key.access_key_id, None) == key.secret_access_key
    assert state.credentials.secret_for("ASIANOSUCHKEY0000000", new.session_token) is None


def test_a_session_expires(state: State) -> None:
    key = state.keys.create("admin")
    new = state.sessions.issue(
        kind=SESSION_TOKEN,
        principal="admin",
        source_access_key_id=key.access_key_id,
        issued_at=NOW,
        duration=900,
    )
    key_id, token = new.session.access_key_id, new.session_token
    assert state.credentials.signer(key_id, token, NOW + 899) is not None
    with pytest.raises(
        ExpiredTokenException, match="security token included in the request is expired"
    ):
        state.credentials.signer(key_id, token, NOW + 900)
    # its signature is still checked (with its secret), so the refusal is of its holder, and
    # the record of the refusal can name who it was
    assert state.credentials.secret_for(key_id, token) == new.session.secret
    signer = state.credentials.signer(key_id, token, NOW + 900, expired_ok=True)
    assert signer is not None and signer.owner.principal == "admin"
    # an expired session with a wrong token is not told apart from an unknown one
    assert state.credentials.secret_for(key_id, "garbage") is None
    assert state.credentials.signer(key_id, "garbage", NOW + 900) is None


def test_revoking_the_long_term_key_ends_its_sessions(state: State) -> None:
    key = state.keys.create("admin")
    new = state.sessions.issue(
        kind=SESSION_TOKEN,
        principal="admin",
        source_access_key_id=key.access_key_id,
        issued_at=NOW,
        duration=900,
    )
    state.keys.revoke(key.access_key_id)
    assert state.credentials.secret_for(new.session.access_key_id, new.session_token) is None


def test_deleting_a_role_ends_its_sessions_even_if_made_again(state: State) -> None:
    state.roles.governance.create_principal("finder")
    key = state.keys.create("finder")
    role = state.roles.create("Finders", ["finder"])

    def assume() -> tuple[str, str]:
        current = state.roles.require("Finders")
        new = state.sessions.issue(
            kind=ASSUMED_ROLE,
            principal="Finders",
            source_access_key_id=key.access_key_id,
            issued_at=NOW,
            duration=900,
            assumed_by="finder",
            role="Finders",
            role_id=current.role_id,
            session_name="s",
        )
        return new.session.access_key_id, new.session_token

    key_id, token = assume()
    assert state.credentials.secret_for(key_id, token) is not None
    state.roles.delete("Finders")
    state.roles._ids.clear()  # the one-second cache, as a second later
    assert state.credentials.secret_for(key_id, token) is None
    again = state.roles.create("Finders", ["finder"])
    assert again.role_id != role.role_id
    state.roles._ids.clear()
    assert state.credentials.secret_for(key_id, token) is None  # another role now
    assert state.credentials.secret_for(*assume()) is not None


def test_roles_are_principals_with_a_trust_list(state: State) -> None:
    governance = state.roles.governance
    governance.create_principal("finder")
    role = state.roles.create("Finders", ["finder"], max_session_duration=7200, description="d")
    assert role.role_id.startswith("AROA") and len(role.role_id) == 21
    assert role.arn("000000000000") == "arn:aws:iam::000000000000:role/Finders"
    assert governance.principal("Finders").name == "Finders"
    governance.attach("ReadOnly", "Finders")
    assert state.roles.require("Finders").trust == ("finder",)
    assert [r.name for r in state.roles.list()] == ["Finders"]
    with pytest.raises(ResourceAlreadyExistsException):
        state.roles.create("Finders", ["finder"])
    with pytest.raises(ResourceAlreadyExistsException):
        state.roles.create("finder", ["admin"])  # a principal of that name
    with pytest.raises(ResourceNotFoundException):
        state.roles.create("Other", ["nobody"])
    with pytest.raises(InvalidParameterException, match="3600 to 43200"):
        state.roles.create("Other", ["finder"], max_session_duration=43201)
    with pytest.raises(InvalidParameterException, match="at least one"):
        state.roles.create("Other", [])
    with pytest.raises(InvalidParameterException, match="1 to 64"):
        state.roles.create("no spaces", ["finder"])
    assert state.roles.get("Other") is None
    with pytest.raises(ResourceNotFoundException):
        governance.principal("Other")  # nothing half-made

    state.roles.delete("Finders")
    assert state.roles.get("Finders") is None
    with pytest.raises(ResourceNotFoundException):
        governance.principal("Finders")
    with pytest.raises(ResourceNotFoundException):
        state.roles.delete("Finders")


@pytest.mark.parametrize(
    ("arn", "parsed"),
    [
        ("arn:aws:iam::000000000000:role/Finders", ("000000000000", "Finders")),
        ("arn:aws:iam::123456789012:role/path/to/Finders", ("123456789012", "Finders")),
        ("arn:aws:iam::000000000000:user/Finders", None),
        ("arn:aws:iam::0000:role/Finders", None),
        ("Finders", None),
    ],
)
def test_role_arns(arn: str, parsed: tuple[str, str] | None) -> None:
    assert parse_role_arn(arn) == parsed


def test_a_long_term_key_of_a_role_signs_nothing(state: State) -> None:
    """A role is assumed through its trust list, never signed for directly."""
    state.roles.governance.create_principal("finder")
    state.roles.create("Finders", ["finder"])
    key = state.keys.create("Finders")
    assert state.credentials.secret_for(key.access_key_id, None) is None
    assert state.credentials.signer(key.access_key_id, None, NOW) is None
    state.roles.delete("Finders")
    state.roles._ids.clear()
    assert state.credentials.secret_for(key.access_key_id, None) == key.secret_access_key


def test_standing_says_why_a_verified_key_no_longer_speaks(state: State) -> None:
    """For work that outlives its request (a running stream processor): the key that started it
    is asked again, without its token, whether it still speaks for its principal."""
    state.roles.governance.create_principal("finder")
    key = state.keys.create("finder")
    assert state.credentials.standing(key.access_key_id, NOW) is None
    temporary = state.sessions.issue(
        kind=SESSION_TOKEN,
        principal="finder",
        source_access_key_id=key.access_key_id,
        issued_at=NOW,
        duration=900,
    ).session
    role = state.roles.create("Finders", ["finder"])
    assumed = state.sessions.issue(
        kind=ASSUMED_ROLE,
        principal="Finders",
        source_access_key_id=key.access_key_id,
        issued_at=NOW,
        duration=900,
        assumed_by="finder",
        role="Finders",
        role_id=role.role_id,
        session_name="s",
    ).session
    assert state.credentials.standing(temporary.access_key_id, NOW + 899) is None
    assert state.credentials.standing(assumed.access_key_id, NOW + 899) is None
    expired = state.credentials.standing(temporary.access_key_id, NOW + 900)
    assert expired == f"the temporary credentials {temporary.access_key_id} expired"
    unknown = state.credentials.standing("ASIANOSUCHKEY0000000", NOW)
    assert unknown is not None and "unknown" in unknown

    state.roles.delete("Finders")
    state.roles._ids.clear()  # the one-second cache, as a second later
    gone = state.credentials.standing(assumed.access_key_id, NOW)
    assert gone == "the role Finders of the temporary credentials no longer exists"

    state.keys.revoke(key.access_key_id)
    revoked = state.credentials.standing(key.access_key_id, NOW)
    assert revoked == f"the access key {key.access_key_id} was revoked"
    descended = state.credentials.standing(temporary.access_key_id, NOW)
    assert descended is not None and f"{key.access_key_id} that the temporary" in descended
