"""The text reader (PP-OCRv6 small through rapidocr) on images whose text is known: drawn with
Pillow, turned upside down, stored rotated with an EXIF orientation, and the hand-labelled real
images of ``tests/vision/data/text-labels.json``."""

from __future__ import annotations

import importlib.metadata
import json
import socket
from pathlib import Path

import pytest
from PIL import Image

from agnosco.vision import text
from agnosco.vision.image import decode_image
from agnosco.vision.text import TextLine, TextReader
from tests.conftest import SHARED_DATA
from tests.text_images import draw_text, jpeg, png

LABELS = Path(__file__).parent / "data" / "text-labels.json"


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


def _pixels(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, ...]:
    left, top, w, h = box
    return (left * width, top * height, (left + w) * width, (top + h) * height)


def _same_place(found: tuple[float, ...], drawn: tuple[float, ...]) -> bool:
    """Whether a word found at ``found`` is the one drawn at ``drawn`` (pixel boxes): along
    the line their spans overlap by 70% of their union; across it, the found box (the line's
    height, taller than the font's box) holds the drawn one's centre."""
    overlap = min(found[2], drawn[2]) - max(found[0], drawn[0])
    union = max(found[2], drawn[2]) - min(found[0], drawn[0])
    return overlap / union >= 0.7 and found[1] <= (drawn[1] + drawn[3]) / 2 <= found[3]


def _word_box(line: TextLine, i: int, width: int, height: int) -> tuple[float, ...]:
    box = line.words[i].box
    return _pixels((box.left, box.top, box.width, box.height), width, height)


def test_lines_and_words_are_read_where_they_are_drawn(reader: TextReader) -> None:
    drawn = draw_text(["Hello world from Agnosco", "STOP 42 Main Street"])
    lines = reader.read(decode_image(png(drawn.image)))
    assert [line.text for line in lines] == drawn.lines
    width, height = drawn.image.size
    for line, boxes in zip(lines, drawn.boxes):
        assert [w.text for w in line.words] == line.text.split(" ")
        assert all(90 < w.confidence <= 100 for w in line.words)
        assert 90 < line.confidence <= 100
        for i, drawn_box in enumerate(boxes):
            # each word's box is where Pillow drew it (the font's box is tighter than ink)
            assert _same_place(_word_box(line, i, width, height), drawn_box)
        # words lie inside their line, left to right
        lb = line.box
        for word in line.words:
            wb = word.box
            assert lb.left - 0.01 <= wb.left and wb.left + wb.width <= lb.left + lb.width + 0.01
            assert lb.top - 0.02 <= wb.top and wb.top + wb.height <= lb.top + lb.height + 0.02
        lefts = [w.box.left for w in line.words]
        assert lefts == sorted(lefts)


def test_an_upside_down_image_is_read_upright_with_its_words_in_place(
    reader: TextReader,
) -> None:
    drawn = draw_text(["Hello world from Agnosco"], size=(900, 140))
    turned = drawn.image.rotate(180)
    [line] = reader.read(decode_image(png(turned)))
    assert line.text == "Hello world from Agnosco"
    width, height = turned.size
    for i, (x0, y0, x1, y1) in enumerate(drawn.boxes[0]):
        expected = (width - x1, height - y1, width - x0, height - y0)
        assert _same_place(_word_box(line, i, width, height), expected)
    # read in reading order, which runs right to left in the image
    lefts = [w.box.left for w in line.words]
    assert lefts == sorted(lefts, reverse=True)


def test_an_exif_rotated_photo_is_read_in_the_upright_image(reader: TextReader) -> None:
    drawn = draw_text(["EXIT 12", "Platform four"], size=(600, 260))
    stored = drawn.image.transpose(Image.Transpose.ROTATE_90)  # as a camera held sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    image = decode_image(jpeg(stored, exif=exif.tobytes()))
    assert (image.width, image.height) == drawn.image.size
    lines = reader.read(image)
    assert [line.text for line in lines] == drawn.lines
    width, height = drawn.image.size
    for line, boxes in zip(lines, drawn.boxes):
        for i, drawn_box in enumerate(boxes):
            assert _same_place(_word_box(line, i, width, height), drawn_box)


def test_a_small_scan_is_enlarged_for_the_detector(reader: TextReader) -> None:
    # 12 px text, lines 20 px apart: shrunk or left small, the detector merges the lines
    drawn = draw_text(
        ["the first line of small text", "and a second one under it", "then a third"],
        size=(320, 110),
        font_size=13,
        origin=(8, 10),
        spacing=1.6,
    )
    lines = reader.read(decode_image(png(drawn.image)))
    assert [line.text for line in lines] == drawn.lines


def test_an_image_without_text_has_no_lines(reader: TextReader) -> None:
    blank = Image.new("RGB", (400, 300), (180, 200, 220))
    assert reader.read(decode_image(png(blank))) == []


def test_the_models_are_the_wheels_and_load_without_a_network(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dist = importlib.metadata.distribution(text.WHEEL)
    assert dist.version == text.WHEEL_VERSION
    root = Path(str(dist.locate_file("rapidocr/models")))
    paths = text.model_paths()
    assert {p.parent for p in paths.values()} == {root}
    params = text.engine_params(paths)
    assert {params[f"{s}.model_path"] for s in text.MODEL_FILES} == {str(p) for p in paths.values()}

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the text models tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    engine = text._load()  # a fresh engine, not the registry's: every session opened here
    sessions = [engine.text_det.session, engine.text_cls.session, engine.text_rec.session]
    for session in sessions:  # ours, opened from the wheel's files, without spinning threads
        options = session.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_only_one_opencv_is_installed() -> None:
    """rapidocr asks for opencv-python-headless; it is installed without it (pyproject.toml)."""
    installed = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    opencvs = installed & {
        "opencv-python",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    }
    assert opencvs == {"opencv-python"}


# hand-labelled real images -----------------------------------------------------------------


def labelled_images() -> list[dict[str, object]]:
    return list(json.loads(LABELS.read_text())["images"])


def word_accuracy(expected: list[str], read: list[str]) -> tuple[int, int, int]:
    """(words labelled, words read, labelled words read exactly), each word matched once."""
    left = list(read)
    found = 0
    for word in expected:
        if word in left:
            left.remove(word)
            found += 1
    return len(expected), len(read), found


@pytest.mark.slow
@pytest.mark.parametrize("label", labelled_images(), ids=lambda label: str(label["file"]))
def test_the_labelled_words_are_read(reader: TextReader, label: dict) -> None:  # type: ignore[type-arg]
    path = SHARED_DATA / label["file"]
    if not path.is_file():
        pytest.skip(f"{path} is absent: the labelled images are in ../shared/data")
    lines = reader.read(decode_image(path.read_bytes()))
    # as DetectText returns them by default: words of confidence 80 or more
    words = [w.text for line in lines for w in line.words if w.confidence >= 80]
    expected = [w for line in label["lines"] for w in line.split()]
    labelled, read, found = word_accuracy(expected, words)
    assert found / labelled >= label["min_recall"], (words, expected)
    assert (read - found) <= label["max_extra_words"], words
