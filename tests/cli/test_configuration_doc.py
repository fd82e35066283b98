"""docs/configuration.md lists every flag of every command and every environment variable, and
the README points a newcomer at it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from agnosco.cli.main import build_parser
from agnosco.settings import ENVIRONMENT

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "configuration.md").read_text()


def _flags(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _flags(sub, (*path, name))
        elif action.dest != "help":
            for option in action.option_strings:
                yield " ".join(path) or "agnosco", option


FLAGS = sorted(set(_flags(build_parser())))


def test_every_command_is_walked() -> None:
    commands = {command for command, _ in FLAGS}
    assert {"serve", "keys create", "review decide", "audit export", "index-s3"} <= commands


@pytest.mark.parametrize(("command", "flag"), FLAGS)
def test_every_flag_is_documented(command: str, flag: str) -> None:
    assert f"`{flag}" in DOC, f"{command} {flag} is not in docs/configuration.md"


@pytest.mark.parametrize("variable", sorted(ENVIRONMENT.values()))
def test_every_environment_variable_is_documented(variable: str) -> None:
    assert f"`{variable}`" in DOC


def test_the_doc_covers_health_and_the_data_directory() -> None:
    assert "### `GET /health`" in DOC
    for name in ("master.key", "admin-key.json", "agnosco.db", "audit.db", "0700", "0600"):
        assert f"`{name}`" in DOC
    assert "~/.local/share/agnosco" in DOC and "$XDG_DATA_HOME/agnosco" in DOC


def test_the_readme_links_it_and_explains_what_a_newcomer_trips_on() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "`docs/configuration.md`" in readme
    assert '-m "not slow"' in readme
    assert "a true pair scoring 97 is not a match at 99" in " ".join(readme.split())
    assert "agnosco-data" not in readme  # the data directory no longer depends on where one is
