"""QualityFilter: the bars of each level on synthetic faces, and on real portraits shrunk,
blurred and pasted into a family-photo-sized canvas (``docs/quality-filter.md``)."""

from __future__ import annotations

import io
import itertools
import math
import random
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from agnosco.operations import OperationContext, compare_faces, invoke
from agnosco.operations.quality_filter import (
    BARS,
    SHARPNESS_REFERENCE_BRIGHTNESS,
    QualityBar,
    blur_sharpness,
    filter_reasons,
)
from agnosco.vision.geometry import Box
from agnosco.vision.image import decode_image
from agnosco.vision.pipeline import FaceAnalysis
from agnosco.vision.pose import Pose
from agnosco.vision.quality import Quality

LEVELS = ("LOW", "MEDIUM", "HIGH")
SIDE = 1000  # synthetic faces live in a SIDE x SIDE image: a box ratio r is r * SIDE px


def synthetic(
    *,
    side: float = 120.0,
    confidence: float = 99.9,
    brightness: float = 50.0,
    sharpness: float = 60.0,
    yaw: float = 0.0,
    pitch: float = 0.0,
    long_side: float | None = None,
) -> FaceAnalysis:
    """A face with the given measures (box sides in px of a SIDE x SIDE image)."""
    return FaceAnalysis(
        box=Box(0.3, 0.3, side / SIDE, (long_side or side * 1.2) / SIDE),
        confidence=confidence,
        landmarks={},
        pose=Pose(roll=0.0, yaw=yaw, pitch=pitch),
        quality=Quality(brightness=brightness, sharpness=sharpness),
        attributes=None,
    )


def reasons(face: FaceAnalysis, level: str) -> list[str]:
    return filter_reasons(face, level, SIDE, SIDE)


# --- the bars, on both sides ---------------------------------------------------------------


def _cases() -> list[tuple[str, str, dict, dict, str]]:
    """(level, measure, passing face, failing face, reason) for every bar of every level."""
    out = []
    for level in LEVELS:
        b = BARS[level]
        eps = 0.5
        out += [
            (
                level,
                "confidence",
                {"confidence": b.confidence},
                {"confidence": b.confidence - eps},
                "LOW_CONFIDENCE",
            ),
            (
                level,
                "box width",
                {"side": b.min_side_px},
                {"side": b.min_side_px - eps},
                "SMALL_BOUNDING_BOX",
            ),
            (
                level,
                "box height",
                {"side": 200.0, "long_side": b.min_side_px},
                {"side": 200.0, "long_side": b.min_side_px - eps},
                "SMALL_BOUNDING_BOX",
            ),
            (
                level,
                "brightness",
                {"brightness": b.brightness},
                {"brightness": b.brightness - eps},
                "LOW_BRIGHTNESS",
            ),
            (
                level,
                "over-exposure",
                {"brightness": b.max_brightness},
                {"brightness": b.max_brightness + eps},
                "LOW_FACE_QUALITY",
            ),
            (
                level,
                "sharpness",
                {"sharpness": b.sharpness},
                {"sharpness": b.sharpness - eps},
                "LOW_SHARPNESS",
            ),
            (level, "yaw right", {"yaw": b.max_yaw}, {"yaw": b.max_yaw + eps}, "EXTREME_POSE"),
            (level, "yaw left", {"yaw": -b.max_yaw}, {"yaw": -b.max_yaw - eps}, "EXTREME_POSE"),
            (
                level,
                "pitch up",
                {"pitch": b.max_pitch_up},
                {"pitch": b.max_pitch_up + eps},
                "EXTREME_POSE",
            ),
            (
                level,
                "pitch down",
                {"pitch": -b.max_pitch_down},
                {"pitch": -b.max_pitch_down - eps},
                "EXTREME_POSE",
            ),
        ]
    # a confidence bar of 0 has no failing side
    return [c for c in out if not (c[1] == "confidence" and c[3]["confidence"] < 0)]


@pytest.mark.parametrize(
    ("level", "measure", "passing", "failing", "reason"),
    _cases(),
    ids=[f"{c[0]}-{c[1]}" for c in _cases()],
)
def test_each_bar_on_both_sides(level, measure, passing, failing, reason):
    assert reasons(synthetic(**passing), level) == []
    assert reasons(synthetic(**failing), level) == [reason]


def test_a_clean_face_passes_every_level():
    for level in ("NONE", "AUTO", *LEVELS):
        assert reasons(synthetic(), level) == []


def test_none_keeps_even_a_hopeless_face():
    hopeless = synthetic(side=5, confidence=1, brightness=0.5, sharpness=0.1, yaw=90, pitch=-80)
    assert reasons(hopeless, "NONE") == []
    expected = {"SMALL_BOUNDING_BOX", "LOW_BRIGHTNESS", "LOW_SHARPNESS", "EXTREME_POSE"}
    if BARS["HIGH"].confidence > 1:
        expected.add("LOW_CONFIDENCE")
    assert set(reasons(hopeless, "HIGH")) == expected


def test_auto_is_medium():
    assert BARS["AUTO"] == BARS["MEDIUM"]


def test_every_reason_is_one_the_model_allows():
    from agnosco.spec import shape

    allowed = set(shape("Reason").enum)
    face = synthetic(side=1, confidence=0, brightness=0, sharpness=0, yaw=179, pitch=-179)
    assert set(reasons(face, "HIGH")) <= allowed
    assert set(reasons(synthetic(brightness=100), "LOW")) <= allowed


def test_levels_nest_low_medium_high():
    """A face that fails a level fails every stricter one; each bar is at least as strict."""
    order = [BARS[level] for level in LEVELS]
    for looser, stricter in itertools.pairwise(order):
        for f in fields(QualityBar):
            a, b = getattr(looser, f.name), getattr(stricter, f.name)
            assert (b <= a) if f.name.startswith("max") else (b >= a), f.name
    rng = random.Random(7)
    for _ in range(2000):
        face = synthetic(
            side=rng.uniform(5, 80),
            confidence=rng.uniform(50, 100),
            brightness=rng.uniform(0, 100),
            sharpness=rng.uniform(0, 100),
            yaw=rng.uniform(-90, 90),
            pitch=rng.uniform(-60, 60),
        )
        low, medium, high = (set(reasons(face, level)) for level in LEVELS)
        assert low <= medium <= high


# --- what AUTO must keep (the requirement, independent of the table's numbers) --------------


@pytest.mark.parametrize("side", [32, 40, 48, 60])
def test_auto_keeps_clear_faces_of_a_family_photo(side):
    """Faces 40-60 px tall (32-48 px box short side) in a ~1300 px photo, sharp and lit."""
    face = synthetic(
        side=side, long_side=side * 1.25, confidence=97.0, sharpness=40.0, brightness=35.0
    )
    assert reasons(face, "AUTO") == []


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (30, 0), (-45, 0), (45, 20), (0, -30), (0, 35)])
def test_auto_keeps_frontal_to_moderately_turned_faces(yaw, pitch):
    assert reasons(synthetic(yaw=yaw, pitch=pitch), "AUTO") == []


@pytest.mark.parametrize("brightness", [15.0, 20.0, 30.0, 70.0, 75.0])
def test_auto_keeps_dim_and_bright_but_usable_faces(brightness):
    assert reasons(synthetic(brightness=brightness), "AUTO") == []


def test_auto_drops_what_the_measurements_say_fails():
    assert "SMALL_BOUNDING_BOX" in reasons(synthetic(side=12), "AUTO")
    assert "LOW_SHARPNESS" in reasons(synthetic(sharpness=5.0), "AUTO")
    assert "LOW_BRIGHTNESS" in reasons(synthetic(brightness=2.0), "AUTO")
    assert "LOW_FACE_QUALITY" in reasons(synthetic(brightness=97.0), "AUTO")
    assert "EXTREME_POSE" in reasons(synthetic(yaw=80.0), "AUTO")


# --- Sharpness of dim faces ----------------------------------------------------------------


def _sharpness(variance: float) -> float:
    return 100.0 * (1.0 - math.exp(-variance / 200.0))  # agnosco.vision.quality's mapping


def test_blur_sharpness_is_the_reported_sharpness_for_faces_lit_enough():
    for brightness in (SHARPNESS_REFERENCE_BRIGHTNESS, 55.0, 90.0):
        assert blur_sharpness(Quality(brightness, 37.0)) == 37.0


@pytest.mark.parametrize("k", [0.8, 0.5, 0.3])
def test_a_dim_face_is_judged_as_sharp_as_the_same_face_lit(k):
    """Scaling pixels by k scales the Laplacian's variance by k^2 and Brightness by k."""
    variance, brightness = 300.0, SHARPNESS_REFERENCE_BRIGHTNESS
    dim = Quality(brightness * k, _sharpness(variance * k * k))
    assert blur_sharpness(dim) == pytest.approx(_sharpness(variance), abs=0.01)
    assert "LOW_SHARPNESS" not in reasons(
        synthetic(brightness=dim.brightness, sharpness=dim.sharpness), "AUTO"
    )


def test_a_dim_blurred_face_is_still_low_sharpness():
    dim_blurred = Quality(15.0, _sharpness(5.0 * 0.375**2))  # variance 5 at Brightness 40
    assert blur_sharpness(dim_blurred) < BARS["AUTO"].sharpness
    face = synthetic(brightness=dim_blurred.brightness, sharpness=dim_blurred.sharpness)
    assert "LOW_SHARPNESS" in reasons(face, "AUTO")


# --- real images ------------------------------------------------------------------------------


def _png(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _nearest(
    faces: list[FaceAnalysis], width: int, height: int, x: float, y: float, within: float
) -> FaceAnalysis | None:
    def distance(f: FaceAnalysis) -> float:
        return math.hypot(
            (f.box.left + f.box.width / 2) * width - x, (f.box.top + f.box.height / 2) * height - y
        )

    near = [f for f in faces if distance(f) <= within]
    return min(near, key=distance) if near else None


@pytest.fixture(scope="module")
def portraits(analyzer, deepface_images: Path):
    """Three clear portraits of different people: pixels and their face, decoded once."""
    out = {}
    for name in ("img3.jpg", "img13.jpg", "img18.jpg"):
        image = decode_image((deepface_images / name).read_bytes())
        faces = analyzer.analyze(image)
        assert faces, name
        out[name] = (image.pixels, faces[0])
    return out


def _shrunk(
    pixels: np.ndarray, face: FaceAnalysis, face_height: float
) -> tuple[np.ndarray, float, float]:
    """The portrait scaled so its face box is ``face_height`` px tall, cropped to head and
    shoulders; and the face centre in the crop."""
    height, width = pixels.shape[:2]
    factor = face_height / (face.box.height * height)
    small = cv2.resize(
        pixels, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA
    )
    cx = (face.box.left + face.box.width / 2) * width * factor
    cy = (face.box.top + face.box.height / 2) * height * factor
    x0, y0 = int(max(0, cx - 1.8 * face_height)), int(max(0, cy - 1.6 * face_height))
    crop = small[y0 : int(cy + 3 * face_height), x0 : int(cx + 1.8 * face_height)]
    return crop, cx - x0, cy - y0


@pytest.fixture(scope="module")
def family_photo(portraits, shared_data: Path):
    """A 1300 x 866 JPEG of the three portraits, faces 45-60 px tall, on a meadow, and where
    each face was put."""
    meadow = shared_data / "no-faces" / "images" / "meadow_view_a.jpg"
    if not meadow.exists():
        pytest.skip(f"{meadow} is absent (shared no-faces data)")
    canvas = np.asarray(Image.open(meadow).convert("RGB").resize((1300, 866))).copy()
    placed = []
    for k, (name, tall) in enumerate(zip(portraits, (60.0, 52.0, 45.0))):
        crop, fx, fy = _shrunk(*portraits[name], tall)
        x0, y0 = 180 + 400 * k, 300
        canvas[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
        placed.append((name, x0 + fx, y0 + fy, tall))
    return _png(canvas, "JPEG"), placed


def test_auto_keeps_every_clear_face_of_a_family_photo(analyzer, family_photo):
    data, placed = family_photo
    image = decode_image(data)
    faces = analyzer.analyze(image)
    for name, x, y, tall in placed:
        face = _nearest(faces, image.width, image.height, x, y, within=tall / 2)
        assert face is not None, f"{name} not detected"
        box_height = face.box.height * image.height
        assert 0.7 * tall <= box_height <= 1.3 * tall, (name, box_height)
        assert filter_reasons(face, "AUTO", image.width, image.height) == [], (name, face)


def test_index_faces_auto_indexes_the_family_photo(face_context, family_photo, tmp_path):
    from agnosco.storage import open_store

    data, placed = family_photo
    store = open_store(None, tmp_path)
    try:
        context = OperationContext(
            analyzer=face_context.analyzer, calibration=face_context.calibration, store=store
        )
        invoke("CreateCollection", {"CollectionId": "family"}, context)
        response = invoke(
            "IndexFaces", {"CollectionId": "family", "Image": {"Bytes": data}}, context
        )
    finally:
        store.close()
    assert len(response["FaceRecords"]) >= len(placed)
    assert response["UnindexedFaces"] == [], response["UnindexedFaces"]


def test_compare_faces_auto_compares_the_family_photo(face_context, family_photo, deepface_images):
    data, placed = family_photo
    request = {
        "SourceImage": {"Bytes": (deepface_images / "img13.jpg").read_bytes()},
        "TargetImage": {"Bytes": data},
        "QualityFilter": "AUTO",
    }
    response = compare_faces(request, face_context)
    assert len(response["FaceMatches"]) + len(response["UnmatchedFaces"]) >= len(placed)
    assert len(response["FaceMatches"]) == 1  # img13's person, shrunk to 52 px, still matches


def test_a_heavily_blurred_face_is_low_sharpness(analyzer, portraits):
    pixels, face = portraits["img13.jpg"]
    # the face about 128 px wide (the width Sharpness is measured at), then a 4 px Gaussian:
    # well past where genuine pairs stop matching (docs/quality-filter.md, blur table)
    crop, _, _ = _shrunk(
        pixels, face, 128 / face.box.width * face.box.height * pixels.shape[0] / pixels.shape[1]
    )
    blurred = cv2.GaussianBlur(np.ascontiguousarray(crop), (0, 0), 4.0)
    image = decode_image(_png(blurred))
    faces = analyzer.analyze(image)
    assert faces, "the blurred face is still detected"
    assert "LOW_SHARPNESS" in filter_reasons(faces[0], "AUTO", image.width, image.height)
    sharp = decode_image(_png(np.ascontiguousarray(crop)))
    assert "LOW_SHARPNESS" not in filter_reasons(
        analyzer.analyze(sharp)[0], "AUTO", sharp.width, sharp.height
    )


def test_a_dim_but_sharp_face_is_kept(analyzer, portraits):
    """A portrait darkened to a third: its reported Sharpness collapses, it still matches."""
    pixels, face = portraits["img3.jpg"]
    crop, _, _ = _shrunk(pixels, face, 160.0)
    dim = np.clip(np.rint(crop.astype(np.float32) * 0.3), 0, 255).astype(np.uint8)
    image = decode_image(_png(dim))
    found = analyzer.analyze(image)
    assert found
    assert found[0].quality.brightness < 25
    assert filter_reasons(found[0], "AUTO", image.width, image.height) == []


def test_a_tiny_face_is_small_bounding_box(analyzer, portraits):
    """A portrait shrunk until its face is ~12-18 px, on a plain 200 px canvas (the detector
    finds faces from ~14 px)."""
    pixels, face = portraits["img18.jpg"]
    found = []
    for side in (12, 13, 14, 15, 16, 17, 18):
        tall = side * face.box.height / face.box.width * pixels.shape[0] / pixels.shape[1]
        crop, fx, fy = _shrunk(pixels, face, tall)
        canvas = np.full((200, 200, 3), 128, np.uint8)
        y0, x0 = (200 - crop.shape[0]) // 2, (200 - crop.shape[1]) // 2
        canvas[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
        image = decode_image(_png(canvas))
        tiny = _nearest(analyzer.analyze(image), 200, 200, x0 + fx, y0 + fy, within=side)
        if tiny is not None:
            found.append((side, tiny))
    assert found, "the detector finds the face at one of 12-18 px"
    for side, tiny in found:
        assert min(tiny.box.width, tiny.box.height) * 200 <= 19, side
        for level in ("AUTO", "MEDIUM", "HIGH"):
            assert "SMALL_BOUNDING_BOX" in filter_reasons(tiny, level, 200, 200), (side, level)


# --- the family photo, for every race group of UTKFace ---------------------------------------

UTK_RACES = ("Asian", "Black", "Indian", "Others", "White")


@pytest.fixture(scope="module")
def utk_adults(analyzer, shared_data: Path) -> dict[str, list[tuple[np.ndarray, FaceAnalysis]]]:
    """Per race group, the first three adult (20-59) UTKFace chips, in file order, whose face
    AUTO keeps at the chip's own size: clear faces, to be seen again from 3-5 m."""
    import csv

    root = shared_data / "demographics-utkface"
    with open(root / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if 20 <= int(r["age"]) <= 59]
    out: dict[str, list[tuple[np.ndarray, FaceAnalysis]]] = {race: [] for race in UTK_RACES}
    for row in sorted(rows, key=lambda r: r["file"]):
        chosen = out[row["race"]]
        if len(chosen) == 3:
            continue
        image = decode_image((root / row["file"]).read_bytes())
        faces = analyzer.analyze(image)
        if faces and filter_reasons(faces[0], "AUTO", image.width, image.height) == []:
            chosen.append((image.pixels, faces[0]))
    assert all(len(v) == 3 for v in out.values()), {k: len(v) for k, v in out.items()}
    return out


@pytest.mark.parametrize("race", UTK_RACES)
def test_index_faces_auto_keeps_a_family_at_3_to_5_m_of_every_race_group(
    face_context, utk_adults, shared_data, race, tmp_path
):
    from agnosco.storage import open_store

    meadow = shared_data / "no-faces" / "images" / "meadow_view_a.jpg"
    canvas = np.asarray(Image.open(meadow).convert("RGB").resize((1300, 866))).copy()
    for k, ((pixels, face), tall) in enumerate(zip(utk_adults[race], (60.0, 52.0, 45.0))):
        crop, _, _ = _shrunk(pixels, face, tall)
        x0, y0 = 180 + 400 * k, 300
        canvas[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
    store = open_store(None, tmp_path)
    try:
        context = OperationContext(
            analyzer=face_context.analyzer, calibration=face_context.calibration, store=store
        )
        invoke("CreateCollection", {"CollectionId": "family"}, context)
        response = invoke(
            "IndexFaces",
            {"CollectionId": "family", "Image": {"Bytes": _png(canvas, "JPEG")}},
            context,
        )
    finally:
        store.close()
    assert len(response["FaceRecords"]) == 3, response["UnindexedFaces"]
    assert response["UnindexedFaces"] == []


def test_the_documented_table_is_the_bars():
    """The module docstring's table is what BARS holds, so the documentation cannot drift."""
    import agnosco.operations.quality_filter as module

    rows = {}
    for line in (module.__doc__ or "").splitlines():
        cells = line.split()
        if len(cells) >= 5 and cells[-1].isupper() and "_" in cells[-1]:
            rows[" ".join(cells[:-4])] = cells[-4:-1]

    def bar_values(level: str) -> list[str]:
        b = BARS[level]
        return [
            f"{b.confidence:g}",
            f"{b.min_side_px:g}",
            f"{b.brightness:g}",
            f"{b.max_brightness:g}",
            f"{b.sharpness:g}",
            f"{b.max_yaw:g}",
            f"{b.max_pitch_up:g}/{b.max_pitch_down:g}",
        ]

    documented = list(rows.values())
    assert len(documented) == 7, rows
    for column, level in enumerate(("LOW", "MEDIUM", "HIGH")):
        assert [row[column] for row in documented] == bar_values(level), level
