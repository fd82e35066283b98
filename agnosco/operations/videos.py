"""Where request videos come from: a ``Video.S3Object``, read the way images are.

From the local S3 folder (``<s3_dir>/<Bucket>/<Name>``) the decoder reads the file where it
lies; from an S3-compatible endpoint the object is first copied to a temporary file, which is
removed when the job is done.  Either way an object over Rekognition's 10 GB limit is
``VideoTooLargeException`` before a byte of it is decoded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agnosco.errors import InvalidS3ObjectException, VideoTooLargeException
from agnosco.operations.images import NO_OBJECT, local_object

#: Rekognition's limit for a stored video's file.
MAX_VIDEO_BYTES = 10 * 1024**3


class VideoSource:
    def __init__(self, s3_dir: Path | None = None, s3_client: Any = None) -> None:
        self.s3_dir = s3_dir
        self.s3_client = s3_client

    def check(self, video: Mapping[str, Any]) -> None:
        """That the video's object exists and is not too large (what Start checks at once).

        :raises InvalidS3ObjectException, VideoTooLargeException:"""
        bucket, name, version = _object(video)
        if self.s3_client is not None:
            self._remote_size(bucket, name, version)
        else:
            self._local(bucket, name)

    @contextmanager
    def open(self, video: Mapping[str, Any]) -> Iterator[Path]:
        """A local file holding the video, for as long as the context lasts.

        :raises InvalidS3ObjectException, VideoTooLargeException:"""
        bucket, name, version = _object(video)
        if self.s3_client is None:
            yield self._local(bucket, name)
            return
        from botocore.exceptions import BotoCoreError, ClientError

        self._remote_size(bucket, name, version)
        extra = {"VersionId": version} if version else {}
        with tempfile.NamedTemporaryFile(prefix="agnosco-video-", suffix=Path(name).suffix) as fh:
            try:
                self.s3_client.download_fileobj(bucket, name, fh, ExtraArgs=extra or None)
            except (ClientError, BotoCoreError) as exc:
                raise InvalidS3ObjectException(NO_OBJECT) from exc
            fh.flush()
            yield Path(fh.name)

    def _local(self, bucket: str, name: str) -> Path:
        if self.s3_dir is None:
            raise InvalidS3ObjectException(
                "No S3 source is configured on this server (see --s3-dir, --s3-endpoint-url)."
            )
        path = local_object(self.s3_dir, bucket, name)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidS3ObjectException(NO_OBJECT) from exc
        _check_size(size)
        return path

    def _remote_size(self, bucket: str, name: str, version: str | None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        args = {"Bucket": bucket, "Key": name} | ({"VersionId": version} if version else {})
        try:
            head = self.s3_client.head_object(**args)
        except (ClientError, BotoCoreError) as exc:
            raise InvalidS3ObjectException(NO_OBJECT) from exc
        _check_size(int(head.get("ContentLength", 0)))


def _object(video: Mapping[str, Any]) -> tuple[str, str, str | None]:
    obj = video.get("S3Object") or {}
    bucket, name = obj.get("Bucket"), obj.get("Name")
    if not bucket or not name:
        raise InvalidS3ObjectException("Video.S3Object needs a Bucket and a Name.")
    return bucket, name, obj.get("Version")


def _check_size(size: int) -> None:
    if size > MAX_VIDEO_BYTES:
        raise VideoTooLargeException(
            f"The video is {size} bytes; Rekognition's limit for a stored video is 10 GB."
        )
