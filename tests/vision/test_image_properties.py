"""Image properties on synthetic images whose answers are known exactly: brightness and contrast
are formulas of the luma, sharpness orders a crisp image above the same blurred, dominant colours
of flat colours are those colours, and the foreground of a patch on a plain backdrop is the patch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from agnosco.vision import image_properties as ip
from agnosco.vision.geometry import Box
from agnosco.vision.image import DecodedImage

SIDE = ip.WORKING_SIDE  # images of the working size are analysed unresampled


def _image(pixels: np.ndarray) -> DecodedImage:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    return DecodedImage(pixels, pixels.shape[1], pixels.shape[0], "PNG")


def _flat(rgb: tuple[int, int, int], size: tuple[int, int] = (SIDE, SIDE)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (*size, 3)).copy()


def _half_black_half_white() -> np.ndarray:
    pixels = np.zeros((SIDE, SIDE, 3), np.uint8)
    pixels[:, SIDE // 2 :] = 255
    return pixels


def _checkerboard(square: int = 16) -> np.ndarray:
    rows, cols = np.indices((SIDE, SIDE))
    board = ((rows // square + cols // square) % 2 * 255).astype(np.uint8)
    return np.dstack([board] * 3)


def test_half_black_half_white() -> None:
    properties = ip.analyse(_image(_half_black_half_white()), 10)
    quality = properties.whole.quality
    assert quality.brightness == pytest.approx(50.0)
    assert quality.contrast == pytest.approx(100.0)  # the largest RMS contrast 8 bits can have
    colours = {
        (c.hex_code, c.css_color, c.simplified_color): c.pixel_percent
        for c in properties.whole.colors
    }
    assert colours == {
        ("#000000", "black", "black"): pytest.approx(50.0),
        ("#ffffff", "white", "white"): pytest.approx(50.0),
    }


def test_a_pure_red_image() -> None:
    properties = ip.analyse(_image(_flat((255, 0, 0))), 10)
    quality = properties.whole.quality
    assert quality.brightness == pytest.approx(100 * round(0.299 * 255) / 255)  # BT.601 luma
    assert quality.contrast == 0.0 and quality.sharpness == 0.0
    [red] = properties.whole.colors
    assert (red.red, red.green, red.blue, red.hex_code) == (255, 0, 0, "#ff0000")
    assert (red.css_color, red.simplified_color, red.pixel_percent) == ("red", "red", 100.0)
    # nothing stands out of a uniform image: it has no foreground and no background
    assert properties.foreground is None and properties.background is None


@pytest.mark.parametrize(
    ("rgb", "css", "simplified"),
    [
        ((255, 255, 255), "white", "white"),
        ((0, 0, 0), "black", "black"),
        ((128, 128, 128), "gray", "grey"),
        ((0, 0, 255), "blue", "blue"),
        ((0, 128, 0), "green", "green"),
        ((255, 255, 0), "yellow", "yellow"),
        ((255, 165, 0), "orange", "orange"),
        ((128, 0, 128), "purple", "purple"),
        ((255, 192, 203), "pink", "pink"),
        ((0, 128, 128), "teal", "teal"),
        ((139, 69, 19), "saddlebrown", "brown"),
    ],
)
def test_css_and_simplified_names(rgb: tuple[int, int, int], css: str, simplified: str) -> None:
    [colour] = ip.analyse(_image(_flat(rgb)), 10).whole.colors
    assert (colour.css_color, colour.simplified_color) == (css, simplified)
    assert colour.simplified_color in ip.SIMPLIFIED_COLORS


def test_there_are_twelve_simplified_colours_and_every_css_colour_has_one() -> None:
    assert len(set(ip.SIMPLIFIED_COLORS)) == 12
    names, _ = ip._css_table()
    assert len(names) >= 138  # the CSS3 named colours, less the gray/grey spellings of one colour
    from PIL import ImageColor

    for name in names:
        rgb = ImageColor.getrgb(name)[:3]
        assert ip.css_color(rgb) == name  # each named colour is its own nearest name
        assert ip.simplified_color(rgb) in ip.SIMPLIFIED_COLORS


def test_a_sharp_checkerboard_is_sharper_than_the_same_blurred() -> None:
    sharp = _checkerboard()
    blurred = cv2.GaussianBlur(sharp, (0, 0), 4)
    crisp = ip.analyse(_image(sharp), 2).whole.quality
    soft = ip.analyse(_image(blurred), 2).whole.quality
    assert crisp.sharpness > 99 and soft.sharpness < 20
    assert crisp.brightness == pytest.approx(50.0) and soft.brightness == pytest.approx(
        50.0, abs=0.5
    )
    assert crisp.contrast == pytest.approx(100.0) and soft.contrast < crisp.contrast


def test_dominant_colours_by_share_and_limit() -> None:
    pixels = _flat((255, 255, 255))
    pixels[: SIDE // 4] = (255, 0, 0)  # a quarter red
    pixels[SIDE // 4 : SIDE // 2] = (0, 0, 255)  # a quarter blue, half white
    colours = ip.analyse(_image(pixels), 10).whole.colors
    assert colours[0].css_color == "white"  # the largest share first (red and blue tie)
    assert {c.css_color: c.pixel_percent for c in colours} == {
        "white": pytest.approx(50.0),
        "red": pytest.approx(25.0),
        "blue": pytest.approx(25.0),
    }
    assert [c.css_color for c in ip.analyse(_image(pixels), 1).whole.colors] == ["white"]
    assert ip.analyse(_image(pixels), 0).whole.colors == ()


def test_near_colours_are_one_colour() -> None:
    pixels = _flat((200, 30, 30))
    pixels[::2] = (205, 32, 28)  # indistinguishable stripes
    [colour] = ip.analyse(_image(pixels), 10).whole.colors
    assert colour.pixel_percent == 100.0 and colour.simplified_color == "red"


def test_the_foreground_of_a_patch_on_a_plain_backdrop_is_the_patch() -> None:
    pixels = _flat((128, 128, 128))
    pixels[96:160, 96:160] = (255, 200, 0)
    properties = ip.analyse(_image(pixels), 5)
    assert properties.foreground is not None and properties.background is not None
    assert properties.foreground.colors[0].hex_code == "#ffc800"
    assert properties.foreground.colors[0].pixel_percent > 85
    assert properties.background.colors[0].hex_code == "#808080"
    assert properties.background.colors[0].pixel_percent > 98
    # the patch is brighter than the backdrop, and both are flat inside
    assert properties.foreground.quality.brightness > properties.background.quality.brightness


def test_colours_inside_boxes() -> None:
    pixels = _flat((255, 255, 255))
    pixels[:, : SIDE // 2] = (0, 0, 255)
    left, right = Box(0.0, 0.0, 0.5, 1.0), Box(0.5, 0.0, 0.5, 1.0)
    colours = ip.box_colors(_image(pixels), [left, right, Box(0.25, 0.0, 0.5, 1.0)], 5)
    assert [[c.css_color for c in box] for box in colours[:2]] == [["blue"], ["white"]]
    assert {c.css_color: c.pixel_percent for c in colours[2]} == {
        "blue": pytest.approx(50.0),
        "white": pytest.approx(50.0),
    }


def test_a_small_image_is_measured_at_the_working_size() -> None:
    small = cv2.resize(_half_black_half_white(), (100, 100), interpolation=cv2.INTER_NEAREST)
    quality = ip.analyse(_image(small), 2).whole.quality
    assert quality.brightness == pytest.approx(50.0, abs=0.5)
    assert quality.contrast == pytest.approx(100.0, abs=1.0)


def test_the_css_table_survives_pillows_cache() -> None:
    """Pillow's getrgb caches its answers in the colour table itself (tuples for names)."""
    from PIL import ImageColor

    ImageColor.getrgb("white"), ImageColor.getrgb("gray")
    ip._css_table.cache_clear()
    assert ip.css_color((255, 255, 255)) == "white" and ip.css_color((128, 128, 128)) == "gray"
