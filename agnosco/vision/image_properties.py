"""What an image looks like, by classical image analysis: its quality (brightness, sharpness,
contrast), its dominant colours, and the same for its foreground and its background.

Everything is measured on one working copy of the image, :data:`WORKING_SIDE` pixels on its long
side (area-averaged down, or linearly up for a smaller image), so that the figures do not depend
on the size the image was sent at.  Nothing here is learnt; every figure is a formula:

* **Brightness** (0-100): the mean luma of the region, ``100 * mean(Y) / 255``, with Y the ITU-R
  BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` (OpenCV's RGB-to-grey).  A white image is 100, a
  black one 0, a pure red one 29.9.
* **Contrast** (0-100, whole image only, as Rekognition reports it): the RMS contrast of the
  luma, ``100 * std(Y) / 127.5``; 127.5 is the largest standard deviation 8-bit values can have
  (half the pixels 0, half 255), so a half-black half-white image is 100 and a uniform one 0.
* **Sharpness** (0-100): the variance of the Laplacian (OpenCV's 3x3 aperture) of the luma over
  the region, mapped by ``100 * (1 - exp(-variance / 500))`` (the form of the face quality of
  ``vision/quality.py``, scaled for a whole 256 px image): a uniform region is 0, a crisp
  edge-rich one near 100 (13 photos of ``../shared/data``: 47-100; 0-3 after a 2 px Gaussian
  blur).
* **Dominant colours**: k-means (Lloyd's, at most :data:`MAX_CLUSTERS` centres, deterministic
  farthest-point seeding) of the region's pixels in CIELAB, a perceptual space, on a copy of at
  most :data:`COLOUR_SIDE` pixels on its long side, the pixels binned by the top five bits of
  each channel first (weighted by their counts; each bin's colour is its pixels' mean); centres closer than :data:`MERGE_DELTA_E`
  (CIE76 delta E) are merged, since a person would not tell them apart.  Each colour reports
  the mean sRGB of its pixels, its hex code (``#rrggbb``), the nearest CSS named colour (CIE76 in
  CIELAB, among Pillow's table of the CSS3 named colours, ``PIL.ImageColor.colormap``; of names
  for one colour, such as gray and grey, the alphabetically first), a simplified colour (see
  :data:`SIMPLIFIED_COLORS`) and the percentage of the region's pixels it covers.  Colours are
  ordered by that percentage, largest first.
* **Foreground and background**: the foreground is where the image's frequency-tuned saliency
  (Achanta, Hemami, Estrada and Suesstrunk, CVPR 2009: each pixel's CIE76 distance, in CIELAB,
  from the image's mean colour, after a 5 x 5 Gaussian blur) is above Otsu's threshold; the
  background is the rest.  What differs most from the image's overall colour is foreground: a
  subject on a plain backdrop is found whole, but a subject the colour of its scene is not.  An
  image without such a split (saliency varying by less than :data:`SALIENCY_SPREAD`, or Otsu's
  threshold leaving one side empty) has no foreground and no background: neither is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from PIL import ImageColor

from agnosco.vision.geometry import Box
from agnosco.vision.image import DecodedImage

#: Quality is measured on a copy this many pixels on its long side.
WORKING_SIDE = 256
#: Colours are clustered on a copy at most this many pixels on its long side.
COLOUR_SIDE = 128
#: At most this many k-means centres before merging (more than Rekognition's 20 colours would
#: not be told apart).
MAX_CLUSTERS = 20
#: Colour centres closer than this (CIE76 delta E in CIELAB) are one colour.
MERGE_DELTA_E = 12.0
#: Lloyd iterations of the colour clustering.
KMEANS_ITERATIONS = 12
#: Laplacian variance -> sharpness scale (a sharp 256 px photo's variance is 300-6000).
SHARPNESS_SCALE = 500.0
#: Saliency (CIE76 distance from the image's mean colour) must vary by at least this much over
#: the image for it to have a foreground: below it, nothing stands out.
SALIENCY_SPREAD = 5.0
#: Under this chroma (CIELAB, sqrt(a^2 + b^2)) a colour is achromatic: black, grey or white.
ACHROMATIC_CHROMA = 12.0

#: The twelve simplified colour names.  Rekognition documents that SimplifiedColor is "one of
#: 12 simplified color names"; its documentation at hand does not list them, so these are
#: Agnosco's: the eleven basic colour terms of Berlin and Kay (1969) and teal.
SIMPLIFIED_COLORS = (
    "black",
    "grey",
    "white",
    "red",
    "orange",
    "yellow",
    "green",
    "teal",
    "blue",
    "purple",
    "pink",
    "brown",
)
#: The CIELAB hue angle (degrees) of each chromatic simplified colour: that of the CSS colour of
#: its name (pink: hotpink, teal: darkcyan), computed at import.
_HUE_PROTOTYPES = {
    "red": (255, 0, 0),
    "orange": (255, 165, 0),
    "yellow": (255, 255, 0),
    "green": (0, 128, 0),
    "teal": (0, 139, 139),
    "blue": (0, 0, 255),
    "purple": (128, 0, 128),
    "pink": (255, 105, 180),
}


@dataclass(frozen=True, slots=True)
class RegionQuality:
    brightness: float
    sharpness: float
    contrast: float


@dataclass(frozen=True, slots=True)
class DominantColor:
    red: int
    green: int
    blue: int
    hex_code: str
    css_color: str
    simplified_color: str
    pixel_percent: float


@dataclass(frozen=True, slots=True)
class Region:
    """One part of the image (the whole, the foreground or the background)."""

    quality: RegionQuality
    colors: tuple[DominantColor, ...]


@dataclass(frozen=True, slots=True)
class ImageProperties:
    whole: Region
    foreground: Region | None
    background: Region | None


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    """N x 3 sRGB uint8 -> N x 3 CIELAB float32 (L* 0-100, D65)."""
    pixels = rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return np.asarray(cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab)).reshape(-1, 3)


@cache
def _css_table() -> tuple[tuple[str, ...], np.ndarray]:
    """The CSS named colours (one name per colour: the alphabetically first) and their CIELAB."""
    by_colour: dict[tuple[int, ...], str] = {}
    for name in sorted(ImageColor.colormap):  # (getrgb caches its answers in the table itself)
        by_colour.setdefault(ImageColor.getrgb(name)[:3], name)
    names = tuple(by_colour.values())
    rgb = np.array(list(by_colour), dtype=np.uint8)
    return names, _to_lab(rgb)


@cache
def _hues() -> dict[str, float]:
    lab = _to_lab(np.array(list(_HUE_PROTOTYPES.values()), dtype=np.uint8))
    angles = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360
    return dict(zip(_HUE_PROTOTYPES, (float(a) for a in angles), strict=True))


def css_color(rgb: tuple[int, int, int]) -> str:
    """The CSS named colour nearest ``rgb`` (CIE76 in CIELAB)."""
    names, table = _css_table()
    lab = _to_lab(np.array([rgb], dtype=np.uint8))[0]
    return names[int(np.argmin(((table - lab) ** 2).sum(axis=1)))]


def simplified_color(rgb: tuple[int, int, int]) -> str:
    """One of :data:`SIMPLIFIED_COLORS` for ``rgb``, from its CIELAB lightness L*, chroma C* and
    hue angle h: under :data:`ACHROMATIC_CHROMA` of chroma, black (L* < 25), white (L* > 90) or
    grey; otherwise the colour whose prototype hue is nearest h (see ``_HUE_PROTOTYPES``), except
    that a dark (L* < 50) orange or yellow, or a dull (C* < 30) red, orange or yellow, is brown,
    and a light red (L* > 70) is pink."""
    lightness, a, b = (float(v) for v in _to_lab(np.array([rgb], dtype=np.uint8))[0])
    chroma = float(np.hypot(a, b))
    if chroma < ACHROMATIC_CHROMA:
        return "black" if lightness < 25 else "white" if lightness > 90 else "grey"
    hue = float(np.degrees(np.arctan2(b, a))) % 360
    name = min(_hues().items(), key=lambda item: min(abs(hue - item[1]), 360 - abs(hue - item[1])))[
        0
    ]
    if (name in ("orange", "yellow") and lightness < 50) or (
        name in ("red", "orange", "yellow") and chroma < 30
    ):
        return "brown"
    if name == "red" and lightness > 70:
        return "pink"
    return name


def _resize(pixels: np.ndarray, side: int, *, enlarge: bool) -> np.ndarray:
    height, width = pixels.shape[:2]
    factor = side / max(height, width)
    if factor > 1 and not enlarge:
        return pixels
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(pixels, size, interpolation=interpolation))


def dominant_colors(rgb: np.ndarray, limit: int) -> tuple[DominantColor, ...]:
    """The at most ``limit`` dominant colours of ``rgb`` (N x 3 uint8 pixels), by share.

    The pixels are first binned by their top 5 bits per channel (each bin keeps its pixel count
    and the sum of its pixels' values, so nothing is approximated but the clustering's input):
    k-means runs on the bins, weighted by their counts."""
    if limit <= 0 or len(rgb) == 0:
        return ()
    rgb = rgb.reshape(-1, 3)
    key = (rgb[:, 0].astype(np.int32) >> 3) << 10 | (rgb[:, 1].astype(np.int32) >> 3) << 5
    key |= rgb[:, 2].astype(np.int32) >> 3
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    sums = np.stack(
        [np.bincount(inverse, weights=rgb[:, c], minlength=len(counts)) for c in range(3)], axis=1
    )
    means = np.clip(np.rint(sums / counts[:, None]), 0, 255).astype(np.uint8)
    lab = _to_lab(means).astype(np.float64)
    weights = counts.astype(np.float64)
    first = (lab * weights[:, None]).sum(axis=0) / weights.sum()
    centres = [first]
    nearest = ((lab - first) ** 2).sum(axis=1)
    while len(centres) < MAX_CLUSTERS:
        far = int(np.argmax(nearest))
        if nearest[far] < MERGE_DELTA_E**2:
            break
        centres.append(lab[far])
        nearest = np.minimum(nearest, ((lab - lab[far]) ** 2).sum(axis=1))
    centre = np.array(centres)
    for _ in range(KMEANS_ITERATIONS):
        assign = _assign(lab, centre)
        mass = np.bincount(assign, weights=weights, minlength=len(centre))
        keep = mass > 0
        moments = np.stack(
            [
                np.bincount(assign, weights=weights * lab[:, c], minlength=len(centre))
                for c in range(3)
            ],
            axis=1,
        )
        centre = moments[keep] / mass[keep, None]
    assign = _assign(lab, centre)
    total = float(weights.sum())
    colours = []
    groups = _merge(assign, centre, weights)
    for members in sorted(groups, key=lambda m: -float(weights[m].sum()))[:limit]:
        count = float(weights[members].sum())
        mean = sums[members].sum(axis=0) / count
        red, green, blue = (int(v) for v in np.clip(np.rint(mean), 0, 255))
        colours.append(
            DominantColor(
                red=red,
                green=green,
                blue=blue,
                hex_code=f"#{red:02x}{green:02x}{blue:02x}",
                css_color=css_color((red, green, blue)),
                simplified_color=simplified_color((red, green, blue)),
                pixel_percent=100.0 * count / total,
            )
        )
    return tuple(colours)


def _assign(lab: np.ndarray, centre: np.ndarray) -> np.ndarray:
    distances = ((lab[:, None, :] - centre[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(np.argmin(distances, axis=1))


def _merge(assign: np.ndarray, centre: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """Bin indices of each colour, clusters whose centres are within MERGE_DELTA_E joined
    (heaviest first, each absorbing the lighter ones near it)."""
    members = [np.flatnonzero(assign == k) for k in range(len(centre))]
    order = sorted(range(len(centre)), key=lambda k: -float(weights[members[k]].sum()))
    groups: list[list[int]] = []
    for k in order:
        if len(members[k]) == 0:
            continue
        for group in groups:
            if float(((centre[group[0]] - centre[k]) ** 2).sum()) < MERGE_DELTA_E**2:
                group.append(k)
                break
        else:
            groups.append([k])
    return [np.concatenate([members[k] for k in group]) for group in groups]


def luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY))


def quality(grey: np.ndarray, laplacian: np.ndarray, mask: np.ndarray | None) -> RegionQuality:
    """Brightness, sharpness and contrast of ``grey`` where ``mask`` is set (everywhere: None)."""
    values = grey if mask is None else grey[mask]
    edges = laplacian if mask is None else laplacian[mask]
    y = values.astype(np.float64)
    return RegionQuality(
        brightness=float(y.mean()) * 100.0 / 255.0,
        sharpness=float(100.0 * (1.0 - np.exp(-float(edges.var()) / SHARPNESS_SCALE))),
        contrast=min(100.0, float(y.std()) * 100.0 / 127.5),
    )


def foreground_mask(rgb: np.ndarray) -> np.ndarray | None:
    """Where ``rgb`` is salient (frequency-tuned saliency above Otsu's threshold), or None when
    the image has no foreground/background split."""
    lab = _to_lab(cv2.GaussianBlur(rgb, (5, 5), 0)).reshape(rgb.shape[0], rgb.shape[1], 3)
    saliency = np.sqrt(((lab - lab.reshape(-1, 3).mean(axis=0)) ** 2).sum(axis=2))
    low, high = float(saliency.min()), float(saliency.max())
    if high - low < SALIENCY_SPREAD:
        return None
    scaled = np.rint(255.0 * (saliency - low) / (high - low)).astype(np.uint8)
    _, binary = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = binary > 0
    if mask.all() or not mask.any():
        return None
    return np.asarray(mask)


def _colour_pixels(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The pixels of ``rgb`` (on the colour copy) where ``mask`` (same size) is set."""
    return rgb.reshape(-1, 3) if mask is None else rgb[mask]


def analyse(image: DecodedImage, max_colors: int) -> ImageProperties:
    """Quality and dominant colours of the whole image, its foreground and its background."""
    working = _resize(image.pixels, WORKING_SIDE, enlarge=True)
    grey = luma(working)
    laplacian = cv2.Laplacian(grey, cv2.CV_64F)
    colour = _resize(working, COLOUR_SIDE, enlarge=False)
    mask = foreground_mask(working)
    whole = Region(
        quality(grey, laplacian, None), dominant_colors(colour.reshape(-1, 3), max_colors)
    )
    if mask is None:
        return ImageProperties(whole, None, None)
    small_mask = cv2.resize(
        mask.astype(np.uint8), colour.shape[1::-1], interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    regions = []
    for part, small in ((mask, small_mask), (~mask, ~small_mask)):
        pixels = _colour_pixels(colour, small) if small.any() else _colour_pixels(working, part)
        regions.append(Region(quality(grey, laplacian, part), dominant_colors(pixels, max_colors)))
    return ImageProperties(whole, regions[0], regions[1])


def box_colors(
    image: DecodedImage, boxes: Sequence[Box], max_colors: int
) -> list[tuple[DominantColor, ...]]:
    """The dominant colours inside each box (ratios of the image), on the colour copy."""
    colour = _resize(_resize(image.pixels, WORKING_SIDE, enlarge=True), COLOUR_SIDE, enlarge=False)
    height, width = colour.shape[:2]
    out = []
    for box in boxes:
        x0 = int(np.clip(np.floor(box.left * width), 0, width - 1))
        y0 = int(np.clip(np.floor(box.top * height), 0, height - 1))
        x1 = int(np.clip(np.ceil((box.left + box.width) * width), x0 + 1, width))
        y1 = int(np.clip(np.ceil((box.top + box.height) * height), y0 + 1, height))
        out.append(dominant_colors(colour[y0:y1, x0:x1].reshape(-1, 3), max_colors))
    return out
