"""decode_image: the only way bytes become pixels, and every way it must refuse them."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agnosco.errors import (
    ImageTooLargeException,
    InternalServerError,
    InvalidImageFormatException,
    InvalidParameterException,
    ServiceError,
)
from agnosco.vision.image import (
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    MIN_SIDE,
    WORKING_MAX_SIDE,
    DecodedImage,
    decode_image,
    sniff_format,
)


def _noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient plus noise: compresses to many bytes and decodes to known sizes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack(
        [xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1), (xx + yy) % 256], axis=2
    )
    return np.clip(base + rng.integers(-40, 40, base.shape), 0, 255).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header (valid CRCs) that claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _assert_error(exc_info, cls: type[ServiceError]) -> None:
    """The exact class, a non-empty message, and ``code`` equal to the Rekognition name."""
    exc = exc_info.value
    assert type(exc) is cls
    assert exc.code == cls.__name__
    assert exc.message.strip()
    assert str(exc).startswith(f"{cls.__name__}: ")


def _assert_decoded(decoded: DecodedImage, width: int, height: int, fmt: str) -> None:
    assert isinstance(decoded, DecodedImage)
    assert (decoded.width, decoded.height, decoded.format) == (width, height, fmt)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.ndim == 3 and decoded.pixels.shape[2] == 3
    assert decoded.pixels.flags["C_CONTIGUOUS"]


# --- the error classes themselves -------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        InvalidParameterException,
        InvalidImageFormatException,
        ImageTooLargeException,
        InternalServerError,
    ],
)
def test_error_code_is_rekognition_name(cls):
    exc = cls("something went wrong")
    assert isinstance(exc, ServiceError)
    assert exc.code == cls.__name__
    assert exc.message == "something went wrong"
    assert exc.sender_fault is (cls is not InternalServerError)


# --- refused inputs -----------------------------------------------------------------------


def test_empty_bytes_is_invalid_format():
    with pytest.raises(InvalidImageFormatException) as exc_info:
        decode_image(b"")
    _assert_error(exc_info, InvalidImageFormatException)


def test_non_binary_input_is_invalid_parameter():
    with pytest.raises(InvalidParameterException) as exc_info:
        decode_image("not bytes")  # type: ignore[arg-type]
    _assert_error(exc_info, InvalidParameterException)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_jpeg_is_invalid_format(encode, cut):
    whole = encode(_noise(300, 400), "JPEG", quality=90)
    assert decode_image(whole).pixels.shape == (300, 400, 3)  # the uncut file is fine
    with pytest.raises(InvalidImageFormatException) as exc_info:
        decode_image(whole[: int(len(whole) * cut)])
    _assert_error(exc_info, InvalidImageFormatException)
    assert "JPEG" in exc_info.value.message


def test_real_jpeg_cut_in_half_is_invalid_format(read_image):
    whole = read_image("img2.jpg")
    with pytest.raises(InvalidImageFormatException) as exc_info:
        decode_image(whole[: len(whole) // 2])
    _assert_error(exc_info, InvalidImageFormatException)


def test_truncated_png_is_invalid_format(encode):
    whole = encode(_noise(200, 200))
    with pytest.raises(InvalidImageFormatException) as exc_info:
        decode_image(whole[: len(whole) // 2])
    _assert_error(exc_info, InvalidImageFormatException)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP"])
def test_other_formats_are_invalid_format(encode, fmt):
    data = encode(_noise(120, 120), fmt)
    assert Image.open(io.BytesIO(data)).format == fmt  # a genuine, decodable file of that format
    with pytest.raises(InvalidImageFormatException) as exc_info:
        decode_image(data)
    _assert_error(exc_info, InvalidImageFormatException)
    assert fmt in exc_info.value.message


def test_webp_with_jpg_extension_is_invalid_format(deepface_images):
    data = (deepface_images / "img47.jpg").read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with pytest.raises(InvalidImageFormatException) as exc_info:
        decode_image(data)
    _assert_error(exc_info, InvalidImageFormatException)


def test_random_bytes_are_invalid_format():
    data = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert sniff_format(data) is None
    with pytest.raises(InvalidImageFormatException):
        decode_image(data)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\xff\xd8\xff\xe0rest", "JPEG"),
        (b"\x89PNG\r\n\x1a\nrest", "PNG"),
        (b"GIF89a....", "GIF"),
        (b"BM......", "BMP"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"\x89PNX\r\n\x1a\n", None),
        (b"", None),
    ],
)
def test_sniff_format(data, expected):
    assert sniff_format(data) == expected


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (12_000, 12_000), (9_000, 9_000)])
def test_png_claiming_too_many_pixels_is_refused_quickly(width, height):
    assert width * height > MAX_PIXELS
    data = _png_claiming(width, height)
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeException) as exc_info:
        decode_image(data)
    elapsed = time.perf_counter() - start
    _assert_error(exc_info, ImageTooLargeException)
    assert elapsed < 1.0, f"refusing a {width}x{height} header took {elapsed:.2f} s"
    # Refused from the header's pixel count, not after a failed allocation (MemoryError path).
    assert "pixels" in exc_info.value.message


# Decodes stdin's bytes with the address space capped at 128 MiB above what the imports use:
# an image that allocates its pixel buffer (>= 192 MB for the sizes below) cannot get it.
_CAPPED_DECODE = textwrap.dedent(
    """
    import resource, sys
    from agnosco.errors import ServiceError
    from agnosco.vision.image import decode_image
    data = sys.stdin.buffer.read()
    with open("/proc/self/status") as status:
        vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = vm * 1024 + 128 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        decoded = decode_image(data)
        print("OK", decoded.width, decoded.height)
    except ServiceError as exc:
        print(type(exc).__name__, exc.message)
    """
)


def _decode_with_capped_memory(data: bytes) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _CAPPED_DECODE],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode().strip()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_huge_png_header_is_refused_without_allocating(encode):
    # Controls: the cap lets a real 3000 x 3000 PNG decode, and it does stop an allowed but
    # big (8000 x 8000 = 192 MB) image from allocating its pixels.
    assert _decode_with_capped_memory(encode(np.zeros((3000, 3000, 3), np.uint8))) == "OK 3000 3000"
    # (Uncapped, that header is InvalidImageFormat: its IDAT is garbage.)
    control = _decode_with_capped_memory(_png_claiming(8000, 8000))
    assert control.startswith("ImageTooLargeException "), control
    # The hostile headers are refused before any pixel buffer is allocated: by the header
    # check, not through the failed-allocation path the control took.
    for width, height in [(100_000, 100_000), (9_000, 9_000)]:
        outcome = _decode_with_capped_memory(_png_claiming(width, height))
        assert outcome.startswith("ImageTooLargeException "), outcome
        assert outcome != control, outcome


def test_png_header_within_pixel_limit_is_not_too_large():
    # 8000 x 8000 is exactly MAX_PIXELS: not too large, but the IDAT is garbage -> corrupt.
    with pytest.raises(InvalidImageFormatException):
        decode_image(_png_claiming(8000, 8000))


@pytest.mark.parametrize("width, height", [(79, 200), (200, 79), (79, 79), (5000, 40)])
def test_side_under_80_is_invalid_parameter(encode, width, height):
    with pytest.raises(InvalidParameterException) as exc_info:
        decode_image(encode(_noise(height, width)))
    _assert_error(exc_info, InvalidParameterException)
    assert str(MIN_SIDE) in exc_info.value.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_80_by_80_is_accepted(encode, fmt):
    decoded = decode_image(encode(_noise(MIN_SIDE, MIN_SIDE), fmt))
    _assert_decoded(decoded, MIN_SIDE, MIN_SIDE, fmt)
    assert decoded.pixels.shape == (MIN_SIDE, MIN_SIDE, 3)
    assert decoded.scale == 1.0


def test_more_than_5_mib_is_too_large():
    data = b"\xff\xd8\xff\xe0" + b"\x00" * MAX_IMAGE_BYTES
    with pytest.raises(ImageTooLargeException) as exc_info:
        decode_image(data)
    _assert_error(exc_info, ImageTooLargeException)


def test_byte_limit_is_exactly_5_mib(encode):
    png = encode(_noise(120, 160))
    padded = png + b"\x00" * (MAX_IMAGE_BYTES - len(png))  # bytes after IEND are ignored
    assert len(padded) == MAX_IMAGE_BYTES == 5 * 1024 * 1024
    _assert_decoded(decode_image(padded), 160, 120, "PNG")
    with pytest.raises(ImageTooLargeException):
        decode_image(padded + b"\x00")


def test_max_bytes_can_be_raised_for_s3_images(encode):
    from agnosco.vision.image import MAX_S3_IMAGE_BYTES

    png = encode(_noise(120, 160))
    padded = png + b"\x00" * (MAX_IMAGE_BYTES + 1024 - len(png))  # 5 MiB + 1 KiB
    with pytest.raises(ImageTooLargeException):
        decode_image(padded)
    _assert_decoded(decode_image(padded, max_bytes=MAX_S3_IMAGE_BYTES), 160, 120, "PNG")
    with pytest.raises(ImageTooLargeException) as exc_info:
        decode_image(padded, max_bytes=MAX_IMAGE_BYTES // 2)
    assert str(MAX_IMAGE_BYTES // 2) in exc_info.value.message


def test_real_png_over_5_mib_is_too_large(encode):
    data = encode(np.random.default_rng(2).integers(0, 256, (1400, 1400, 3), dtype=np.uint8))
    assert len(data) > MAX_IMAGE_BYTES
    with pytest.raises(ImageTooLargeException):
        decode_image(data)


# --- accepted inputs ----------------------------------------------------------------------


def test_png_pixels_are_exact(encode):
    array = _noise(90, 130)
    decoded = decode_image(encode(array))
    _assert_decoded(decoded, 130, 90, "PNG")
    np.testing.assert_array_equal(decoded.pixels, array)


def test_bytearray_and_memoryview_are_accepted(encode):
    data = encode(_noise(90, 90))
    for wrapped in (bytearray(data), memoryview(data)):
        _assert_decoded(decode_image(wrapped), 90, 90, "PNG")


def test_grayscale_png(encode):
    array = np.full((100, 120), 77, dtype=np.uint8)
    array[:10, :10] = 200
    decoded = decode_image(encode(array))
    _assert_decoded(decoded, 120, 100, "PNG")
    assert decoded.pixels.shape == (100, 120, 3)
    np.testing.assert_array_equal(decoded.pixels[50, 50], [77, 77, 77])
    np.testing.assert_array_equal(decoded.pixels[0, 0], [200, 200, 200])


def test_rgba_png_is_composited_to_rgb(encode):
    array = np.zeros((100, 120, 4), dtype=np.uint8)
    array[..., 0] = 255  # red
    array[..., 3] = 255  # opaque
    array[:, 60:, 3] = 0  # right half fully transparent
    image = Image.fromarray(array, "RGBA")
    decoded = decode_image(encode(image))
    _assert_decoded(decoded, 120, 100, "PNG")
    np.testing.assert_array_equal(decoded.pixels[50, 10], [255, 0, 0])
    # Transparent pixels land on an opaque background, the same everywhere.
    right = decoded.pixels[:, 60:].reshape(-1, 3)
    assert (right == right[0]).all()


def test_palette_png(encode):
    image = Image.new("P", (110, 90))
    image.putpalette([0, 0, 255, 255, 255, 0] + [0] * (254 * 3))
    image.paste(1, (0, 0, 55, 90))  # left half: palette entry 1 (yellow)
    decoded = decode_image(encode(image))
    _assert_decoded(decoded, 110, 90, "PNG")
    np.testing.assert_array_equal(decoded.pixels[45, 10], [255, 255, 0])
    np.testing.assert_array_equal(decoded.pixels[45, 100], [0, 0, 255])


def test_sixteen_bit_png(encode):
    ramp = (np.arange(100 * 120, dtype=np.uint32).reshape(100, 120) * 5).astype(np.uint16)
    data = encode(Image.fromarray(ramp))
    assert Image.open(io.BytesIO(data)).mode.startswith("I")  # really a 16-bit PNG
    decoded = decode_image(data)
    _assert_decoded(decoded, 120, 100, "PNG")
    grey = decoded.pixels[..., 0].astype(int)
    assert (decoded.pixels[..., 1] == grey).all() and (decoded.pixels[..., 2] == grey).all()
    assert grey[0, 0] < 5 and grey[-1, -1] > 250  # the full 16-bit range is used
    assert (np.diff(grey.ravel()) >= 0).all()  # the ramp stays monotonic


def test_jpeg_is_decoded_close_to_source(encode):
    array = np.zeros((100, 140, 3), dtype=np.uint8)
    array[:, :70] = (200, 30, 30)
    array[:, 70:] = (30, 30, 200)
    decoded = decode_image(encode(array, "JPEG", quality=95))
    _assert_decoded(decoded, 140, 100, "JPEG")
    assert np.abs(decoded.pixels[50, 20].astype(int) - (200, 30, 30)).max() < 12
    assert np.abs(decoded.pixels[50, 120].astype(int) - (30, 30, 200)).max() < 12


def _corner_means(pixels: np.ndarray, size: int = 8) -> dict[str, np.ndarray]:
    h, w = pixels.shape[:2]
    patches = {
        "TL": pixels[2 : 2 + size, 2 : 2 + size],
        "TR": pixels[2 : 2 + size, w - 2 - size : w - 2],
        "BL": pixels[h - 2 - size : h - 2, 2 : 2 + size],
        "BR": pixels[h - 2 - size : h - 2, w - 2 - size : w - 2],
    }
    return {k: v.reshape(-1, 3).mean(axis=0) for k, v in patches.items()}


def _colour_at(means: dict[str, np.ndarray], colour: tuple[int, int, int]) -> list[str]:
    return [k for k, v in means.items() if np.abs(v - colour).max() < 40]


RED, GREEN = (255, 0, 0), (0, 255, 0)
# EXIF orientation -> where the stored image's top-left (red) and top-right (green) corners
# appear once the image is shown upright.
ORIENTATION_CORNERS = {
    1: ("TL", "TR"),
    2: ("TR", "TL"),
    3: ("BR", "BL"),
    4: ("BL", "BR"),
    5: ("TL", "BL"),
    6: ("TR", "BR"),
    7: ("BR", "TR"),
    8: ("BL", "TL"),
}


def _stored_jpeg_with_orientation(orientation: int, width: int = 200, height: int = 100) -> bytes:
    array = np.full((height, width, 3), 128, dtype=np.uint8)
    array[:24, :24] = RED
    array[:24, -24:] = GREEN
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("orientation", sorted(ORIENTATION_CORNERS))
def test_exif_orientation_is_applied(orientation):
    data = _stored_jpeg_with_orientation(orientation)
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == orientation
    decoded = decode_image(data)
    rotated = orientation in (5, 6, 7, 8)
    width, height = (100, 200) if rotated else (200, 100)
    _assert_decoded(decoded, width, height, "JPEG")
    assert decoded.pixels.shape == (height, width, 3)
    red_at, green_at = ORIENTATION_CORNERS[orientation]
    means = _corner_means(decoded.pixels)
    assert _colour_at(means, RED) == [red_at], means
    assert _colour_at(means, GREEN) == [green_at], means


def test_exif_orientation_6_rotates_clockwise():
    decoded = decode_image(_stored_jpeg_with_orientation(6))
    assert (decoded.width, decoded.height) == (100, 200)
    top_right = decoded.pixels[:20, -20:].reshape(-1, 3).mean(axis=0)
    top_left = decoded.pixels[:20, :20].reshape(-1, 3).mean(axis=0)
    assert top_right[0] > 200 and top_right[1] < 50  # the stored top-left red block
    assert np.abs(top_left - 128).max() < 30  # grey, not red


def test_exif_orientation_is_ignored_when_damaged(encode):
    data = encode(_noise(100, 200), "JPEG", exif=b"Exif\x00\x00garbage-that-is-not-tiff")
    decoded = decode_image(data)
    _assert_decoded(decoded, 200, 100, "JPEG")


def test_big_jpeg_is_decoded_at_working_scale(encode):
    width, height = 4400, 300
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = (220, 40, 40)
    array[:, width // 2 :] = (40, 40, 220)
    data = encode(array, "JPEG", quality=80)
    decoded = decode_image(data)
    _assert_decoded(decoded, width, height, "JPEG")
    working_h, working_w = decoded.pixels.shape[:2]
    assert WORKING_MAX_SIDE <= working_w < width
    assert working_h < height
    assert decoded.scale == pytest.approx(working_w / width)
    assert decoded.scale < 1.0
    assert working_h / height == pytest.approx(decoded.scale, rel=0.02)
    # Content is the same picture, just smaller.
    assert decoded.pixels[working_h // 2, working_w // 4, 0] > 180
    assert decoded.pixels[working_h // 2, 3 * working_w // 4, 2] > 180


def test_big_jpeg_with_exif_rotation_reports_upright_original_size():
    width, height = 4200, 200
    exif = Image.Exif()
    exif[0x0112] = 8
    buf = io.BytesIO()
    Image.fromarray(_noise(height, width)).save(buf, "JPEG", quality=70, exif=exif.tobytes())
    decoded = decode_image(buf.getvalue())
    _assert_decoded(decoded, height, width, "JPEG")  # upright: 200 wide, 4200 high
    working_h, working_w = decoded.pixels.shape[:2]
    assert working_h > working_w
    assert WORKING_MAX_SIDE <= working_h < width
    assert decoded.scale == pytest.approx(working_w / height)
    assert working_h / width == pytest.approx(decoded.scale, rel=0.02)


def test_small_png_is_never_scaled(encode):
    decoded = decode_image(encode(_noise(100, 2600)))
    assert decoded.pixels.shape == (100, 2600, 3)
    assert decoded.scale == 1.0


def test_real_big_jpeg_keeps_original_size(deepface_images):
    data = (deepface_images / "img40.jpg").read_bytes()
    original = Image.open(io.BytesIO(data)).size
    assert max(original) > WORKING_MAX_SIDE
    decoded = decode_image(data)
    _assert_decoded(decoded, original[0], original[1], "JPEG")
    assert max(decoded.pixels.shape[:2]) >= WORKING_MAX_SIDE
    assert decoded.scale < 1.0
