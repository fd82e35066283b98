"""The composition root: a deployment built from its :class:`~agnosco.settings.Settings`, in one
place — the database, the face store, access keys, governance (principals and policies, reviews,
the audit log, the gate), temporary credentials and roles (the STS operations), and the
operations' context with its models.

Where state lives follows the store URL (``--store``, :func:`agnosco.storage.open_store`): with
SQLite (the default) everything is in the data directory (``agnosco.db``, ``audit.db``); with
PostgreSQL the face store, access keys, principals and policies, reviews and the audit log are
all in that database, on one connection pool, so servers on several machines agree on all of it.
The master key (``AGNOSCO_MASTER_KEY`` or ``DATA_DIR/master.key``) must then be the same
everywhere; it is checked against the database on opening.  What stays per data directory is
deployment configuration: ``calibration.json``, evaluation records, the S3 folder and the bulk
indexing ledger.

The command line opens only what a command needs: :func:`open_deployment` (the server, bulk
indexing), :func:`open_governance` (principals, policies, reviews, audit), :func:`open_keys`,
:func:`open_audit`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agnosco.auth.keys import KeyStore, MasterKey, NewKey, check_master_key
from agnosco.auth.sessions import Credentials, SessionStore
from agnosco.console.sessions import ConsoleSessions
from agnosco.errors import ResourceNotFoundException
from agnosco.governance.audit import (
    AUDIT_DATABASE,
    AUDIT_KEY_PURPOSE,
    SQLITE_SYNCHRONOUS,
    AuditLog,
    AuditLogMissing,
)
from agnosco.governance.principals import GovernanceStore
from agnosco.governance.review import ReviewQueue
from agnosco.governance.roles import RoleStore
from agnosco.governance.sts import SecurityTokenService
from agnosco.jobs.notifications import NotificationEndpoints
from agnosco.jobs.store import JobStore
from agnosco.settings import LEGACY_DATA_DIR, Settings
from agnosco.storage import SQLITE_FILE, open_store, store_backend
from agnosco.storage.celebrities import CelebrityStore
from agnosco.storage.data_dir import prepare_data_dir
from agnosco.storage.database import POSTGRESQL, Database, open_database
from agnosco.streams.store import StreamStore

if TYPE_CHECKING:  # what only the whole deployment needs: imported by open_deployment, so that
    # commands that change governance alone start without the operations and their models
    from agnosco.governance.gate import Gate
    from agnosco.operations.context import OperationContext
    from agnosco.vision.labels import LabelSource
    from agnosco.vision.pipeline import FaceAnalyzer
    from agnosco.vision.similarity import SimilarityCalibration

log = logging.getLogger("agnosco.server")

#: A deployer's own calibration (``agnosco calibrate``); the shipped one is used without it.
CALIBRATION = "calibration.json"
#: What the pagination tokens' signing key is derived from the master key for.
TOKEN_KEY_PURPOSE = b"agnosco pagination tokens"


def load_calibration(data_dir: Path) -> SimilarityCalibration:
    from agnosco.vision.similarity import SimilarityCalibration

    path = data_dir / CALIBRATION
    return SimilarityCalibration.load(path if path.is_file() else None)


def label_sources(analyzer: FaceAnalyzer) -> tuple[LabelSource, ...]:
    """What DetectLabels sees labels with: the face engine's Person, Head and Face evidence
    (from ``analyzer``, the deployment's face pipeline), and the general labels' sources."""
    from agnosco.vision.imagenet import ImageNetLabels
    from agnosco.vision.person_labels import PersonLabels

    return (PersonLabels(analyzer), ImageNetLabels())


def master_key(settings: Settings) -> MasterKey:
    """The deployment's master key (:meth:`MasterKey.load`)."""
    return MasterKey.load(settings.data_dir, settings.master_key)


@dataclass
class Governance:
    """The governance parts of a deployment, for commands that need no models."""

    governance: GovernanceStore
    reviews: ReviewQueue
    audit: AuditLog
    master: MasterKey
    #: The database the parts share (closed after them).
    database: Database
    #: Whether this opening made the deployment (it had no admin principal yet).
    new: bool = False

    def close(self) -> None:
        for part in (self.governance, self.reviews, self.audit):
            part.close()
        self.database.close()


@dataclass
class Deployment:
    settings: Settings
    context: OperationContext
    keys: KeyStore
    governance: GovernanceStore
    reviews: ReviewQueue
    audit: AuditLog
    gate: Gate
    #: The stored-video jobs (a server's job runtime works them).
    jobs: JobStore
    #: Where job completion notifications go (SNS topic ARN -> HTTP endpoint).
    notifications: NotificationEndpoints
    #: Stream processors, video sources and data sinks (a server's stream runtime runs them).
    streams: StreamStore
    #: The database the parts above share (closed after them).
    database: Database
    #: Temporary credentials, roles, and the STS operations that make them.
    sessions: SessionStore
    roles: RoleStore
    credentials: Credentials
    sts: SecurityTokenService
    #: The web console's sign-in sessions (browsers', not STS's: :mod:`agnosco.console.sessions`).
    console_sessions: ConsoleSessions
    #: The public figures the deployer enrolled (``agnosco celebrities``).
    celebrities: CelebrityStore | None = None
    #: Whether this opening made the deployment (it had no admin principal yet).
    new: bool = False

    def close(self) -> None:
        if self.context.store is not None:
            self.context.store.close()
        for part in (
            self.keys,
            self.sessions,
            self.roles,
            self.governance,
            self.reviews,
            self.audit,
            self.jobs,
            self.notifications,
            self.streams,
            self.console_sessions,
        ):
            part.close()
        if self.celebrities is not None:
            self.celebrities.close()
        self.database.close()


def open_governance(settings: Settings) -> Governance:
    """Principals and policies, reviews and the audit log, where the store URL puts them: the
    store's PostgreSQL database, or ``DATA_DIR/agnosco.db`` and ``DATA_DIR/audit.db``.

    :raises MasterKeyError: the master key is malformed or not the database's.
    :raises StoreURLError: a store URL naming no backend.
    """
    prepare_data_dir(settings.data_dir)
    master = master_key(settings)
    database = open_database(settings.store_url, settings.data_dir / SQLITE_FILE)
    parts: list[GovernanceStore | ReviewQueue | AuditLog] = []
    try:
        # Before anything is written with it: a replica with another key must not start.
        check_master_key(database, master.fernet(), master.source)
        governance = GovernanceStore(database)
        parts.append(governance)
        new = ensure_admin_principal(governance)
        reviews = ReviewQueue(database)
        parts.append(reviews)
        where = database if database.dialect == POSTGRESQL else settings.data_dir / AUDIT_DATABASE
        audit = AuditLog(where, master.derive(AUDIT_KEY_PURPOSE))
    except BaseException:
        for part in parts:
            part.close()
        database.close()
        raise
    return Governance(governance, reviews, audit, master, database, new)


def ensure_admin_principal(governance: GovernanceStore) -> bool:
    """The ``admin`` principal, with the Admin policy, in a new deployment; true when it was
    made here (the deployment is new)."""
    try:
        governance.principal("admin")
        return False
    except ResourceNotFoundException:
        governance.ensure_principal("admin")
        governance.attach("Admin", "admin")
        return True


def deployment_location(settings: Settings) -> str:
    """Where a deployment's state is, for messages (never a store URL's password)."""
    if store_backend(settings.store_url) == "sqlite":
        return str(settings.data_dir.absolute())
    return "the PostgreSQL database of --store"


def new_deployment_notice(settings: Settings) -> str:
    """What a command says when it has just made a new deployment (its own master key and admin
    principal): where, and how to name another."""
    text = (
        f"note: made a new deployment in {deployment_location(settings)} (its own master key "
        "and admin); name another with --data-dir or $AGNOSCO_DATA_DIR"
    )
    legacy = LEGACY_DATA_DIR / SQLITE_FILE
    if settings.data_dir_is_default and legacy.is_file():
        text += (
            f"; ./{LEGACY_DATA_DIR} holds a deployment of an older Agnosco: "
            f"--data-dir {LEGACY_DATA_DIR} uses it"
        )
    return text


def open_keys(settings: Settings) -> KeyStore:
    """The access keys, where the store URL puts them (as :func:`open_governance`)."""
    prepare_data_dir(settings.data_dir)
    return KeyStore(
        master_key(settings),
        open_database(settings.store_url, settings.data_dir / SQLITE_FILE),
        owned=True,
    )


def open_audit(settings: Settings, *, create: bool = True) -> AuditLog:
    """The audit log alone: in the store's PostgreSQL database when the store URL names one, else
    ``DATA_DIR/audit.db``; created if absent unless ``create`` is false.

    :raises AuditLogMissing: there is no log and ``create`` is false (a missing log is exactly
        what a deleted one looks like, so a reader must not create one).
    :raises StoreURLError: a store URL naming no backend.
    """
    key = master_key(settings).derive(AUDIT_KEY_PURPOSE)
    path = settings.data_dir / AUDIT_DATABASE
    if not create and store_backend(settings.store_url) == "sqlite" and not path.is_file():
        raise AuditLogMissing(f"no audit log at {path}")
    database = open_database(settings.store_url, path, synchronous=SQLITE_SYNCHRONOUS)
    try:
        if not create and database.version("audit") == 0:
            raise AuditLogMissing(f"no audit log in {database.name}")
        return AuditLog(database, key, owned=True)
    except BaseException:
        database.close()
        raise


def open_deployment(settings: Settings) -> Deployment:
    """The whole deployment: governance, keys, the face store (in the same database), and the
    operations' context (models, Similarity calibration, images, region)."""
    from agnosco.evaluation.records import EvaluationIndex
    from agnosco.governance.gate import Gate
    from agnosco.governance.review import human_loops
    from agnosco.governance.usage import Quotas, UsageMeter
    from agnosco.operations.context import OperationContext
    from agnosco.operations.images import ImageSource
    from agnosco.operations.video_analysis import VideoCluster
    from agnosco.operations.videos import VideoSource
    from agnosco.vision.pipeline import FaceAnalyzer

    prepare_data_dir(settings.data_dir)
    s3_client = None
    if settings.s3_endpoint_url:
        import boto3

        s3_client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
    s3_dir = settings.s3_dir or settings.data_dir / "s3"
    calibration = load_calibration(settings.data_dir)
    parts = open_governance(settings)
    try:
        keys = KeyStore(parts.master, parts.database)
        try:
            sessions = SessionStore(parts.master, parts.database)
            roles = RoleStore(parts.database, parts.governance)
            store = open_store(settings.store_url, settings.data_dir, database=parts.database)
            jobs = JobStore(parts.database)
            notifications = NotificationEndpoints(parts.database)
            streams = StreamStore(parts.database)
            celebrities = CelebrityStore(parts.database)
            console_sessions = ConsoleSessions(
                parts.database, lifetime=settings.console_session_hours * 3600
            )
            quotas = Quotas(parts.database)
        except BaseException:
            keys.close()
            raise
    except BaseException:
        parts.close()
        raise
    analyzer = FaceAnalyzer()
    context = OperationContext(
        analyzer=analyzer,
        label_sources=label_sources(analyzer),
        calibration=calibration,
        images=ImageSource(s3_dir=s3_dir, s3_client=s3_client),
        videos=VideoSource(s3_dir=s3_dir, s3_client=s3_client),
        store=store,
        jobs=jobs,
        notifications=notifications,
        streams=streams,
        celebrities=celebrities,
        video_cluster=(
            None
            if settings.ray_address is None
            else VideoCluster(settings.ray_address, settings.ray_chunk_seconds)
        ),
        region=settings.region,
        account_id=settings.account_id,
        # Pagination tokens are signed with a key derived from the master key, so they stay
        # valid across restarts and across servers sharing the master key.
        token_key=parts.master.derive(TOKEN_KEY_PURPOSE),
        audit=parts.audit.append,
        # DetectModerationLabels' HumanLoopConfig: a review a person decides, in the same queue
        human_loops=human_loops(parts.reviews),
    )
    evaluations = EvaluationIndex(
        settings.data_dir, context.face_model.version, calibration.version
    )
    gate = Gate(
        parts.governance,
        parts.audit,
        parts.reviews,
        threshold_mode=settings.threshold_mode,
        evaluations=evaluations,
        # Images metered by the audit log (its database), faces by the store's intervals, video
        # by the jobs' successes; on the context's clock, which tests move.
        usage=UsageMeter(
            parts.audit.database, quotas, store=store, jobs=jobs, clock=lambda: context.clock()
        ),
    )
    return Deployment(
        settings,
        context,
        keys,
        parts.governance,
        parts.reviews,
        parts.audit,
        gate,
        jobs,
        notifications,
        streams,
        parts.database,
        sessions=sessions,
        roles=roles,
        credentials=Credentials(keys, sessions, roles.role_id_of),
        sts=SecurityTokenService(sessions, roles, settings.account_id),
        console_sessions=console_sessions,
        celebrities=celebrities,
        new=parts.new,
    )


def ensure_admin_key(keys: KeyStore, settings: Settings) -> NewKey | None:
    """The configured admin key (``settings.admin_key``), or a new one if the deployment has no
    key yet.  Returns the key when it was just created here (so the caller can show it once)."""
    given = settings.admin_key
    if given is not None:
        known = {k.access_key_id: k for k in keys.list()}
        if given.access_key_id in known and known[given.access_key_id].status != "Active":
            # A revocation outlives restarts: the configuration cannot bring the key back.
            log.warning(
                "AGNOSCO_ACCESS_KEY_ID %s was revoked; it is not restored from the environment",
                given.access_key_id,
            )
            return None
        if keys.secret_for(given.access_key_id) != given.secret_access_key:
            keys.create(
                "admin",
                access_key_id=given.access_key_id,
                secret_access_key=given.secret_access_key,
            )
        return None
    if keys.list():
        return None
    return keys.create("admin")
