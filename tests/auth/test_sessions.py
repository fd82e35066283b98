"""Console sessions on both backends (``store_url``): expiry, ending, what is stored."""

from __future__ import annotations

from pathlib import Path

from agnosco.auth.sessions import SessionStore, verify_secret
from agnosco.storage.database import open_database


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lasts_until_it_expires_or_ends(tmp_path: Path, store_url: str | None) -> None:
    clock = Clock()
    with open_database(store_url, tmp_path / "agnosco.db") as db:
        sessions = SessionStore(db, clock=clock, lifetime=3600)
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
        again = SessionStore(db, clock=clock)
        latest = sessions.open("AKIASHARED")
        assert again.get(latest.token) is not None


def test_secrets_are_compared_whole() -> None:
    assert verify_secret("s3cret", "s3cret")
    assert not verify_secret("s3cret", "s3cre")
    assert not verify_secret("s3cret", "")
    assert not verify_secret(None, "anything")
