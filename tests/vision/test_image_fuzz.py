"""Fuzzing decode_image: hostile bytes either decode to a sane image or raise a ServiceError.

Anything else (a bare OSError, ValueError, SyntaxError, struct.error, a numpy error...) would
escape the protocol layer as a 500 instead of Rekognition's InvalidImageFormatException.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from agnosco.errors import ServiceError
from agnosco.vision.image import DecodedImage, decode_image

# Pillow warns (UserWarning) about the corrupt EXIF blocks the fuzzer produces; expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")

FUZZ = settings(  # a fixed seed: the suite runs the same 250 cases every time
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _seed_image() -> np.ndarray:
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:96, 0:128]
    base = np.stack([xx * 2, yy * 2, (xx + yy) % 256], axis=2)
    return np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)


def _encoded(fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(_seed_image())
    if fmt == "PNG-L":
        image, fmt = image.convert("L"), "PNG"
    if fmt == "PNG-P":
        image, fmt = image.convert("P"), "PNG"
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return exif.tobytes()


SEEDS = {
    "jpeg": _encoded("JPEG", quality=85),
    "jpeg-progressive-exif": _encoded("JPEG", quality=60, progressive=True, exif=_exif()),
    "png": _encoded("PNG"),
    "png-grey": _encoded("PNG-L"),
    "png-palette": _encoded("PNG-P"),
}


def _check(data: bytes) -> None:
    try:
        decoded = decode_image(data)
    except ServiceError as exc:
        assert exc.code == type(exc).__name__
        assert exc.message
        return
    # Any other exception propagates and fails the test.
    assert isinstance(decoded, DecodedImage)
    pixels = decoded.pixels
    assert isinstance(pixels, np.ndarray)
    assert pixels.dtype == np.uint8
    assert pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.shape[0] >= 1 and pixels.shape[1] >= 1
    assert decoded.format in ("JPEG", "PNG")
    assert min(decoded.width, decoded.height) >= 80
    if decoded.scale == 1.0:
        assert pixels.shape[:2] == (decoded.height, decoded.width)
    else:  # a JPEG decoded at a reduced working scale keeps the aspect ratio
        assert decoded.format == "JPEG" and 0 < decoded.scale < 1
        assert pixels.shape[0] == pytest.approx(decoded.height * decoded.scale, abs=2)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_decode(name):
    decoded = decode_image(SEEDS[name])
    assert decoded.pixels.shape[2] == 3
    if name == "jpeg-progressive-exif":
        assert (decoded.width, decoded.height) == (96, 128)
    else:
        assert (decoded.width, decoded.height) == (128, 96)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    _check(data)


@FUZZ
@given(
    prefix=st.sampled_from([b"\xff\xd8\xff", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n"]),
    rest=st.binary(max_size=2048),
)
def test_arbitrary_bytes_behind_a_valid_signature(prefix, rest):
    _check(prefix + rest)


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
)


def _mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for kind, position, arg in mutations:
        if not buf:
            break
        i = position % len(buf)
        if kind == "flip":
            buf[i] ^= arg
        elif kind == "set":
            buf[i] = arg
        elif kind == "truncate":
            del buf[i:]
        elif kind == "insert":
            buf[i:i] = arg
        else:
            del buf[i : i + arg]
    return bytes(buf)


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    mutations=st.lists(_mutation, min_size=1, max_size=6),
)
def test_mutated_real_images(seed, mutations):
    _check(_mutate(SEEDS[seed], mutations))


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    # Header bytes (JPEG SOF / PNG IHDR, EXIF) are where decoders are most fragile.
    position=st.integers(0, 400),
    value=st.integers(0, 255),
)
def test_header_byte_overwrites(seed, position, value):
    data = bytearray(SEEDS[seed])
    data[position % len(data)] = value
    _check(bytes(data))
