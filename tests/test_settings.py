"""Settings are read once: a flag, else the environment, else the default; nothing else in the
package reads the environment, and importing it changes nothing there."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
from pathlib import Path

import agnosco
from agnosco.settings import DEFAULT_DATA_DIR, DEFAULT_REGION, AdminKey, Settings

PACKAGE = Path(agnosco.__file__).parent


def test_a_flag_wins_over_the_environment_which_wins_over_the_default() -> None:
    environ = {
        "AGNOSCO_REGION": "eu-west-1",
        "AGNOSCO_DATA_DIR": "/srv/agnosco",
        "AGNOSCO_STORE": "sqlite",
    }
    assert Settings.load({}, {}).region == DEFAULT_REGION
    assert Settings.load({}, {}).data_dir == DEFAULT_DATA_DIR
    assert Settings.load({}, environ).region == "eu-west-1"
    assert Settings.load({"region": "ap-south-1", "data_dir": None}, environ).region == "ap-south-1"
    loaded = Settings.load({"region": None, "port": 9000, "unrelated_flag": 1}, environ)
    assert (loaded.region, loaded.port, loaded.data_dir, loaded.store_url) == (
        "eu-west-1",
        9000,
        Path("/srv/agnosco"),
        None,
    )


def test_lists_secrets_and_store_urls() -> None:
    environ = {
        "AGNOSCO_TRUSTED_PROXIES": " 10.0.0.1, ,10.0.0.2 ",
        "AGNOSCO_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AGNOSCO_STORE": "postgresql://agnosco:hunter2@db/agnosco",
        "AGNOSCO_MASTER_KEY": " k ",
    }
    loaded = Settings.load({}, environ)
    assert loaded.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert loaded.admin_key is None  # a key id without its secret is no key
    assert loaded.master_key == "k"
    assert "hunter2" not in repr(loaded) and "'k'" not in repr(loaded)
    assert Settings.load({"trusted_proxy": ["192.0.2.1"]}, environ).trusted_proxies == (
        "192.0.2.1",
    )
    both = Settings.load({}, environ | {"AGNOSCO_SECRET_ACCESS_KEY": "s3cret"})
    assert both.admin_key == AdminKey("AKIAEXAMPLE", "s3cret") and "s3cret" not in repr(both)


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
