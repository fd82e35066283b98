"""Memory per request is bounded by what decoding costs, not only by the pixel count: a
497 KB 16-bit RGBA PNG of 7999 x 7999 took 2.7 GB to decode, and four at once 5.2 GB."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agnosco.vision import image as image_module
from agnosco.vision.image import WORKING_MAX_SIDE, DecodedImage, decode_image

SIDE = 7999


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_16bit_rgba(side: int) -> bytes:
    """A valid 16-bit RGBA PNG of ``side`` x ``side``, written row by row (a mid-grey, half
    transparent square with one dark row): a few hundred KB that decode to gigabytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80\x00\x80\x00\x80\x00\x80\x00" * side
    dark = b"\x00" + b"\x10\x00\x10\x00\x10\x00\xff\xff" * side
    parts = []
    for y in range(side):
        parts.append(compressor.compress(dark if y == side // 2 else row))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def hostile_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("png") / "hostile.png"
    path.write_bytes(png_16bit_rgba(SIDE))
    return path


def test_the_hostile_png_is_small(hostile_png: Path) -> None:
    assert hostile_png.stat().st_size < 5 * 2**20  # within Rekognition's 5 MiB
    with Image.open(hostile_png) as im:
        assert im.size == (SIDE, SIDE)


@pytest.mark.slow
def test_decoding_it_stays_within_a_bounded_footprint(hostile_png: Path) -> None:
    """In a fresh process, peak memory (max RSS) of decoding the image, against an empty run."""
    script = (
        "import json, resource, sys\n"
        "from agnosco.vision.image import decode_image\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "d = decode_image(open(sys.argv[1], 'rb').read()) if len(sys.argv) > 1 else None\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'added_mib': (peak - base) / 1024, 'shape': list(d.pixels.shape) if d else None,"
        " 'size': [d.width, d.height] if d else None}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(hostile_png)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["size"] == [SIDE, SIDE]  # geometry still in the image as sent
    assert max(result["shape"][:2]) < 2 * WORKING_MAX_SIDE  # decoded to a working copy
    # the 16-bit RGBA image must be held once, as 8-bit RGBA (256 MB), and never copied whole
    assert result["added_mib"] < 700, result


def test_concurrent_decodes_share_one_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """What decodes at once is bounded in total: a request waits for memory rather than take it."""
    budget = image_module.DecodeBudget(10 * 1000 * 1000)
    monkeypatch.setattr(image_module, "_BUDGET", budget)
    peak, lock = [0], threading.Lock()
    real = budget.reserve

    def watching(nbytes: int):  # type: ignore[no-untyped-def]
        cm = real(nbytes)

        class Watch:
            def __enter__(self) -> None:
                cm.__enter__()
                with lock:
                    peak[0] = max(peak[0], budget.in_use)

            def __exit__(self, *exc: object) -> None:
                cm.__exit__(*exc)

        return Watch()

    monkeypatch.setattr(budget, "reserve", watching)
    data = _png_rgb(1000, 800)  # ~3.2 MB to decode at 4 bytes a pixel: three fit, not four
    results: list[DecodedImage] = []
    threads = [
        threading.Thread(target=lambda: results.append(decode_image(data))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 8
    assert 0 < peak[0] <= budget.total
    assert budget.in_use == 0


def test_an_image_costing_more_than_the_whole_budget_is_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agnosco.errors import ImageTooLargeException

    monkeypatch.setattr(image_module, "_BUDGET", image_module.DecodeBudget(1000))
    with pytest.raises(ImageTooLargeException, match="too large to decode"):
        decode_image(_png_rgb(200, 200))


def _png_rgb(width: int, height: int) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(buf, "PNG")
    return buf.getvalue()
