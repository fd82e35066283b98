"""Open a deployment's state: face store, access keys, governance, audit log, and the
operations' shared context.

Where state lives follows the store URL (``--store``, :func:`agnosco.storage.open_store`): with
SQLite (the default) everything is in the data directory (``agnosco.db``, ``audit.db``); with
PostgreSQL the face store, access keys, principals and policies, reviews and the audit log are
all in that database (one :class:`~agnosco.storage.database.Database` shared by them here), so
servers on several machines agree on all of it.  The master key (``AGNOSCO_MASTER_KEY`` or
``DATA_DIR/master.key``) must then be the same everywhere; it is checked against the database
on opening.  What stays per data directory is deployment configuration: ``calibration.json``,
evaluation records, the S3 folder and the bulk indexing ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from agnosco.auth.keys import KeyStore, NewKey, check_master_key, master_key_source, master_secret
from agnosco.deployment import DEFAULT_REGION
from agnosco.errors import ResourceNotFoundException
from agnosco.evaluation.records import EvaluationIndex
from agnosco.governance.audit import AUDIT_DATABASE, AuditLog, audit_key
from agnosco.governance.gate import Gate
from agnosco.governance.principals import GovernanceStore
from agnosco.governance.review import ReviewQueue
from agnosco.operations.context import OperationContext
from agnosco.operations.images import ImageSource
from agnosco.storage import open_store
from agnosco.storage.data_dir import prepare_data_dir
from agnosco.storage.database import POSTGRESQL, Database, open_database
from agnosco.vision.similarity import SimilarityCalibration

log = logging.getLogger("agnosco.server")

DEFAULT_DATA_DIR = Path(os.environ.get("AGNOSCO_DATA_DIR", "agnosco-data"))
DATABASE = "agnosco.db"
#: A deployer's own calibration (``agnosco calibrate``); the shipped one is used without it.
CALIBRATION = "calibration.json"


def load_calibration(data_dir: Path) -> SimilarityCalibration:
    path = data_dir / CALIBRATION
    return SimilarityCalibration.load(path if path.is_file() else None)


@dataclass
class Service:
    data_dir: Path
    context: OperationContext
    keys: KeyStore
    governance: GovernanceStore
    reviews: ReviewQueue
    audit: AuditLog
    gate: Gate
    #: The database the parts above share (closed after them), when they share one.
    database: Database | None = None

    def close(self) -> None:
        if self.context.store is not None:
            self.context.store.close()
        for part in (self.keys, self.governance, self.reviews, self.audit):
            part.close()
        if self.database is not None:
            self.database.close()


@dataclass
class Governance:
    """The governance parts of a deployment, for CLI commands that need no models."""

    governance: GovernanceStore
    reviews: ReviewQueue
    audit: AuditLog
    #: The database the parts share (closed after them); None when the caller owns it.
    database: Database | None = None

    def close(self) -> None:
        for part in (self.governance, self.reviews, self.audit):
            part.close()
        if self.database is not None:
            self.database.close()


def open_governance(data_dir: Path, store_url: str | None = None) -> Governance:
    """Principals and policies, reviews and the audit log, where ``store_url`` puts them:
    the store's PostgreSQL database, or ``DATA_DIR/agnosco.db`` and ``DATA_DIR/audit.db``.

    :raises MasterKeyError: the master key is malformed or not the database's.
    :raises StoreURLError: a ``store_url`` naming no backend.
    """
    prepare_data_dir(data_dir)
    fernet, head_key = Fernet(master_secret(data_dir)), audit_key(data_dir)
    database = open_database(store_url, data_dir / DATABASE)
    parts: list[GovernanceStore | ReviewQueue | AuditLog] = []
    try:
        # Before anything is written with it: a replica with another key must not start.
        check_master_key(database, fernet, master_key_source(data_dir))
        governance = GovernanceStore(database)
        parts.append(governance)
        ensure_admin_principal(governance)
        reviews = ReviewQueue(database)
        parts.append(reviews)
        audit = AuditLog(database if database.dialect == POSTGRESQL else data_dir / AUDIT_DATABASE, head_key)
    except BaseException:
        for part in parts:
            part.close()
        database.close()
        raise
    return Governance(governance, reviews, audit, database)


def ensure_admin_principal(governance: GovernanceStore) -> None:
    """The ``admin`` principal, with the Admin policy, in a new data directory."""
    try:
        governance.principal("admin")
    except ResourceNotFoundException:
        governance.ensure_principal("admin")
        governance.attach("Admin", "admin")


def open_keys(data_dir: Path, store_url: str | None = None) -> KeyStore:
    """The access keys, where ``store_url`` puts them (as :func:`open_governance`)."""
    prepare_data_dir(data_dir)
    return KeyStore(data_dir, open_database(store_url, data_dir / DATABASE), owned=True)


def open_service(
    data_dir: Path, *, s3_dir: Path | None = None, s3_endpoint_url: str | None = None,
    threshold_mode: str = "refuse", store_url: str | None = None, region: str = DEFAULT_REGION,
) -> Service:
    """Open a deployment; ``store_url`` picks the face store (:func:`open_store`; default: the
    embedded SQLite ``DATA_DIR/agnosco.db``), and keys, governance and audit go with it."""
    prepare_data_dir(data_dir)
    s3_client = None
    if s3_endpoint_url:
        import boto3

        s3_client = boto3.client("s3", endpoint_url=s3_endpoint_url)
    # Pagination tokens are signed with a key derived from the master key, so they stay valid
    # across restarts and across servers sharing the master key.
    token_key = hmac.new(master_secret(data_dir), b"agnosco pagination tokens", hashlib.sha256).digest()
    calibration = load_calibration(data_dir)
    parts = open_governance(data_dir, store_url)
    try:
        keys = KeyStore(data_dir, parts.database)  # type: ignore[arg-type]
        try:
            store = open_store(store_url, data_dir, database=parts.database)
        except BaseException:
            keys.close()
            raise
    except BaseException:
        parts.close()
        raise
    context = OperationContext(
        calibration=calibration,
        images=ImageSource(s3_dir=s3_dir or data_dir / "s3", s3_client=s3_client),
        store=store,
        region=region,
        token_key=token_key,
    )
    evaluations = EvaluationIndex(data_dir, context.face_model.version, calibration.version)
    gate = Gate(parts.governance, parts.audit, parts.reviews, threshold_mode=threshold_mode, evaluations=evaluations)
    return Service(data_dir, context, keys, parts.governance, parts.reviews, parts.audit, gate, parts.database)


def ensure_admin_key(keys: KeyStore) -> NewKey | None:
    """The admin key from the environment, or a new one if the directory has no key yet.

    Returns the key when it was just created here (so the caller can show it once).
    """
    key_id, secret = os.environ.get("AGNOSCO_ACCESS_KEY_ID"), os.environ.get("AGNOSCO_SECRET_ACCESS_KEY")
    if key_id and secret:
        known = {k.access_key_id: k for k in keys.list()}
        if key_id in known and known[key_id].status != "Active":
            # A revocation outlives restarts: the environment cannot bring the key back.
            log.warning("AGNOSCO_ACCESS_KEY_ID %s was revoked; it is not restored from the environment", key_id)
            return None
        if keys.secret_for(key_id) != secret:
            keys.create("admin", access_key_id=key_id, secret_access_key=secret)
        return None
    if keys.list():
        return None
    return keys.create("admin")
