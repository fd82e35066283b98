"""ExternalImageId from an image's key (its path relative to the folder or S3 prefix).

Rekognition accepts ExternalImageIds matching ``[a-zA-Z0-9_.\\-:]+``, at most 255 characters.
The mapping is deterministic, so the same file always gets the same id (which, with the
image's SHA-256, makes the same ImageId, so a re-run skips it):

1. accented letters lose their accents (Unicode NFKD, combining marks dropped): ``José`` ->
   ``Jose``;
2. the path separator ``/`` becomes ``:`` (``people/ann.jpg`` -> ``people:ann.jpg``);
3. every other character outside the pattern becomes ``_`` (``my photo.jpg`` ->
   ``my_photo.jpg``);
4. an id longer than 255 characters becomes 16 hex digits of the SHA-256 of the key, ``_``,
   and the id's last 238 characters (the file name is the most telling part), so long paths
   stay distinct.

Steps 1 and 3 can map two keys to one id (``a b.jpg`` and ``a_b.jpg``).  Nothing is lost:
two different images still get different ImageIds (the image's SHA-256 is part of it); only
the same image under both names is indexed once.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_LENGTH = 255
PATTERN = re.compile(r"[a-zA-Z0-9_.\-:]+")
_OTHER = re.compile(r"[^a-zA-Z0-9_.\-:]")
_DIGEST_CHARS = 16


def external_image_id(key: str) -> str:
    """The ExternalImageId for ``key``, a ``/``-separated relative path (never empty)."""
    text = "".join(ch for ch in unicodedata.normalize("NFKD", key) if not unicodedata.combining(ch))
    text = _OTHER.sub("_", text.replace("/", ":")) or "_"
    if len(text) > MAX_LENGTH:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
        text = f"{digest}_{text[-(MAX_LENGTH - _DIGEST_CHARS - 1) :]}"
    return text
