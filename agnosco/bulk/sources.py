"""Where bulk indexing finds images: a local folder or an S3 prefix.

A source yields :class:`Item` objects in a stable order (by key).  Each has a ``key``, its
path relative to the source's root with ``/`` separators (``people/ann.jpg``), from which the
ExternalImageId is derived (:mod:`agnosco.bulk.external_id`), and reads its bytes only when
asked, so enumerating a million objects does not read a million images.

* :class:`FolderSource` walks a folder recursively, following symbolic links (to files and to
  folders, each real folder once, so a link loop ends).
* :class:`S3Source` lists ``s3://bucket/prefix`` with ``list_objects_v2`` on any S3-compatible
  endpoint.  The prefix names a folder: ``s3://b/photos`` and ``s3://b/photos/`` both list
  ``photos/...`` and keys are relative to it, so a folder copied with ``aws s3 sync photos
  s3://b/photos`` gets the same keys (and ExternalImageIds) as ``index-folder photos``.

Images are chosen by suffix (``.jpg .jpeg .png .webp``, any case); what is really inside is
judged by the decoder, as for IndexFaces (a WebP file is refused with
InvalidImageFormatException, as Rekognition refuses it).  Files up to 15 MiB are read, the
limit Rekognition applies to images in S3; larger ones fail with ImageTooLargeException before
being read.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from agnosco.errors import ImageTooLargeException, InvalidS3ObjectException, ServiceError
from agnosco.vision.image import MAX_S3_IMAGE_BYTES

SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


class UnreadableImage(Exception):
    """A local file that cannot be read (vanished, no permission)."""

    code = "UnreadableFile"


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in SUFFIXES


def _too_large(size: int) -> ImageTooLargeException:
    return ImageTooLargeException(f"The image is larger than {MAX_S3_IMAGE_BYTES} bytes (15 MiB).")


class Item(Protocol):
    key: str

    def read(self) -> bytes:
        """The image's bytes.

        :raises ImageTooLargeException: over 15 MiB.
        :raises InvalidS3ObjectException: an S3 object that cannot be read.
        :raises UnreadableImage: a local file that cannot be read.
        """
        ...


class Source(Protocol):
    #: What is being indexed, for the summary and the audit log (a path or an s3:// URL).
    description: str

    def items(self) -> Iterator[Item]: ...


@dataclass(frozen=True)
class FileItem:
    key: str
    path: Path

    def read(self) -> bytes:
        try:
            with self.path.open("rb") as fh:
                if os.fstat(fh.fileno()).st_size > MAX_S3_IMAGE_BYTES:
                    raise _too_large(MAX_S3_IMAGE_BYTES)
                return fh.read()
        except OSError as exc:
            raise UnreadableImage(f"cannot read {self.path}: {exc.strerror or exc}") from exc


class FolderSource:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise NotADirectoryError(f"{root} is not a folder")
        self.description = str(self.root.resolve())

    def items(self) -> Iterator[FileItem]:
        seen: set[str] = set()
        yield from self._walk(self.root, "", seen)

    def _walk(self, folder: Path, prefix: str, seen: set[str]) -> Iterator[FileItem]:
        real = os.path.realpath(folder)
        if real in seen:
            return
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            key = prefix + entry.name
            try:
                is_dir = entry.is_dir()  # follows symbolic links
            except OSError:
                continue
            if is_dir:
                yield from self._walk(Path(entry.path), key + "/", seen)
            elif is_image_name(entry.name):
                yield FileItem(key, Path(entry.path))


@dataclass(frozen=True)
class S3Item:
    key: str
    name: str  # the object key in the bucket
    size: int
    source: S3Source = field(repr=False, compare=False)

    def read(self) -> bytes:
        if self.size > MAX_S3_IMAGE_BYTES:
            raise _too_large(self.size)
        return self.source.read(self.name)


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix ending in ``/`` or empty).

    :raises ValueError: not an s3:// URL with a bucket.
    """
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"expected s3://bucket/prefix, not {url!r}")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


class S3Source:
    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        client: Any = None,
        page_size: int = 1000,
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.page_size = page_size
        self.description = f"s3://{self.bucket}/{self.prefix}"
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client = client

    def items(self) -> Iterator[S3Item]:
        """Objects in S3's listing order (by key, UTF-8 binary order), one page at a time."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": self.page_size}
        ):
            for obj in page.get("Contents", []):
                name = obj["Key"]
                if not name.endswith("/") and is_image_name(name):
                    yield S3Item(name[len(self.prefix) :], name, int(obj.get("Size", 0)), self)

    def read(self, name: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=name)
            data: bytes = response["Body"].read(MAX_S3_IMAGE_BYTES + 1)
        except (ClientError, BotoCoreError) as exc:
            raise InvalidS3ObjectException(f"cannot read s3://{self.bucket}/{name}: {exc}") from exc
        if len(data) > MAX_S3_IMAGE_BYTES:
            raise _too_large(len(data))
        return data


@dataclass(frozen=True)
class Read:
    """An item's bytes and their SHA-256, or why they could not be read."""

    item: Item
    data: bytes = b""
    sha256: str = ""
    error: ServiceError | UnreadableImage | None = None


def _read(item: Item) -> Read:
    try:
        data = item.read()
    except (ServiceError, UnreadableImage) as exc:
        return Read(item, error=exc)
    return Read(item, data, hashlib.sha256(data).hexdigest())


def read_ahead(items: Iterable[Item], threads: int = 4, ahead: int = 8) -> Iterator[Read]:
    """Read and hash ``items`` in order, with up to ``ahead`` of them being read by ``threads``
    threads: S3 round trips (or a network file system's) overlap instead of adding up, while
    at most ``ahead`` images wait in memory."""
    iterator = iter(items)
    with ThreadPoolExecutor(threads, thread_name_prefix="bulk-read") as pool:
        pending: deque[Future[Read]] = deque(
            pool.submit(_read, item) for item in _take(iterator, ahead)
        )
        while pending:
            read = pending.popleft().result()
            for item in _take(iterator, 1):
                pending.append(pool.submit(_read, item))
            yield read


def _take(iterator: Iterator[Item], n: int) -> list[Item]:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) == n:
            break
    return out
