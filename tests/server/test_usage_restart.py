"""The meter survives restarts: a real ``agnosco serve`` started twice on one data directory,
its usage read by ``agnosco usage`` afterwards, and a quota set from the command line refusing
the restarted server's next image at the limit the first run's images count towards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from agnosco.cli.main import main
from tests.server.conftest import start_server


def _usage(capsys: pytest.CaptureFixture[str], data: Path) -> dict[str, dict[str, int]]:
    assert main(["usage", "--json", "--principal", "admin", "--data-dir", str(data)]) == 0
    report = json.loads(capsys.readouterr().out)
    return {str(u["CollectionId"]): u["Images"] for u in report["Usage"]}


@pytest.mark.slow
def test_usage_survives_a_restart_and_quotas_count_what_came_before(
    tmp_path: Path, read_image, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    image = read_image("img1.jpg")
    first = start_server(data, tmp_path / "first.log")
    try:
        client = first.client()
        client.create_collection(CollectionId="restart")
        client.detect_faces(Image={"Bytes": image})
        client.detect_faces(Image={"Bytes": image})
        client.index_faces(CollectionId="restart", Image={"Bytes": image}, MaxFaces=1)
    finally:
        first.stop()
    second = start_server(data, tmp_path / "second.log")
    try:
        second.client().detect_faces(Image={"Bytes": image})
        assert _usage(capsys, data) == {"None": {"DetectFaces": 3}, "restart": {"IndexFaces": 1}}
        # A quota set now, from the command line, counts the images of both runs.
        assert (
            main(["quotas", "set", "admin", "--images-per-month", "5", "--data-dir", str(data)])
            == 0
        )
        capsys.readouterr()
        second.client().detect_faces(Image={"Bytes": image})  # the fifth
        with pytest.raises(ClientError) as refused:
            second.client().detect_faces(Image={"Bytes": image})
        assert refused.value.response["Error"]["Code"] == "LimitExceededException"
    finally:
        second.stop()
    assert _usage(capsys, data) == {"None": {"DetectFaces": 4}, "restart": {"IndexFaces": 1}}
