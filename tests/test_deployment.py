"""Opening a deployment's state (``agnosco/deployment.py``): a data directory made by an
Agnosco from before governance tables were versioned still opens, with everything in it."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from pathlib import Path

from agnosco.auth.keys import KeyOwner, KeyStore, MasterKey
from agnosco.deployment import open_governance
from agnosco.governance.audit import AUDIT_KEY_PURPOSE, GENESIS_HASH, canonical_json
from agnosco.settings import Settings

#: The tables as Agnosco wrote them before per-component schema versions (and check values).
OLD_AGNOSCO_DB = """
CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, secret BLOB NOT NULL, principal TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE principals (name TEXT PRIMARY KEY, organization TEXT, organization_type TEXT,
    default_purpose TEXT, created_at REAL NOT NULL);
CREATE TABLE policies (name TEXT PRIMARY KEY, document TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE attachments (principal TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
    policy TEXT NOT NULL, PRIMARY KEY (principal, policy));
CREATE TABLE reviews (review_id TEXT PRIMARY KEY, created_at REAL NOT NULL, principal TEXT NOT NULL,
    access_key_id TEXT, operation TEXT NOT NULL, collection_id TEXT, purpose TEXT, threshold REAL,
    required_reviewers INTEGER NOT NULL, candidates TEXT NOT NULL, status TEXT NOT NULL, decisions TEXT NOT NULL);
CREATE INDEX reviews_by_status ON reviews (status, created_at);
"""
OLD_AUDIT_DB = """
CREATE TABLE audit_records (seq INTEGER PRIMARY KEY, time REAL NOT NULL, operation TEXT, principal TEXT,
    body TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_records_by_time ON audit_records (time);
CREATE INDEX audit_records_by_operation ON audit_records (operation, seq);
CREATE INDEX audit_records_by_principal ON audit_records (principal, seq);
CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL,
    time REAL NOT NULL, mac TEXT NOT NULL);
"""
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "rekognition:DetectFaces", "Resource": "*"}],
}


def old_data_dir(data: Path) -> None:
    fernet = MasterKey.load(data).fernet()
    db = sqlite3.connect(data / "agnosco.db")
    db.executescript(OLD_AGNOSCO_DB)
    db.execute(
        "INSERT INTO access_keys VALUES ('AKIAOLDKEY0000000001', ?, 'analyst', 'Active', 1.0)",
        (fernet.encrypt(b"old secret"),),
    )
    db.execute("INSERT INTO principals VALUES ('admin', NULL, NULL, NULL, 1.0)")
    db.execute("INSERT INTO attachments VALUES ('admin', 'Admin')")
    db.execute("INSERT INTO principals VALUES ('analyst', 'Lab', 'research', 'research_x', 1.0)")
    db.execute("INSERT INTO policies VALUES ('DetectOnly', ?, 1.0)", (json.dumps(POLICY),))
    db.execute("INSERT INTO attachments VALUES ('analyst', 'DetectOnly')")
    db.execute(
        "INSERT INTO reviews VALUES ('r1', 2.0, 'analyst', 'AKIAOLDKEY0000000001', 'SearchFaces', 'c',"
        " 'research_x', 99.0, 1, '[]', 'PENDING', '[]')"
    )
    db.commit()
    db.close()
    audit = sqlite3.connect(data / "audit.db")
    audit.executescript(OLD_AUDIT_DB)
    message = canonical_json([0, GENESIS_HASH, 5.0]).encode()
    mac = hmac.new(
        MasterKey.load(data).derive(AUDIT_KEY_PURPOSE), message, hashlib.sha256
    ).hexdigest()
    audit.execute("INSERT INTO audit_head VALUES (1, 0, ?, 5.0, ?)", (GENESIS_HASH, mac))
    audit.execute("PRAGMA user_version = 1")
    audit.commit()
    audit.close()


def test_a_data_directory_from_before_versioned_tables_opens_with_everything_in_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old_data_dir(data)
    parts = open_governance(Settings(data_dir=data))
    try:
        keys = KeyStore(parts.master, parts.database)
        assert keys.secret_for("AKIAOLDKEY0000000001") == "old secret"
        assert keys.owner("AKIAOLDKEY0000000001") == KeyOwner("analyst", None)
        keys.create("analyst", default_purpose="research_y")  # the column the old table lacked
        keys.close()
        analyst, policies = parts.governance.resolve("analyst")
        assert analyst is not None and analyst.default_purpose == "research_x"
        assert [p.document for p in policies] == [POLICY]
        assert parts.governance.principal("admin").policies == ("Admin",)
        assert parts.reviews.decide("r1", "ann", "confirm", "checked").status == "CONFIRMED"
        assert parts.audit.head()["time"] == 5.0  # the old genesis head, not a new one
        assert parts.audit.append({"operation": "DetectFaces"})["seq"] == 1
        assert parts.audit.verify().ok
    finally:
        parts.close()


def test_an_emptied_old_audit_log_gets_no_new_genesis(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old_data_dir(data)
    with sqlite3.connect(data / "audit.db") as audit:
        audit.execute("DELETE FROM audit_head")
    parts = open_governance(Settings(data_dir=data))
    try:
        assert parts.audit.head() is None
        assert not parts.audit.verify().ok
    finally:
        parts.close()
