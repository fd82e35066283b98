"""Settings are read once: a flag, else the environment, else the default; nothing else in the
package reads the environment, and importing it changes nothing there."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import agnosco
from agnosco.settings import DEFAULT_REGION, AdminKey, Settings, SettingsError, default_data_dir

PACKAGE = Path(agnosco.__file__).parent


def test_a_flag_wins_over_the_environment_which_wins_over_the_default() -> None:
    environ = {
        "AGNOSCO_REGION": "eu-west-1",
        "AGNOSCO_DATA_DIR": "/srv/agnosco",
        "AGNOSCO_STORE": "sqlite",
    }
    assert Settings.load({}, {}).region == DEFAULT_REGION
    assert Settings.load({}, {"HOME": "/home/u"}).data_dir == Path("/home/u/.local/share/agnosco")
    assert Settings.load({}, environ).region == "eu-west-1"
    assert Settings.load({"region": "ap-south-1", "data_dir": None}, environ).region == "ap-south-1"
    loaded = Settings.load({"region": None, "port": 9000, "unrelated_flag": 1}, environ)
    assert (loaded.region, loaded.port, loaded.data_dir, loaded.store_url) == (
        "eu-west-1",
        9000,
        Path("/srv/agnosco"),
        None,
    )


#: An access key id and a secret as AWS forms them (and as `agnosco keys create` makes them).
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_lists_secrets_and_store_urls() -> None:
    environ = {
        "AGNOSCO_TRUSTED_PROXIES": " 10.0.0.1, ,10.0.0.2 ",
        "AGNOSCO_STORE": "postgresql://agnosco:hunter2@db/agnosco",
        "AGNOSCO_MASTER_KEY": " k ",
    }
    loaded = Settings.load({}, environ)
    assert loaded.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert loaded.admin_key is None
    assert loaded.master_key == "k"
    assert "hunter2" not in repr(loaded) and "'k'" not in repr(loaded)
    assert Settings.load({"trusted_proxy": ["192.0.2.1"]}, environ).trusted_proxies == (
        "192.0.2.1",
    )
    both = Settings.load(
        {}, environ | {"AGNOSCO_ACCESS_KEY_ID": KEY_ID, "AGNOSCO_SECRET_ACCESS_KEY": SECRET}
    )
    assert both.admin_key == AdminKey(KEY_ID, SECRET) and SECRET not in repr(both)


def test_the_default_data_directory_is_the_users_wherever_a_command_runs() -> None:
    """Not relative to the working directory: the per-user data directory of platformdirs'
    conventions, so every command of one user finds the same deployment."""
    home = {"HOME": "/home/u"}
    assert Settings.load({}, home).data_dir == Path("/home/u/.local/share/agnosco")
    assert Settings.load({}, home | {"XDG_DATA_HOME": "/data"}).data_dir == Path("/data/agnosco")
    # the XDG specification ignores a relative XDG_DATA_HOME
    assert default_data_dir(home | {"XDG_DATA_HOME": "rel"}, "linux") == Path(
        "/home/u/.local/share/agnosco"
    )
    assert default_data_dir(home, "darwin") == Path("/home/u/Library/Application Support/agnosco")
    assert default_data_dir({"LOCALAPPDATA": "C:/Users/u/AppData/Local"}, "win32") == Path(
        "C:/Users/u/AppData/Local/agnosco"
    )
    assert Settings.load({}, home).data_dir_is_default
    given = Settings.load({}, home | {"AGNOSCO_DATA_DIR": "~/deployment"})
    assert given.data_dir == Path("~/deployment").expanduser() and not given.data_dir_is_default


@pytest.mark.parametrize(
    ("key_id", "secret", "says"),
    [
        ("short", "x", "is not an access key id"),
        ("akiaiosfodnn7example", SECRET, "is not an access key id"),  # lower case
        ("AKIA" + "A" * 11, SECRET, "is not an access key id"),  # 15 characters
        ("AKIA" + "A" * 125, SECRET, "is not an access key id"),  # 129 characters
        ("ASIAIOSFODNN7EXAMPLE", SECRET, "is not an access key id"),  # a temporary key's prefix
        (KEY_ID, "x", "is not a secret access key"),
        (KEY_ID, SECRET[:-1], "is not a secret access key"),  # 39 characters
        (KEY_ID, SECRET[:-1] + "!", "is not a secret access key"),
        (KEY_ID, None, "AGNOSCO_SECRET_ACCESS_KEY is not"),  # one without the other
        (None, SECRET, "AGNOSCO_ACCESS_KEY_ID is not"),
    ],
)
def test_the_admin_key_from_the_environment_is_formed_as_aws_forms_keys(
    key_id: str | None, secret: str | None, says: str
) -> None:
    environ = {"AGNOSCO_ACCESS_KEY_ID": key_id or "", "AGNOSCO_SECRET_ACCESS_KEY": secret or ""}
    with pytest.raises(SettingsError, match=says) as excinfo:
        Settings.load({}, environ)
    message = str(excinfo.value)
    assert "\n" not in message
    assert not secret or secret not in message  # the secret is never repeated
    longest = Settings.load(
        {}, {"AGNOSCO_ACCESS_KEY_ID": "AKIA" + "A" * 124, "AGNOSCO_SECRET_ACCESS_KEY": SECRET}
    )
    assert longest.admin_key is not None and len(longest.admin_key.access_key_id) == 128


def test_unusable_ports_and_log_settings_are_refused_in_one_line() -> None:
    with pytest.raises(SettingsError, match="--port must be a port number from 1 to 65535"):
        Settings.load({"port": 99999}, {})
    with pytest.raises(SettingsError, match="--port"):
        Settings.load({"port": -1}, {})
    assert Settings.load({"port": 0}, {}).port == 0  # any free port
    with pytest.raises(SettingsError, match="AGNOSCO_LOG_LEVEL must be one of"):
        Settings.load({}, {"AGNOSCO_LOG_LEVEL": "loud"})
    with pytest.raises(SettingsError, match="AGNOSCO_LOG_FORMAT must be one of"):
        Settings.load({}, {"AGNOSCO_LOG_FORMAT": "xml"})
    loaded = Settings.load({"log_format": "json"}, {"AGNOSCO_LOG_LEVEL": "debug"})
    assert (loaded.log_level, loaded.log_format) == ("DEBUG", "json")


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv", "putenv", "unsetenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                readers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert readers and all(r.startswith("settings.py:") for r in readers), readers


def test_importing_the_package_changes_nothing_in_the_environment() -> None:
    import cv2  # noqa: F401  (OpenCV's own import sets Qt and loader variables: not ours to test)

    before = dict(os.environ)
    for module in pkgutil.walk_packages(agnosco.__path__, "agnosco."):
        if module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    assert dict(os.environ) == before


def test_the_ray_cluster_for_long_videos() -> None:
    assert Settings.load({}, {}).ray_address is None
    assert Settings.load({}, {}).ray_chunk_seconds == 60.0
    environ = {"AGNOSCO_RAY_ADDRESS": "head:6379"}
    assert Settings.load({}, environ).ray_address == "head:6379"
    flags = {"ray_address": "ray://other:10001", "ray_chunk_seconds": 30.0}
    loaded = Settings.load(flags, environ)
    assert (loaded.ray_address, loaded.ray_chunk_seconds) == ("ray://other:10001", 30.0)
