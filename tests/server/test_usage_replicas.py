"""Two ``agnosco serve`` replicas on one PostgreSQL database meter into the same rows and hold
one principal to one quota: calls through either count towards it, the call beyond it is refused
by whichever replica gets it, and ``agnosco usage`` from a third machine reads the sum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.server.conftest import Server, start_server
from tests.server.test_replicas import MASTER_KEY, agnosco


@pytest.mark.slow
def test_two_replicas_meter_together_and_hold_one_quota(
    tmp_path: Path, deepface_images: Path, postgres_dsn: str
) -> None:
    shared = {"AGNOSCO_MASTER_KEY": MASTER_KEY}
    operator = ["--data-dir", str(tmp_path / "operator"), "--store", postgres_dsn]
    image = (deepface_images / "img1.jpg").read_bytes()
    other = (deepface_images / "img12.jpg").read_bytes()
    servers: list[Server] = []
    try:
        for name in ("one", "two"):
            servers.append(
                start_server(
                    tmp_path / name, tmp_path / f"{name}.log", "--store", postgres_dsn, env=shared
                )
            )
        first, second = (server.client() for server in servers)
        agnosco(
            "quotas",
            "set",
            "admin",
            "--faces",
            "1",
            "--images-per-month",
            "4",
            *operator,
            env=shared,
        )
        first.create_collection(CollectionId="replicated")
        first.index_faces(CollectionId="replicated", Image={"Bytes": image}, MaxFaces=1)
        with pytest.raises(ClientError) as faces:
            second.index_faces(CollectionId="replicated", Image={"Bytes": other}, MaxFaces=1)
        assert faces.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
        assert len(first.list_faces(CollectionId="replicated")["Faces"]) == 1
        second.detect_faces(Image={"Bytes": image})
        first.detect_faces(Image={"Bytes": image})
        second.detect_faces(Image={"Bytes": image})  # the fourth image, on either replica
        for client in (first, second):
            with pytest.raises(ClientError) as images:
                client.detect_faces(Image={"Bytes": image})
            assert images.value.response["Error"]["Code"] == "LimitExceededException"
    finally:
        for server in servers:
            server.stop()
    report = json.loads(
        agnosco("usage", "--json", "--principal", "admin", *operator, env=shared).stdout
    )
    assert {str(u["CollectionId"]): u["Images"] for u in report["Usage"]} == {
        "None": {"DetectFaces": 3},
        "replicated": {"IndexFaces": 1},
    }
    assert [u["FacesStored"] for u in report["Usage"] if u["CollectionId"]] == [1]
