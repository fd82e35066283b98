"""Writing objects where the deployment's S3 mapping says: a folder standing for buckets
(``<s3_dir>/<Bucket>/<Key>``, written to a temporary file and renamed, so a reader never sees
half an object) or an S3-compatible endpoint (``PutObject``).  Stream processors'
``Output.S3Destination`` writes its records through it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


class ObjectError(Exception):
    """The object cannot be written, or the bucket is not there (the message says which)."""


class ObjectWriter:
    def __init__(self, s3_dir: Path | None = None, s3_client: Any = None) -> None:
        self.s3_dir = s3_dir
        self.s3_client = s3_client

    def check_bucket(self, bucket: str) -> None:
        """:raises ObjectError: the bucket does not exist (or cannot be reached)."""
        if self.s3_client is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                self.s3_client.head_bucket(Bucket=bucket)
            except (ClientError, BotoCoreError) as exc:
                raise ObjectError(f"The S3 bucket {bucket} cannot be written: {exc}") from exc
            return
        if self.s3_dir is None or not self._bucket_dir(bucket).is_dir():
            raise ObjectError(
                f"The S3 bucket {bucket} does not exist on this server (a folder of the S3"
                " directory, --s3-dir)."
            )

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """:raises ObjectError: it could not be written."""
        if self.s3_client is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                self.s3_client.put_object(Bucket=bucket, Key=key, Body=body)
            except (ClientError, BotoCoreError) as exc:
                raise ObjectError(f"s3://{bucket}/{key} could not be written: {exc}") from exc
            return
        root = self._bucket_dir(bucket)
        path = (root / key).resolve()
        if root not in path.parents:
            raise ObjectError(f"The key {key!r} leaves its bucket.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
                fh.write(body)
            os.replace(fh.name, path)
        except OSError as exc:
            raise ObjectError(f"s3://{bucket}/{key} could not be written: {exc.strerror}") from exc

    def _bucket_dir(self, bucket: str) -> Path:
        if self.s3_dir is None or "\0" in bucket or "/" in bucket or bucket in ("", ".", ".."):
            raise ObjectError(f"No S3 bucket {bucket!r} can be written on this server.")
        return (self.s3_dir / bucket).resolve()
