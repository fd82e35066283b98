"""Image input exactly as Rekognition takes it.

:func:`decode_image` is the only way bytes become pixels in Agnosco.  It accepts JPEG and
PNG only (recognised by their signatures, never by a file name), at most 5 MiB of bytes,
at least 80 px per side and at most :data:`MAX_PIXELS` pixels, applies the EXIF
orientation (so boxes are reported in the upright image, as Rekognition does), and turns
every decoder failure into a :class:`~agnosco.errors.ServiceError`: a truncated, corrupt or
hostile file raises, it never crashes the process.

Large JPEGs are decoded at a reduced scale with libjpeg's DCT scaling (Pillow's ``draft``)
when that still leaves at least :data:`WORKING_MAX_SIDE` pixels on the long side: faces keep
far more pixels than the 150 px descriptor chip needs, and decoding gets 4-16x cheaper.  Large
PNGs (which have no reduced decoding) are box-reduced by an integer factor right after
decoding, by the same rule, before any conversion copies them.  All geometry downstream is in
ratios of the image size, so the working scale never shows.

Memory is bounded by what decoding costs, not only by the pixel count: a 5 MiB PNG can hold 64
million 16-bit RGBA pixels.  Each decode reserves :data:`DECODE_BYTES_PER_PIXEL` bytes per pixel
it will hold from one process-wide :class:`DecodeBudget` of :data:`DECODE_BUDGET_BYTES`, waiting
while others hold it; an image that would cost more than the whole budget is
``ImageTooLargeException``.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from agnosco.errors import (
    ImageTooLargeException,
    InvalidImageFormatException,
    InvalidParameterException,
)

#: Rekognition's limit for image bytes passed inline (``ImageBlob`` max in the service model).
MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: Rekognition's limit for images read from S3.
MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024
#: Rekognition's minimum image height and width.
MIN_SIDE = 80
#: Largest decoded image accepted (64 megapixels, e.g. 8000 x 8000): bounds memory per request.
MAX_PIXELS = 64_000_000
#: JPEGs are decoded no smaller than this on their long side (see module docstring).
WORKING_MAX_SIDE = 2048

#: Bytes a decode may hold per pixel of the image as decoded (8-bit RGBA, at most 4 bytes, and
#: the box-reduced copy, or a mode conversion before reducing, beside it).
DECODE_BYTES_PER_PIXEL = 8
#: All decodes at once hold at most this much (two 64-megapixel PNGs; dozens of photos).
DECODE_BUDGET_BYTES = 1024 * 2**20


class DecodeBudget:
    """Bytes that decodes in this process may hold at once; :meth:`reserve` waits for room."""

    def __init__(self, total: int) -> None:
        self.total, self.in_use = total, 0
        self._room = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` of the budget while the block runs.

        :raises ImageTooLargeException: more than the whole budget.
        """
        if nbytes > self.total:
            raise ImageTooLargeException(
                f"Image is too large to decode: it needs about {nbytes // 2**20} MiB, "
                f"more than the {self.total // 2**20} MiB this server gives decoding."
            )
        with self._room:
            self._room.wait_for(lambda: self.in_use + nbytes <= self.total)
            self.in_use += nbytes
        try:
            yield
        finally:
            with self._room:
                self.in_use -= nbytes
                self._room.notify_all()


_BUDGET = DecodeBudget(DECODE_BUDGET_BYTES)

_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
}
_OTHER_SIGNATURES = {
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An upright RGB image ready for the face pipeline.

    ``width`` and ``height`` are the upright image's size in pixels as the caller sent it;
    ``pixels`` may be a scaled-down working copy (``pixels.shape[:2]`` tells its size).
    """

    pixels: np.ndarray  # H x W x 3, uint8, C-contiguous
    width: int
    height: int
    format: str  # "JPEG" or "PNG"
    sha256: str = ""  # hex digest of the encoded bytes: identifies the image without keeping it

    @property
    def scale(self) -> float:
        """Working pixels per original pixel (1.0 when decoded at full size)."""
        return float(self.pixels.shape[1] / self.width)


def sniff_format(data: bytes) -> str | None:
    """Return ``"JPEG"``, ``"PNG"``, another format's name, or None from the leading bytes."""
    for signature, name in (_SIGNATURES | _OTHER_SIGNATURES).items():
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_image(data: bytes, max_bytes: int = MAX_IMAGE_BYTES) -> DecodedImage:
    """Decode Rekognition image bytes into an upright RGB :class:`DecodedImage`.

    ``max_bytes`` is 5 MiB for inline bytes; images read from S3 may be larger
    (:data:`MAX_S3_IMAGE_BYTES`).

    :raises ImageTooLargeException: more than ``max_bytes`` bytes or more than MAX_PIXELS pixels.
    :raises InvalidImageFormatException: empty, not JPEG/PNG, truncated or corrupt data.
    :raises InvalidParameterException: an image side shorter than 80 pixels.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidParameterException("Image bytes must be binary data.")
    data = bytes(data)
    if len(data) > max_bytes:
        raise ImageTooLargeException(
            f"Image is {len(data)} bytes; the maximum is {max_bytes} bytes ({max_bytes / 2**20:g} MiB)."
        )
    if not data:
        raise InvalidImageFormatException("Image is empty; send JPEG or PNG bytes.")
    fmt = sniff_format(data)
    if fmt not in ("JPEG", "PNG"):
        what = f"{fmt} images are" if fmt else "This image format is"
        raise InvalidImageFormatException(f"{what} not supported; send JPEG or PNG bytes.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _decode(data, fmt)
    except (ImageTooLargeException, InvalidParameterException, InvalidImageFormatException):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeException(f"Image has too many pixels: {exc}") from exc
    except MemoryError as exc:
        raise ImageTooLargeException("Image is too large to decode.") from exc
    except Exception as exc:  # Pillow raises many types on hostile input; all mean "corrupt".
        raise InvalidImageFormatException(
            f"{fmt} data is truncated or corrupt and cannot be decoded ({type(exc).__name__})."
        ) from exc


def _decode(data: bytes, fmt: str) -> DecodedImage:
    image: Image.Image = Image.open(io.BytesIO(data), formats=[fmt])
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageTooLargeException(
            f"Image is {width}x{height} pixels; the maximum is {MAX_PIXELS} pixels."
        )
    if min(width, height) < MIN_SIDE:
        raise InvalidParameterException(
            f"Image is {width}x{height} pixels; height and width must be at least {MIN_SIDE}."
        )
    orientation = _exif_orientation(image) if fmt == "JPEG" else 1
    if fmt == "JPEG" and max(width, height) > WORKING_MAX_SIDE:
        factor = max(width, height) / WORKING_MAX_SIDE
        image.draft("RGB", (int(width / factor), int(height / factor)))
    decoded_pixels = image.size[0] * image.size[1]  # after draft: what will really be decoded
    with _BUDGET.reserve(decoded_pixels * DECODE_BYTES_PER_PIXEL):
        image.load()
        image = _working_copy(image)
        if orientation in (5, 6, 7, 8):  # the image is stored rotated by 90 degrees
            width, height = height, width
        upright = ImageOps.exif_transpose(image) if orientation != 1 else image
        pixels = np.ascontiguousarray(_to_rgb(upright))
    return DecodedImage(
        pixels=pixels,
        width=width,
        height=height,
        format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _working_copy(image: Image.Image) -> Image.Image:
    """``image`` box-reduced by the largest integer factor that leaves its long side at least
    :data:`WORKING_MAX_SIDE` (the image itself when it is not that large)."""
    factor = max(image.size) // WORKING_MAX_SIDE
    if factor < 2:
        return image
    if image.mode in ("1", "P", "I;16", "I;16B", "I;16L", "I;16N"):  # modes reduce() cannot take
        image = image.convert("RGBA" if image.mode == "P" else "L" if image.mode == "1" else "I")
    return image.reduce(factor)


def _exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1-8); a damaged EXIF block counts as upright."""
    try:
        value = int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not reject otherwise valid pixels
        return 1
    return value if 1 <= value <= 8 else 1


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max() or 1.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))
