"""Temporary credentials, side by side with moto's STS server, in one run.

Through boto3, against a real ``agnosco serve`` process and against moto's server
(``moto.server.ThreadedMotoServer``, the STS emulator the AWS test ecosystem uses), interleaved
call by call:

* **AssumeRole**: a new role session (Agnosco: trust list checked, session stored with its
  secret encrypted, audited);
* **GetCallerIdentity** signed with the temporary credentials (Agnosco: session token checked,
  audited);
* **presigned GetCallerIdentity**: botocore's ``generate_presigned_url`` then a GET of it.

Printed: p50 and p90 of each in milliseconds, and Agnosco's p50 over moto's. moto checks no
signature, trust or token and writes nothing durable, so the ratio is the price of doing so.

    python bench/sts.py [--calls 100]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ACCOUNT_AGNOSCO = "000000000000"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flows(
    endpoint: str, key: tuple[str, str], region: str, role_arn: str
) -> dict[str, Callable[[], Any]]:
    config = Config(retries={"max_attempts": 1})
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=config,
    )
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="bench")["Credentials"]
    temporary = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=answer["AccessKeyId"],
        aws_secret_access_key=answer["SecretAccessKey"],
        aws_session_token=answer["SessionToken"],
        config=config,
    )

    def presigned() -> None:
        url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200

    return {
        "AssumeRole": lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="bench"),
        "GetCallerIdentity (temporary)": temporary.get_caller_identity,
        "GetCallerIdentity (presigned)": presigned,
    }


def main() -> None:
    from agnosco.cli.main import main as agnosco
    from tests.server.conftest import (
        ACCESS_KEY_ID,
        REGION,
        SECRET_ACCESS_KEY,
        free_port,
        start_server,
    )

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        server = start_server(data, Path(tmp) / "server.log")
        moto = ThreadedMotoServer(port=free_port(), verbose=False)
        moto.start()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                agnosco(["roles", "create", "Bench", "--trust", "admin", "--data-dir", str(data)])
            moto_url = f"http://127.0.0.1:{moto._port}"
            iam = boto3.client(
                "iam",
                endpoint_url=moto_url,
                region_name="us-east-1",
                aws_access_key_id="AKIAMOTO",
                aws_secret_access_key="moto",
            )
            moto_role = iam.create_role(
                RoleName="Bench",
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )["Role"]["Arn"]
            ours = flows(
                server.url,
                (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
                REGION,
                f"arn:aws:iam::{ACCOUNT_AGNOSCO}:role/Bench",
            )
            theirs = flows(moto_url, ("AKIAMOTO", "moto"), "us-east-1", moto_role)
            print(f"{args.calls} calls each, interleaved; milliseconds")
            print(
                f"{'':32s} {'Agnosco p50':>12s} {'p90':>8s} {'moto p50':>10s} {'p90':>8s} {'ratio':>7s}"
            )
            for name in ours:
                ours[name](), theirs[name]()  # warm up
                a, m = [], []
                for _ in range(args.calls):
                    a.append(1000 * timed(ours[name]))
                    m.append(1000 * timed(theirs[name]))
                print(
                    f"{name:32s} {statistics.median(a):12.2f} {percentile(a, 0.9):8.2f} "
                    f"{statistics.median(m):10.2f} {percentile(m, 0.9):8.2f} "
                    f"{statistics.median(a) / statistics.median(m):7.2f}"
                )
        finally:
            moto.stop()
            server.stop()


if __name__ == "__main__":
    main()
