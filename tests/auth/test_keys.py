"""Access keys and the master key, on both backends (``store_url``)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from agnosco import deployment
from agnosco.auth.keys import (
    MASTER_KEY_ENV,
    AccessKey,
    KeyOwner,
    KeyStore,
    MasterKey,
    MasterKeyError,
)
from agnosco.settings import Settings
from agnosco.storage.database import open_database


def master_secret(data_dir: Path) -> bytes:
    """The master key as a deployment started now would take it (the environment, through the
    settings, else the data directory's file)."""
    return MasterKey.load(data_dir, Settings.load().master_key).secret


def open_keys(data_dir: Path, store_url: str | None) -> KeyStore:
    return deployment.open_keys(Settings.load({"data_dir": data_dir, "store_url": store_url}))


@pytest.fixture
def keys(tmp_path: Path, store_url: str | None):  # type: ignore[no-untyped-def]
    store = open_keys(tmp_path / "data", store_url)
    yield store
    store.close()


def test_create_list_revoke(keys: KeyStore, tmp_path: Path, store_url: str | None) -> None:
    first = keys.create("alice", default_purpose="access-control")
    second = keys.create("bob")
    assert first.access_key_id.startswith("AKIA") and len(first.access_key_id) == 20
    assert keys.secret_for(first.access_key_id) == first.secret_access_key
    assert keys.owner(first.access_key_id) == KeyOwner("alice", "access-control")
    assert keys.owner(second.access_key_id) == KeyOwner("bob", None)
    listed = keys.list()
    assert [(k.access_key_id, k.principal, k.status) for k in listed] == [
        (first.access_key_id, "alice", "Active"),
        (second.access_key_id, "bob", "Active"),
    ]
    assert all(isinstance(k, AccessKey) and k.created_at <= time.time() for k in listed)

    assert keys.revoke(first.access_key_id) is True
    assert keys.revoke("AKIANOSUCHKEY0000000") is False
    assert keys.secret_for(first.access_key_id) is None and keys.owner(first.access_key_id) is None
    assert [k.status for k in keys.list()] == ["Inactive", "Active"]


def test_secrets_are_encrypted_at_rest(
    keys: KeyStore, tmp_path: Path, store_url: str | None
) -> None:
    new = keys.create("alice")
    with open_database(store_url, tmp_path / "data" / "agnosco.db") as db, db.read() as tx:
        stored = bytes(tx.execute("SELECT secret FROM access_keys").fetchone()[0])
    assert new.secret_access_key.encode() not in stored
    assert (
        Fernet(master_secret(tmp_path / "data")).decrypt(stored).decode() == new.secret_access_key
    )


def test_a_given_pair_replaces_the_key(keys: KeyStore) -> None:
    keys.create("admin", access_key_id="AKIAFROMTHEENVIRON01", secret_access_key="one")
    keys.revoke("AKIAFROMTHEENVIRON01")
    keys.create("admin", access_key_id="AKIAFROMTHEENVIRON01", secret_access_key="two")
    assert keys.secret_for("AKIAFROMTHEENVIRON01") == "two"
    assert [(k.access_key_id, k.status) for k in keys.list()] == [
        ("AKIAFROMTHEENVIRON01", "Active")
    ]


def test_another_openers_changes_show_within_a_second(
    keys: KeyStore, tmp_path: Path, store_url: str | None
) -> None:
    other = open_keys(tmp_path / "data", store_url)  # as the CLI, or another server
    try:
        new = other.create("alice")
        assert keys.secret_for(new.access_key_id) == new.secret_access_key
        other.revoke(new.access_key_id)
        time.sleep(1.05)  # lookups are cached for a second
        assert keys.secret_for(new.access_key_id) is None
    finally:
        other.close()


def test_the_master_key_from_the_environment_shares_keys_between_data_dirs(
    tmp_path: Path, store_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = Fernet.generate_key().decode()
    monkeypatch.setenv(MASTER_KEY_ENV, f"  {shared}\n")  # as pasted: surrounding space is ignored
    assert master_secret(tmp_path / "one") == shared.encode()
    assert not (tmp_path / "one" / "master.key").exists()  # nothing to share in the directory
    one = open_keys(tmp_path / "one", store_url)
    try:
        new = one.create("alice")
        with open_database(store_url, tmp_path / "one" / "agnosco.db") as db, db.read() as tx:
            stored = bytes(tx.execute("SELECT secret FROM access_keys").fetchone()[0])
        assert Fernet(shared).decrypt(stored).decode() == new.secret_access_key
        if store_url is not None:  # another data directory on the same database: the same keys
            two = open_keys(tmp_path / "two", store_url)
            try:
                assert two.secret_for(new.access_key_id) == new.secret_access_key
            finally:
                two.close()
    finally:
        one.close()
    assert (
        not (tmp_path / "one" / "master.key").exists()
        and not (tmp_path / "two" / "master.key").exists()
    )


@pytest.mark.parametrize(
    "bad",
    ["not-a-key", "a" * 44, Fernet.generate_key().decode()[:-2]],
    ids=["not-a-key", "not-base64-of-32-bytes", "cut-short"],
)
def test_a_malformed_master_key_in_the_environment_is_refused(
    tmp_path: Path, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, bad)
    with pytest.raises(MasterKeyError, match=f"{MASTER_KEY_ENV} is not a Fernet key") as raised:
        master_secret(tmp_path)  # (the environment, through the settings)
    assert bad not in str(raised.value)  # a secret, even a wrong one, is never echoed


def test_a_different_master_key_is_refused_at_opening(
    tmp_path: Path, store_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    open_keys(data, store_url).close()  # the first key used sets the database's check value
    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(
        MasterKeyError, match=f"{MASTER_KEY_ENV} is not the master key .* was made with"
    ):
        open_keys(data, store_url)
    monkeypatch.delenv(MASTER_KEY_ENV)  # data/master.key is a third key
    with pytest.raises(MasterKeyError, match=r"master\.key is not the master key"):
        open_keys(data, store_url)


def test_keys_of_a_data_directory_from_before_check_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data directory made by an earlier Agnosco: keys without default purposes, no versions,
    no check value.  It opens with its own master key (and gains a check value); another key,
    which decrypts none of its secrets, is refused before it could become the check value."""
    data = tmp_path / "data"
    data.mkdir()
    fernet = Fernet(master_secret(data))
    db = sqlite3.connect(data / "agnosco.db")
    db.execute(
        "CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, secret BLOB NOT NULL,"
        " principal TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO access_keys VALUES ('AKIAOLDKEY0000000001', ?, 'admin', 'Active', 1.0)",
        (fernet.encrypt(b"old secret"),),
    )
    db.commit()
    db.close()

    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(MasterKeyError, match="decrypts none of the access keys"):
        KeyStore(MasterKey.load(data, Settings.load().master_key), data / "agnosco.db")
    monkeypatch.delenv(MASTER_KEY_ENV)
    keys = KeyStore(MasterKey.load(data, Settings.load().master_key), data / "agnosco.db")
    try:
        assert keys.secret_for("AKIAOLDKEY0000000001") == "old secret"
        assert keys.owner("AKIAOLDKEY0000000001") == KeyOwner("admin", None)
        keys.create("admin", default_purpose="p")
    finally:
        keys.close()
    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(MasterKeyError, match="is not the master key"):
        KeyStore(MasterKey.load(data, Settings.load().master_key), data / "agnosco.db")
