"""The hash-chained audit log: chaining, every kind of tampering, the CLI, concurrency, kill -9.

Every test runs on both backends (``store_url``: SQLite's ``DATA_DIR/audit.db``, or PostgreSQL);
tampering is done with plain SQL on the database, as someone with write access but no key.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from agnosco.deployment import open_audit
from agnosco.governance.audit import (
    AUDIT_DATABASE,
    GENESIS_HASH,
    AuditLog,
    AuditLogError,
    VerifyReport,
)
from agnosco.settings import Settings
from agnosco.storage.database import open_database, postgres_sql
from tests.conftest import run_threads

ROOT = Path(__file__).resolve().parents[2]
N = 6

#: ``agnosco`` with the audit group registered (until main.py lists it in COMMAND_GROUPS).
CLI = (
    "import sys; import agnosco.cli.main as m; from agnosco.cli import audit; "
    "audit in m.COMMAND_GROUPS or m.COMMAND_GROUPS.append(audit); sys.exit(m.main(sys.argv[1:]))"
)

#: A child process appending to the deployment's log: argv = data_dir, worker, count (-1: forever),
#: store URL ("" for the data directory's SQLite log).
APPENDER = """
import sys
from pathlib import Path
from agnosco.deployment import open_audit
from agnosco.settings import Settings

log = open_audit(Settings(data_dir=Path(sys.argv[1]), store_url=sys.argv[4] or None))
worker, count = sys.argv[2], int(sys.argv[3])
i = 0
while count < 0 or i < count:
    log.append({"operation": "SearchFacesByImage", "principal": worker, "i": i, "payload": worker * 2000})
    if i == 0:
        print("ready", flush=True)
    i += 1
"""


def run_cli(*args: str, store_url: str | None = None) -> subprocess.CompletedProcess[str]:
    store = ["--store", store_url] if store_url else []
    return subprocess.run(
        [sys.executable, "-c", CLI, *args, *store],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def appender(
    data_dir: Path, worker: str, count: int, store_url: str | None, **kwargs
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(data_dir), worker, str(count), store_url or ""],
        cwd=ROOT,
        **kwargs,
    )


def sample(i: int) -> dict:
    return {
        "operation": "CompareFaces",
        "principal": "alice" if i % 2 else "bob",
        "purpose": "access-control",
        "parameters": {"SimilarityThreshold": 80, "SourceImage": {"Bytes": f"<{i} bytes>"}},
        "result": {"FaceMatches": [{"Similarity": 99.1 + i}], "UnmatchedFaces": []},
        "note": "Zoë ✓",
        "nothing": None,
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def log(data_dir: Path, store_url: str | None):
    log = open_audit(Settings(data_dir=data_dir, store_url=store_url))
    for i in range(1, N + 1):
        log.append(sample(i))
    yield log
    log.close()


class Raw:
    """The log's database opened directly, as someone with write access but no key would."""

    def __init__(self, data_dir: Path, store_url: str | None) -> None:
        self.path, self.url = data_dir / AUDIT_DATABASE, store_url

    def sql(self, *statements: str) -> None:
        if self.url is None:
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                for statement in statements:
                    db.execute(statement)
            finally:
                db.close()
        else:
            with psycopg.connect(self.url, autocommit=True) as conn:
                for statement in statements:
                    conn.execute(statement)

    def one(self, query: str, params: tuple = ()) -> tuple:
        if self.url is None:
            db = sqlite3.connect(self.path)
            try:
                return db.execute(query, params).fetchone()
            finally:
                db.close()
        with psycopg.connect(self.url) as conn:
            return conn.execute(postgres_sql(query), params).fetchone()

    def stored_hash(self, seq: int) -> str:
        return self.one("SELECT hash FROM audit_records WHERE seq = ?", (seq,))[0]


@pytest.fixture
def raw(data_dir: Path, store_url: str | None) -> Raw:
    return Raw(data_dir, store_url)


def new_log(where: Path, store_url: str | None, key: bytes, **kwargs) -> AuditLog:
    """An AuditLog on a database of its own (``where/audit.db``, or the PostgreSQL database)."""
    return AuditLog(open_database(store_url, where / AUDIT_DATABASE), key, owned=True, **kwargs)


# -- an intact log ---------------------------------------------------------------------------


def test_appends_verify_ok(log: AuditLog, data_dir: Path, store_url: str | None) -> None:
    assert log.verify() == VerifyReport(ok=True, count=N, problems=[])
    result = run_cli("audit", "verify", "--data-dir", str(data_dir), store_url=store_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"audit log OK: {N} records"


def test_an_empty_log_verifies(data_dir: Path, store_url: str | None) -> None:
    with open_audit(Settings(data_dir=data_dir, store_url=store_url)) as log:
        assert log.verify() == VerifyReport(ok=True, count=0, problems=[])
        assert log.head()["seq"] == 0 and log.head()["hash"] == GENESIS_HASH
        assert list(log.records()) == []


def test_records_chain(log: AuditLog) -> None:
    records = list(log.records())
    assert [r["seq"] for r in records] == list(range(1, N + 1))
    assert records[0]["prev_hash"] == GENESIS_HASH
    for before, record in itertools.pairwise(records):
        assert record["prev_hash"] == before["hash"]
    for record in records:
        content = {k: v for k, v in record.items() if k != "hash"}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert (
            record["hash"] == hashlib.sha256((record["prev_hash"] + canonical).encode()).hexdigest()
        )
    assert [r["seq"] for r in log.records(after=4)] == [5, 6]
    head = log.head()
    assert (head["seq"], head["hash"], head["time"]) == (
        N,
        records[-1]["hash"],
        records[-1]["time"],
    )


def test_append_returns_the_stored_record_exactly_as_hashed(
    tmp_path: Path, store_url: str | None
) -> None:
    with new_log(tmp_path, store_url, b"k" * 32, clock=lambda: 1234.5) as log:
        first = log.append(sample(1))
        assert first == {
            **sample(1),
            "seq": 1,
            "time": 1234.5,
            "prev_hash": GENESIS_HASH,
            "hash": first["hash"],
        }
        own_time = log.append({"operation": "DetectFaces", "time": 99})
        assert own_time["time"] == 99 and own_time["prev_hash"] == first["hash"]
        assert list(log.records()) == [first, own_time]
        for bad in (
            {"seq": 5},
            {"hash": "x"},
            {"prev_hash": "y"},
            {"time": "yesterday"},
            {"time": float("nan")},
        ):
            with pytest.raises(ValueError):
                log.append(bad)
        with pytest.raises(TypeError):
            log.append({"image": b"raw bytes"})
        assert log.verify().ok and log.verify().count == 2
    body, operation, principal = Raw(tmp_path, store_url).one(
        "SELECT body, operation, principal FROM audit_records WHERE seq = 1"
    )
    content = {k: v for k, v in first.items() if k != "hash"}
    assert body == json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "Zoë ✓" in body  # UTF-8, not \u escapes: stored exactly as hashed
    assert (operation, principal) == ("CompareFaces", "alice")


def test_export_writes_one_json_line_per_record_in_order(
    log: AuditLog, data_dir: Path, tmp_path: Path, store_url: str | None
) -> None:
    out = io.StringIO()
    assert log.export(out) == N
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == list(log.records())

    result = run_cli("audit", "export", "--data-dir", str(data_dir), store_url=store_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines
    target = tmp_path / "audit.jsonl"
    result = run_cli(
        "audit", "export", "--data-dir", str(data_dir), "--output", str(target), store_url=store_url
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8").splitlines() == lines
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, N + 1))


def test_cli_refuses_a_missing_log(tmp_path: Path, store_url: str | None) -> None:
    result = run_cli(
        "audit", "verify", "--data-dir", str(tmp_path / "nothing"), store_url=store_url
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no audit log ")
    assert not (tmp_path / "nothing" / AUDIT_DATABASE).exists()
    if store_url:  # nothing was created in the database either
        assert (
            "in PostgreSQL database test_" in result.stderr and "postgresql://" not in result.stderr
        )
        with psycopg.connect(store_url) as conn:
            assert conn.execute(
                "SELECT to_regclass('audit_head'), to_regclass('agnosco_schema')"
            ).fetchone() == (None, None)


# -- tampering -------------------------------------------------------------------------------


def _rehash_last(raw: Raw) -> list[str]:
    """Edit record N and store a correct hash for the edited content (the algorithm is public)."""
    body = raw.one("SELECT body FROM audit_records WHERE seq = ?", (N,))[0]
    edited = body.replace('"principal":"bob"', '"principal":"mallory"')
    assert edited != body
    digest = hashlib.sha256((json.loads(edited)["prev_hash"] + edited).encode()).hexdigest()
    return [
        f"UPDATE audit_records SET body = '{edited}', principal = 'mallory', hash = '{digest}' WHERE seq = {N}"
    ]


TAMPERING = {
    # (a) an edited record: a similarity changed in record 3's JSON
    "edit": (
        lambda raw: [
            (
                "UPDATE audit_records SET body = replace(body, '\"Similarity\":102.1', "
                "'\"Similarity\":12.5') WHERE seq = 3"
            )
        ],
        [("record 3:", "hash does not match its content")],
    ),
    # (a') edited and re-hashed: the head no longer matches
    "edit-and-rehash-last": (
        _rehash_last,
        [(f"head (record {N})", f"does not match record {N}'s hash")],
    ),
    # (b) a record deleted in the middle
    "delete-middle": (
        lambda raw: ["DELETE FROM audit_records WHERE seq = 3"],
        [
            ("record 4:", "record 3 missing"),
            ("record 4:", "prev_hash does not match the hash of record 2"),
        ],
    ),
    # (c) two records swapped
    "reorder": (
        lambda raw: [
            "UPDATE audit_records SET seq = -1 WHERE seq = 3",
            "UPDATE audit_records SET seq = 3 WHERE seq = 4",
            "UPDATE audit_records SET seq = 4 WHERE seq = -1",
        ],
        [
            ("record 3:", "content says seq 4"),
            ("record 3:", "prev_hash does not match the hash of record 2"),
            ("record 4:", "content says seq 3"),
            ("record 4:", "prev_hash does not match the hash of record 3"),
            ("record 5:", "prev_hash does not match the hash of record 4"),
        ],
    ),
    # (d) the last two records deleted
    "delete-tail": (
        lambda raw: [f"DELETE FROM audit_records WHERE seq > {N - 2}"],
        [(f"ends at record {N}", f"the last record is {N - 2}: records {N - 1}..{N} deleted")],
    ),
    # (e) the last record deleted and the head rewritten to match, without the key
    "truncate-and-forge-head": (
        lambda raw: [
            f"DELETE FROM audit_records WHERE seq = {N}",
            (
                f"UPDATE audit_head SET seq = {N - 1}, hash = '{raw.stored_hash(N - 1)}', "
                f"time = (SELECT time FROM audit_records WHERE seq = {N - 1}), mac = '{'ab' * 32}'"
            ),
        ],
        [(f"head (record {N - 1})", "MAC does not verify")],
    ),
    # (e') the head's seq edited
    "head-wrong-seq": (
        lambda raw: [f"UPDATE audit_head SET seq = {N - 2}"],
        [
            (f"head (record {N - 2})", "MAC does not verify"),
            (f"records {N - 1}..{N}", f"after the head (record {N - 2})"),
        ],
    ),
    # (f) records but no head; a head but no records
    "no-head": (
        lambda raw: ["DELETE FROM audit_head"],
        [("head is missing", f"the last is record {N}")],
    ),
    "no-records": (
        lambda raw: ["DELETE FROM audit_records"],
        [(f"ends at record {N}", f"no records (records 1..{N} deleted)")],
    ),
    "emptied": (
        lambda raw: ["DELETE FROM audit_records", "DELETE FROM audit_head"],
        [("head is missing", "emptied")],
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_detected_and_located(
    case: str, log: AuditLog, data_dir: Path, raw: Raw, store_url: str | None
) -> None:
    statements, expected = TAMPERING[case]
    raw.sql(*statements(raw))

    report = log.verify()
    assert not report.ok
    assert len(report.problems) == len(expected), report.problems
    for problem, (where, what) in zip(report.problems, expected, strict=True):
        assert where in problem and what in problem, (problem, where, what)

    result = run_cli("audit", "verify", "--data-dir", str(data_dir), store_url=store_url)
    assert result.returncode == 1
    assert result.stdout.splitlines() == report.problems
    assert result.stderr.startswith("error: audit log FAILED verification")


def test_append_refuses_to_launder_a_forged_head(log: AuditLog, raw: Raw) -> None:
    raw.sql(
        f"DELETE FROM audit_records WHERE seq = {N}",
        f"UPDATE audit_head SET seq = {N - 1}, hash = '{raw.stored_hash(N - 1)}'",
    )
    with pytest.raises(AuditLogError, match="forged head"):
        log.append(sample(0))
    raw.sql("DELETE FROM audit_head")
    with pytest.raises(AuditLogError, match="no head"):
        log.append(sample(0))


def test_appending_after_a_truncation_keeps_the_evidence(log: AuditLog, raw: Raw) -> None:
    raw.sql(f"DELETE FROM audit_records WHERE seq > {N - 2}")
    record = log.append(sample(0))
    assert record["seq"] == N + 1  # chained from the keyed head, not from the truncated tail
    problems = log.verify().problems
    assert len(problems) == 2
    assert (
        problems[0].startswith(f"record {N + 1}:")
        and f"records {N - 1}..{N} missing" in problems[0]
    )
    assert problems[1].startswith(f"record {N + 1}:") and "prev_hash" in problems[1]


def test_a_wrong_key_fails_the_head(log: AuditLog, data_dir: Path, store_url: str | None) -> None:
    with new_log(data_dir, store_url, b"not the key") as other:
        problems = other.verify().problems
        with pytest.raises(AuditLogError, match="forged head .* or the master key is wrong"):
            other.append(sample(0))
    assert len(problems) == 1 and "MAC does not verify" in problems[0]


def test_an_emptied_log_is_not_recreated_on_reopening(
    log: AuditLog, data_dir: Path, raw: Raw, store_url: str | None
) -> None:
    raw.sql("DELETE FROM audit_records", "DELETE FROM audit_head")
    log.close()
    with open_audit(
        Settings(data_dir=data_dir, store_url=store_url)
    ) as reopened:  # no second genesis hides the deletion
        assert reopened.head() is None
        assert reopened.verify().problems == [
            "the head is missing: the log was emptied (a new log always has a head)"
        ]


# -- concurrency and crashes -----------------------------------------------------------------


def _assert_consistent(log: AuditLog, total: int, workers: list[str], key: str) -> None:
    report = log.verify()
    assert report == VerifyReport(ok=True, count=total, problems=[])
    records = list(log.records())
    assert [r["seq"] for r in records] == list(range(1, total + 1))
    for worker in workers:  # each writer's records appear in the order it appended them
        mine = [r["i"] for r in records if r[key] == worker]
        assert mine == sorted(mine) and len(mine) == total // len(workers)


def test_concurrent_appends_from_threads(data_dir: Path, store_url: str | None) -> None:
    with open_audit(Settings(data_dir=data_dir, store_url=store_url)) as log:
        workers = [f"thread-{t}" for t in range(4)]

        def work(name: str) -> None:
            for i in range(50):
                log.append({"operation": "DetectFaces", "principal": name, "i": i})

        run_threads(work, [(name,) for name in workers])
        _assert_consistent(log, 200, workers, "principal")


def test_concurrent_appends_from_processes(data_dir: Path, store_url: str | None) -> None:
    with open_audit(
        Settings(data_dir=data_dir, store_url=store_url)
    ) as log:  # creates the master key and the log first
        workers = ["proc-a", "proc-b", "proc-c"]
        children = [appender(data_dir, w, 100, store_url) for w in workers]
        while any(child.poll() is None for child in children):
            report = log.verify()  # a reader always sees a consistent snapshot
            assert report.ok, report.problems
            time.sleep(0.02)
        assert [child.returncode for child in children] == [0, 0, 0]
        _assert_consistent(log, 300, workers, "principal")


def test_kill_9_during_appends_leaves_a_complete_verifiable_log(
    data_dir: Path, store_url: str | None
) -> None:
    open_audit(Settings(data_dir=data_dir, store_url=store_url)).close()
    child = appender(data_dir, "victim", -1, store_url, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with open_audit(Settings(data_dir=data_dir, store_url=store_url)) as log:
        report = log.verify()
        assert report.ok, report.problems
        assert report.count >= 2
        last = list(log.records())[-1]
        assert last["seq"] == report.count == log.head()["seq"]
        assert last["i"] == last["seq"] - 1 and last["payload"] == "victim" * 2000
        assert log.append({"operation": "DetectFaces"})["seq"] == report.count + 1
        assert log.verify().ok


# -- checkpoints kept elsewhere ----------------------------------------------------------------


def test_a_cut_off_end_with_an_old_head_put_back_is_caught_by_a_checkpoint(
    log: AuditLog, data_dir: Path, raw: Raw, store_url: str | None, tmp_path: Path
) -> None:
    """The attack the keyed head alone misses: save the head row (genuine, with its MAC), let
    the log grow, then cut the new records off and put the saved head back."""
    old_head = raw.one("SELECT seq, hash, time, mac FROM audit_head WHERE id = 1")
    for i in range(3):
        log.append(sample(i))
    outside = tmp_path / "elsewhere" / "checkpoints.jsonl"
    outside.parent.mkdir()
    assert (
        run_cli(
            "audit",
            "checkpoint",
            "-o",
            str(outside),
            "--data-dir",
            str(data_dir),
            store_url=store_url,
        ).returncode
        == 0
    )
    checkpoint = json.loads(outside.read_text())
    assert checkpoint["seq"] == N + 3
    assert log.verify([checkpoint]).ok

    seq, hash_, time_, mac = old_head
    raw.sql(
        f"DELETE FROM audit_records WHERE seq > {seq}",
        f"UPDATE audit_head SET seq = {seq}, hash = '{hash_}', time = {time_!r}, mac = '{mac}'",
    )
    assert log.verify().ok  # the head alone cannot tell
    report = log.verify([checkpoint])
    assert not report.ok
    assert report.problems == [
        (
            f"checkpoint at record {N + 3}: the log no longer holds record {N + 3} "
            "(its end was cut off, or the log was rolled back to an earlier copy)"
        )
    ]
    result = run_cli(
        "audit",
        "verify",
        "--checkpoints",
        str(outside),
        "--data-dir",
        str(data_dir),
        store_url=store_url,
    )
    assert result.returncode == 1 and result.stdout.splitlines() == report.problems


def test_a_forged_checkpoint_is_refused(log: AuditLog) -> None:
    checkpoint = log.checkpoint() | {"seq": 1}
    problems = log.verify([checkpoint]).problems
    assert len(problems) == 1 and "MAC does not verify" in problems[0]
