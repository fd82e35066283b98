"""Console sign-in sessions on both backends (``store_url``): expiry, ending, what is stored,
and that they live apart from the STS sessions of :mod:`agnosco.auth.sessions`."""

from __future__ import annotations

from pathlib import Path

from agnosco import deployment
from agnosco.auth.keys import KeyStore
from agnosco.auth.sessions import MIGRATIONS as STS_MIGRATIONS
from agnosco.auth.sessions import SESSION_TOKEN, SessionStore
from agnosco.console.sessions import MIGRATIONS, ConsoleSessions, verify_secret
from agnosco.settings import Settings
from agnosco.storage.database import open_database
from tests.clock import Clock

NOW = 1_800_000_000.0


def test_a_session_lasts_until_it_expires_or_ends(tmp_path: Path, store_url: str | None) -> None:
    clock = Clock()
    with open_database(store_url, tmp_path / "agnosco.db") as db:
        sessions = ConsoleSessions(db, clock=clock, lifetime=3600)
        one = sessions.open("AKIAONE")
        two = sessions.open("AKIAONE")
        other = sessions.open("AKIAOTHER")
        found = sessions.get(one.token)
        assert found is not None and found.access_key_id == "AKIAONE"
        assert found.expires_at == clock.now + 3600 and found.csrf_token
        assert sessions.get("not-a-token") is None
        with db.read() as tx:  # the tokens themselves are not stored
            stored = [r[0] for r in tx.execute("SELECT token_hash FROM console_sessions")]
        assert len(stored) == 3 and one.token not in stored
        sessions.end(one.token)
        assert sessions.get(one.token) is None and sessions.get(two.token) is not None
        assert sessions.end_key("AKIAONE") == 1
        assert sessions.get(two.token) is None
        clock.now += 3600
        assert sessions.get(other.token) is None  # expired
        sessions.open("AKIANEW")  # deletes expired rows on the way
        with db.read() as tx:
            left = tx.execute("SELECT access_key_id FROM console_sessions").fetchall()
        assert [r[0] for r in left] == ["AKIANEW"]
        # Another opener (another server on the same database) sees the same sessions.
        again = ConsoleSessions(db, clock=clock)
        latest = sessions.open("AKIASHARED")
        assert again.get(latest.token) is not None


def test_secrets_are_compared_whole() -> None:
    assert verify_secret("s3cret", "s3cret")
    assert not verify_secret("s3cret", "s3cre")
    assert not verify_secret("s3cret", "")
    assert not verify_secret(None, "anything")


def test_console_and_sts_sessions_share_a_fresh_database_apart(
    tmp_path: Path, store_url: str | None
) -> None:
    """Both components migrate on a fresh database, under their own names and tables, and
    ending a key's console sessions leaves its STS sessions (the key store ends those)."""
    parts = deployment.open_governance(
        Settings.load({"data_dir": tmp_path / "data", "store_url": store_url})
    )
    keys = KeyStore(parts.master, parts.database)
    sts = SessionStore(parts.master, parts.database)
    console = ConsoleSessions(parts.database, clock=lambda: NOW)
    try:
        with parts.database.read() as tx:
            versions = dict(
                tx.execute(
                    "SELECT component, version FROM agnosco_schema"
                    " WHERE component IN ('sessions', 'console_sessions')"
                ).fetchall()
            )
        assert versions == {"sessions": len(STS_MIGRATIONS), "console_sessions": len(MIGRATIONS)}
        key = keys.create("admin")
        issued = sts.issue(
            kind=SESSION_TOKEN,
            principal="admin",
            source_access_key_id=key.access_key_id,
            issued_at=NOW,
            duration=900,
        )
        signed_in = console.open(key.access_key_id)
        assert console.end_key(key.access_key_id) == 1
        assert console.get(signed_in.token) is None
        with parts.database.read() as tx:
            left = tx.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        assert left == 1 and issued.session.access_key_id.startswith("ASIA")
    finally:
        for part in (keys, sts, console):
            part.close()
        parts.close()
