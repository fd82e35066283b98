"""Where request images come from: inline ``Bytes`` or an ``S3Object``.

S3 objects are read either from an S3-compatible endpoint with boto3 (``s3_client``), or, by
default, from a local folder in which each bucket is a sub-folder and each object key a
relative path (``<s3_dir>/<Bucket>/<Name>``); keys cannot escape their bucket folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agnosco.errors import (
    ImageTooLargeException,
    InvalidParameterException,
    InvalidS3ObjectException,
)
from agnosco.vision.image import MAX_S3_IMAGE_BYTES, DecodedImage, decode_image

NO_OBJECT = (
    "Unable to get object metadata from S3. Check object key, region and/or access permissions."
)


def local_object(s3_dir: Path, bucket: str, name: str) -> Path:
    """The file of object ``name`` in ``bucket`` under a local S3 folder; a key cannot escape
    its bucket's folder.

    :raises InvalidS3ObjectException: no such object (or a key that tries to escape)."""
    if "\0" in bucket or "\0" in name:  # no file system path holds one
        raise InvalidS3ObjectException(NO_OBJECT)
    try:
        root = (s3_dir / bucket).resolve()
        path = (root / name).resolve()
        if root not in path.parents or not path.is_file():
            raise InvalidS3ObjectException(NO_OBJECT)
    except OSError as exc:  # a name too long for the file system, a folder without access...
        raise InvalidS3ObjectException(NO_OBJECT) from exc
    return path


class ImageSource:
    def __init__(self, s3_dir: Path | None = None, s3_client: Any = None) -> None:
        self.s3_dir = s3_dir
        self.s3_client = s3_client

    def load(self, image: Mapping[str, Any]) -> DecodedImage:
        """Decode a Rekognition ``Image`` structure.

        :raises InvalidParameterException: neither or both of Bytes and S3Object.
        :raises InvalidS3ObjectException: the object cannot be read.
        :raises ServiceError: the image itself is invalid (see :func:`decode_image`).
        """
        has_bytes, has_s3 = "Bytes" in image, "S3Object" in image
        if has_bytes == has_s3:
            raise InvalidParameterException("Image must have exactly one of Bytes or S3Object.")
        if has_bytes:
            return decode_image(image["Bytes"])
        return decode_image(self._read_s3(image["S3Object"]), max_bytes=MAX_S3_IMAGE_BYTES)

    def _read_s3(self, obj: dict[str, Any]) -> bytes:
        bucket, name = obj.get("Bucket"), obj.get("Name")
        if not bucket or not name:
            raise InvalidS3ObjectException("S3Object needs a Bucket and a Name.")
        if self.s3_client is not None:
            return self._read_remote(bucket, name, obj.get("Version"))
        if self.s3_dir is None:
            raise InvalidS3ObjectException(
                "No S3 source is configured on this server (see --s3-dir, --s3-endpoint-url)."
            )
        path = local_object(self.s3_dir, bucket, name)
        try:
            if path.stat().st_size > MAX_S3_IMAGE_BYTES:
                raise ImageTooLargeException(
                    f"S3 object is larger than {MAX_S3_IMAGE_BYTES} bytes (15 MiB)."
                )
            return bytes(path.read_bytes())
        except OSError as exc:  # removed meanwhile, or unreadable
            raise InvalidS3ObjectException(NO_OBJECT) from exc

    def _read_remote(self, bucket: str, name: str, version: str | None) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        args = {"Bucket": bucket, "Key": name} | ({"VersionId": version} if version else {})
        try:
            response = self.s3_client.get_object(**args)
            if response.get("ContentLength", 0) > MAX_S3_IMAGE_BYTES:
                raise ImageTooLargeException(
                    f"S3 object is larger than {MAX_S3_IMAGE_BYTES} bytes (15 MiB)."
                )
            return bytes(response["Body"].read(MAX_S3_IMAGE_BYTES + 1))
        except (ClientError, BotoCoreError) as exc:
            raise InvalidS3ObjectException(NO_OBJECT) from exc
