"""``agnosco roles``: create, list, show, delete; every change audited, bad input one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agnosco.cli.main import main


def agnosco(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    status = main([*args, "--data-dir", str(data)])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_roles_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert agnosco(capsys, data, "principals", "create", "finder")[0] == 0
    status, out, _ = agnosco(
        capsys,
        data,
        "roles",
        "create",
        "Finders",
        "--trust",
        "finder",
        "--trust",
        "admin",
        "--policy",
        "ReadOnly",
        "--max-session-duration",
        "7200",
        "--description",
        "case work",
    )
    assert status == 0
    assert "arn:aws:iam::000000000000:role/Finders" in out and "finder, admin" in out

    status, out, _ = agnosco(capsys, data, "roles", "show", "Finders")
    shown = json.loads(out)
    assert shown["RoleId"].startswith("AROA")
    assert (shown["TrustedPrincipals"], shown["Policies"], shown["MaxSessionDuration"]) == (
        ["admin", "finder"],
        ["ReadOnly"],
        7200,
    )
    # a role is a principal: policies attach to it as to any other
    assert agnosco(capsys, data, "policies", "attach", "Indexer", "--principal", "Finders")[0] == 0
    listed = json.loads(agnosco(capsys, data, "roles", "list")[1])
    assert [(r["RoleName"], r["Policies"]) for r in listed] == [
        ("Finders", ["Indexer", "ReadOnly"])
    ]

    assert agnosco(capsys, data, "roles", "delete", "Finders")[0] == 0
    assert json.loads(agnosco(capsys, data, "roles", "list")[1]) == []
    status, _, err = agnosco(capsys, data, "principals", "show", "Finders")
    assert status == 1 and "does not exist" in err

    records = [
        json.loads(line)
        for line in agnosco(capsys, data, "audit", "export")[1].splitlines()
        if line.startswith("{")
    ]
    changes = [r for r in records if r["operation"] in ("agnosco:CreateRole", "agnosco:DeleteRole")]
    assert [(r["operation"], r["parameters"]["name"]) for r in changes] == [
        ("agnosco:CreateRole", "Finders"),
        ("agnosco:DeleteRole", "Finders"),
    ]
    assert changes[0]["parameters"]["trust"] == ["finder", "admin"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["roles", "create", "R"], "needs at least one --trust"),
        (["roles", "create", "R", "--trust", "nobody"], "principal nobody does not exist"),
        (
            ["roles", "create", "R", "--trust", "admin", "--policy", "NoSuch"],
            "NoSuch does not exist",
        ),
        (["roles", "create", "admin", "--trust", "admin"], "already exists"),
        (
            ["roles", "create", "R", "--trust", "admin", "--max-session-duration", "60"],
            "3600 to 43200",
        ),
        (["roles", "create", "bad name", "--trust", "admin"], "1 to 64"),
        (["roles", "show", "R"], "role R does not exist"),
        (["roles", "delete", "R"], "role R does not exist"),
    ],
)
def test_bad_role_commands_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    status, out, err = agnosco(capsys, tmp_path / "data", *args)
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err
    assert json.loads(agnosco(capsys, tmp_path / "data", "roles", "list")[1]) == []


def test_a_role_action_without_its_name_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        agnosco(capsys, tmp_path / "data", "roles", "show")
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert err.count("\n") == 1 and "required: name" in err and "roles show --help" in err


def test_a_role_gets_no_access_key_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert agnosco(capsys, data, "roles", "create", "finder-role", "--trust", "admin")[0] == 0
    status, out, err = agnosco(capsys, data, "keys", "create", "--principal", "finder-role")
    assert status == 1 and out == "" and err.count("\n") == 1
    assert "is a role" in err and "AssumeRole" in err
    assert json.loads(agnosco(capsys, data, "keys", "list", "--json")[1]) == []
