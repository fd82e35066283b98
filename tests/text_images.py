"""Images with known text, drawn with Pillow's own font (shipped in Pillow's wheel, so the same
everywhere): the tests of DetectText know what each image says and where each word is."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Drawn:
    image: Image.Image
    lines: list[str]
    #: Each word's box in pixels (x0, y0, x1, y1), line by line.
    boxes: list[list[tuple[int, int, int, int]]]


def draw_text(
    lines: list[str],
    size: tuple[int, int] = (900, 300),
    *,
    font_size: int = 44,
    origin: tuple[int, int] = (30, 30),
    spacing: float = 1.9,
    background: Image.Image | None = None,
    ink: tuple[int, int, int] = (20, 20, 20),
) -> Drawn:
    """``lines`` drawn from ``origin``, one under the other, dark on white (or on
    ``background``); each word's box as Pillow measures it."""
    image = background.copy() if background is not None else Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    x0, y = origin
    boxes = []
    for line in lines:
        draw.text((x0, y), line, fill=ink, font=font)
        line_boxes, x = [], x0
        for word in line.split(" "):
            left, top, right, bottom = draw.textbbox((x, y), word, font=font)
            line_boxes.append((int(left), int(top), int(right), int(bottom)))
            x += int(draw.textlength(word + " ", font=font))
        boxes.append(line_boxes)
        y += int(font_size * spacing)
    return Drawn(image, lines, boxes)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()
