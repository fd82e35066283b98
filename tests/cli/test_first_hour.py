"""What a newcomer meets in the first hour, through the real ``agnosco`` command: one-line errors
(no traceback) for what they get wrong, one data directory whatever the working directory, no
silent admin keys, quiet logs, and each action's own help."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from agnosco.cli.main import main as cli_main
from tests.server.conftest import ACCESS_KEY_ID, ADMIN_ENVIRONMENT, REGION, SECRET_ACCESS_KEY

AGNOSCO = shutil.which("agnosco")
ARGV = [AGNOSCO] if AGNOSCO else [sys.executable, "-m", "agnosco.cli.main"]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGV, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env if env is not None else dict(os.environ),
        cwd=cwd,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *says: str) -> str:
    """The command failed with exit status != 0 and said so in one line, without a traceback;
    returns that line."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in says:
        assert text in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# 1. errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "0"],
        ["keys", "list"],
        ["purge"],
        ["audit", "verify"],
        ["index-folder", ".", "--collection", "c"],
    ],
)
def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path, command: list[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    one_line_error(run(*command, "--data-dir", str(afile)), "is a file", "--data-dir")
    one_line_error(run(*command, "--data-dir", str(afile / "sub")), f"{afile} is a file")


def test_a_data_dir_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere a permission allows: use a place nobody may
        target = Path("/sys/agnosco-test-data")
        if not Path("/sys").is_dir() or target.exists():
            pytest.skip("needs /sys, where not even root may make a directory")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "data"
    one_line_error(
        run("serve", "--port", "0", "--data-dir", str(target)),
        f"cannot use the data directory {target}",
        "--data-dir",
    )
    one_line_error(run("principals", "list", "--data-dir", str(target)), str(target))


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_a_port_out_of_range_is_one_line(tmp_path: Path, port: str) -> None:
    one_line_error(
        run("serve", "--port", port, "--data-dir", str(tmp_path / "d")), "--port", "65535", port
    )
    assert not (tmp_path / "d").exists()  # refused before anything is made


def test_a_port_in_use_is_one_line_with_a_hint_and_nothing_is_opened(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), "--data-dir", str(tmp_path / "d"))
    one_line_error(result, f"127.0.0.1:{port}", "already in use", "--port")
    assert "serving" not in result.stdout
    assert not (tmp_path / "d").exists()  # the port is bound before the deployment is opened


def test_a_host_that_is_no_address_is_one_line(tmp_path: Path) -> None:
    one_line_error(
        run("serve", "--host", "no-such-host.invalid", "--port", "0", "--data-dir", str(tmp_path)),
        "--host",
    )


def wait_for(path: Path, text: str) -> None:
    """Until ``text`` is in the file (a server logs a request just after answering it)."""
    deadline = time.monotonic() + 60
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.05)


# 1, 4. a real server: "serving" once bound, quiet, JSON logs, refusals logged with their reason --


@contextmanager
def serving(data_dir: Path, log: Path, *extra: str) -> Iterator[str]:
    """``agnosco serve --port 0`` until the line saying where it serves; yields that URL."""
    env = os.environ | ADMIN_ENVIRONMENT
    with open(log, "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        process = subprocess.Popen(
            [*ARGV, "serve", "--port", "0", "--data-dir", str(data_dir), *extra],
            stdout=out,
            stderr=err,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text() + log.with_suffix(".err").read_text()
            lines = [line for line in log.read_text().splitlines() if " serving " in line]
            if lines:
                yield lines[0].split(" on ", 1)[1].split()[0]
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"agnosco serve said nothing in 120 s:\n{log.read_text()}")
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_the_server_says_where_it_serves_once_bound_and_logs_refusals_as_json(
    tmp_path: Path,
) -> None:
    log = tmp_path / "out.log"
    with serving(tmp_path / "data", log, "--log-format", "json") as url:
        # the port in the line is the one bound (--port 0 picks one), already accepting
        assert not url.endswith(":0")
        with urllib.request.urlopen(url + "/health", timeout=5) as answer:
            assert answer.status == 200
        # a second server on that port: one line, with a hint
        port = url.rsplit(":", 1)[1]
        one_line_error(
            run("serve", "--port", port, "--data-dir", str(tmp_path / "second")),
            "already in use",
            "--port",
        )
        # a principal that may do nothing, and a key no deployment knows
        data = ["--data-dir", str(tmp_path / "data")]
        assert cli_main(["principals", "create", "nobody", *data]) == 0
        created = run("keys", "create", "--principal", "nobody", "--json", *data)
        assert created.returncode == 0, created.stderr
        nobody = json.loads(created.stdout)
        unknown = ("AKIAUNKNOWNKEY000000", "unknownSecretOf40CharactersForThisTest00")

        def client(key: tuple[str, str]):  # type: ignore[no-untyped-def]
            return boto3.client(
                "rekognition",
                endpoint_url=url,
                region_name=REGION,
                aws_access_key_id=key[0],
                aws_secret_access_key=key[1],
                config=Config(retries={"max_attempts": 1}),
            )

        client((ACCESS_KEY_ID, SECRET_ACCESS_KEY)).list_collections()
        for key, code in [
            ((nobody["AccessKeyId"], nobody["SecretAccessKey"]), "AccessDeniedException"),
            (unknown, "UnrecognizedClientException"),
        ]:
            with pytest.raises(ClientError) as excinfo:
                client(key).list_collections()
            assert excinfo.value.response["Error"]["Code"] == code
        wait_for(log.with_suffix(".err"), "UnrecognizedClientException")  # logged after answering
    stdout, stderr = log.read_text(), log.with_suffix(".err").read_text()
    assert "Traceback" not in stdout + stderr
    # quiet: only Agnosco's own lines; no faiss loader, TensorFlow Lite or absl noise
    for noise in ("faiss", "AVX", "TensorFlow", "absl", "W0000", "uvicorn"):
        assert noise not in stdout + stderr, noise
    records = [json.loads(line) for line in stderr.splitlines()]  # every line is JSON
    assert records and all(r["logger"].startswith("agnosco") for r in records)
    refused = {r["error_code"]: r for r in records if "error_code" in r}
    denied = refused["AccessDeniedException"]
    assert (denied["access_key_id"], denied["principal"], denied["status"]) == (
        nobody["AccessKeyId"],
        "nobody",
        400,
    )
    assert denied["operation"] == "ListCollections" and denied["reason"]
    assert refused["UnrecognizedClientException"]["access_key_id"] == unknown[0]
    for secret in (nobody["SecretAccessKey"], unknown[1], SECRET_ACCESS_KEY):
        assert secret not in stdout + stderr


def test_a_refused_request_is_logged_with_its_reason_as_text(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    with serving(tmp_path / "data", log) as url:
        bad = boto3.client(
            "rekognition",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="AKIANOSUCHKEY0000000",
            aws_secret_access_key="noSuchSecretOfFortyCharactersForThisTest",
            config=Config(retries={"max_attempts": 1}),
        )
        with pytest.raises(ClientError):
            bad.list_collections()
        wait_for(log.with_suffix(".err"), "refused")
    lines = [line for line in log.with_suffix(".err").read_text().splitlines() if "refused" in line]
    assert len(lines) == 1, lines
    assert "UnrecognizedClientException, key AKIANOSUCHKEY0000000" in lines[0]
    assert "noSuchSecret" not in log.with_suffix(".err").read_text()


# 2. one data directory -----------------------------------------------------------------------------


def test_every_command_finds_one_deployment_from_any_working_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGNOSCO_DATA_DIR"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    first = run("principals", "create", "finder", env=env, cwd=here)
    assert first.returncode == 0, first.stderr
    default = tmp_path / "xdg" / "agnosco"
    # never a fresh deployment without saying so, and where
    assert first.stderr.startswith(f"note: made a new deployment in {default} ")
    assert "--data-dir" in first.stderr and len(first.stderr.splitlines()) == 1
    listed = run("principals", "list", env=env, cwd=there)
    assert listed.returncode == 0, listed.stderr
    assert "finder" in {p["name"] for p in json.loads(listed.stdout)}
    assert listed.stderr == ""  # the same deployment: nothing new
    assert (default / "master.key").is_file()
    assert list(here.iterdir()) == [] and list(there.iterdir()) == []  # nothing where they ran
    # AGNOSCO_DATA_DIR names another one, for every command the same way as --data-dir
    other = run("principals", "list", env=env | {"AGNOSCO_DATA_DIR": str(tmp_path / "o")})
    assert "finder" not in other.stdout and str(tmp_path / "o") in other.stderr


def test_a_command_that_fails_on_a_new_deployment_says_both_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "d"
    line = one_line_error(
        run("notifications", "add", "not-an-arn", "http://x/", "--data-dir", str(data)),
        "InvalidParameterException",
        f"made a new deployment in {data}",
    )
    assert line.startswith("error: ")
    again = run("notifications", "add", "not-an-arn", "http://x/", "--data-dir", str(data))
    assert "new deployment" not in one_line_error(again)  # said once, when it was made


def test_a_deployment_left_in_the_working_directory_is_pointed_at(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGNOSCO_DATA_DIR"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    old = tmp_path / "agnosco-data"
    assert run("principals", "list", "--data-dir", str(old)).returncode == 0
    result = run("principals", "list", env=env, cwd=tmp_path)
    assert result.returncode == 0 and "--data-dir agnosco-data uses it" in result.stderr


def test_agnosco_data_is_never_committed() -> None:
    ignored = (Path(__file__).parents[2] / ".gitignore").read_text().splitlines()
    assert "agnosco-data/" in ignored


# 3. an admin key is an explicit choice -------------------------------------------------------------


def test_keys_create_without_principal_refuses_and_admin_is_explicit(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "d")]
    one_line_error(run("keys", "create", *data), "--principal", "--admin")
    assert not (tmp_path / "d").exists()  # nothing made
    made = run("keys", "create", "--admin", "--json", *data)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["AccessKeyId"]
    listed = json.loads(run("keys", "list", "--json", *data).stdout)
    assert [(k["AccessKeyId"], k["Principal"]) for k in listed] == [(key, "admin")]
    one_line_error(run("keys", "create", "--admin", "--principal", "x", *data), "--admin")


# 5. each action's own help -------------------------------------------------------------------------


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as done:
        cli_main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        (["keys", "create"], ["--principal NAME", "--admin", "allowed every action", "nothing"]),
        (["keys", "revoke"], ["ACCESS_KEY_ID"]),
        (["principals", "create"], ["NAME", "--organization-type"]),
        (["policies", "attach"], ["--principal PRINCIPAL"]),
        (["policies", "put"], ["FILE.json"]),
        (["review", "decide"], ["--reviewer", "--decision", "--reason"]),
        (["notifications", "add"], ["TOPIC_ARN", "URL"]),
        (["video-sources", "add"], ["ARN", "URL"]),
        (["data-sinks", "add"], ["--jsonl PATH", "--webhook URL"]),
    ],
)
def test_an_actions_help_is_its_own(
    capsys: pytest.CaptureFixture[str], command: list[str], mentions: list[str]
) -> None:
    text = _help(capsys, *command)
    assert text.startswith(f"usage: agnosco {' '.join(command)} ")
    for mention in mentions:
        assert mention in text


def test_serve_help_explains_host_and_port_and_the_top_level_reads_plainly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = " ".join(_help(capsys, "serve").split())
    assert "--host HOST the address to listen on" in text
    assert "--port PORT the TCP port to listen on" in text
    assert "--log-level" in text and "--log-format" in text
    top = _help(capsys)
    assert "``" not in top and "agnosco: the server" in top


def test_a_command_line_that_does_not_parse_is_one_line() -> None:
    one_line_error(run("keys", "frobnicate"), "agnosco keys", "--help")
    one_line_error(run("serve", "--port", "eighty"), "--port")


# 7. the admin key from the environment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_id", "secret"),
    [("short", "x"), ("AKIAAGNOSCOTESTADMIN", "x"), ("akiaagnoscotestadmin", SECRET_ACCESS_KEY)],
)
def test_a_malformed_admin_key_is_one_line(tmp_path: Path, key_id: str, secret: str) -> None:
    env = os.environ | {"AGNOSCO_ACCESS_KEY_ID": key_id, "AGNOSCO_SECRET_ACCESS_KEY": secret}
    line = one_line_error(
        run("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), env=env),
        "AGNOSCO_",
    )
    assert f"'{secret}'" not in line  # the secret is not echoed
    assert not (tmp_path / "d").exists()


def test_a_refusal_names_the_key_a_request_presents_and_nothing_forged() -> None:
    from agnosco.server.app import _one_line, _presented_key_id

    signed = b"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE0000000/20261204/us-east-1/x/aws4_request"
    assert _presented_key_id({"headers": [(b"Authorization", signed)]}) == "AKIAEXAMPLE0000000"
    presigned = b"X-Amz-Credential=AKIAEXAMPLE0000001%2F20261204%2Fus-east-1&X-Amz-Signature=f"
    assert _presented_key_id({"headers": [], "query_string": presigned}) == "AKIAEXAMPLE0000001"
    forged = b"Credential=AKIA\n2026 agnosco.server INFO fake/"
    assert _presented_key_id({"headers": [(b"authorization", forged)]}) is None
    assert _one_line("a\nfake line") == "a\\nfake line" and len(_one_line("x" * 1000)) == 300
