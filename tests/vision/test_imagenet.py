"""General labels: torchvision's MobileNetV2 as Agnosco runs it (read without torch, an ONNX graph
on onnxruntime), the WordNet table that names its classes, and ImageNetLabels on real images."""

from __future__ import annotations

import io
import json
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agnosco.errors import InvalidImageFormatException
from agnosco.vision import imagenet
from agnosco.vision.image import DecodedImage, decode_image, sniff_format
from agnosco.vision.imagenet import FLOOR_PERCENT, ImageNetLabels, labels_from_probabilities
from agnosco.vision.labels import Label, LabelSource
from agnosco.vision.models import MODELS
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).parent / "data" / "imagenet-reference.json"
SYNSETS = ROOT / "tools" / "data" / "imagenet-1k-synsets.txt"
DATA_NOUN = Path("/usr/share/wordnet/data.noun")
#: The categories the table may use: Rekognition's names (tools/imagenet_labels.py).
REKOGNITION_CATEGORIES = {
    "Animals and Pets", "Apparel and Accessories", "Beauty and Personal Care",
    "Buildings and Architecture", "Everyday Objects", "Food and Beverage",
    "Furniture and Furnishings", "Hobbies and Interests", "Home Appliances", "Kitchen and Dining",
    "Materials", "Medical", "Nature and Outdoors", "Person Description", "Plants and Flowers",
    "Sports", "Symbols and Flags", "Technology and Computing", "Text and Documents",
    "Tools and Machinery", "Toys and Gaming", "Transport and Logistics", "Vehicles and Automotive",
    "Weapons and Military",
}  # fmt: skip


def shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(
            f"../shared/data is absent: {path} does not exist; these tests need the shared "
            "real-image data sets next to the repository (see the READMEs there)."
        )
    return path


def decoded(name: str) -> DecodedImage:
    return decode_image(shared(name).read_bytes(), max_bytes=15 * 2**20)


def by_name(labels: list[Label]) -> dict[str, Label]:
    return {label.name: label for label in labels}


@pytest.fixture(scope="module")
def source() -> ImageNetLabels:
    return ImageNetLabels()


# -- the network -----------------------------------------------------------------------------


def test_the_onnx_graph_gives_torchs_logits_on_shared_images() -> None:
    """The fixture is torch's answer for torchvision's network on the same weights and input
    (tools/check_imagenet_graph.py); the graph built here must give the same top 5, in order,
    with the same logits."""
    reference = json.loads(REFERENCE.read_text())["images"]
    assert len(reference) >= 4
    for case in reference:
        pixels = np.asarray(Image.open(shared(case["image"])).convert("RGB"))
        got = imagenet.logits(pixels)
        assert got.shape == (1000,)
        top = np.argsort(-got)[:5]
        assert [int(i) for i in top] == case["top5"], case["image"]
        np.testing.assert_allclose(got[top], case["logits"], atol=1e-3)


def test_the_input_is_torchvisions_resize_and_centre_crop() -> None:
    """One resize of the crop's box gives the pixels of Resize(256) then CenterCrop(224)
    (to a level of rounding), for landscape, portrait and square images."""
    rng = np.random.default_rng(7)
    for height, width in [(300, 451), (613, 200), (256, 256), (97, 130)]:
        # a smooth image: resampling noise would hide a misplaced crop
        y, x = np.mgrid[0:height, 0:width]
        pixels = np.stack(
            [(x * 255 // width), (y * 255 // height), ((x + y) * 127 // (width + height))], -1
        ).astype(np.uint8)
        pixels = np.clip(pixels + rng.integers(0, 3, pixels.shape), 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels)
        size = (
            (256, int(256 * height / width))
            if width <= height
            else (int(256 * width / height), 256)
        )
        resized = image.resize(size, Image.Resampling.BILINEAR)
        left, top = round((size[0] - 224) / 2.0), round((size[1] - 224) / 2.0)
        crop = np.asarray(resized.crop((left, top, left + 224, top + 224)), dtype=np.float32)
        expected = ((crop / 255.0 - imagenet.MEAN) / imagenet.STD).transpose(2, 0, 1)[None]
        got = imagenet.preprocess(pixels)
        assert got.shape == (1, 3, 224, 224) and got.dtype == np.float32
        # one 8-bit level of difference is 1/255/0.225 = 0.0174 after normalising
        assert float(np.mean(np.abs(got - expected))) < 0.01
        assert float(np.max(np.abs(got - expected))) < 0.1


def _legacy_file(state: object) -> bytes:
    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(obj, out, protocol=2)
    pickle.dump(state, out, protocol=2)
    pickle.dump([], out, protocol=2)
    return out.getvalue()


class _Shell:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("true",))


def test_the_weights_reader_builds_nothing_but_tensors(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.pth"
    hostile.write_bytes(_legacy_file(OrderedDict(x=_Shell())))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        imagenet.read_torch_weights(hostile)
    not_torch = tmp_path / "other.pth"
    not_torch.write_bytes(pickle.dumps(42) + b"junk")
    with pytest.raises(ValueError, match="not a legacy torch file"):
        imagenet.read_torch_weights(not_torch)


def test_the_wheels_weights_are_torchvisions_mobilenet_v2() -> None:
    state = imagenet.read_torch_weights(imagenet.weights_path())
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert all(
        a.dtype == (np.int64 if name.endswith("num_batches_tracked") else np.float32)
        for name, a in state.items()
    )
    truncated = dict(state)
    del truncated["features.5.conv.1.0.weight"]
    with pytest.raises(ValueError, match="missing"):
        imagenet.build_graph(truncated)
    with pytest.raises(ValueError, match="left over"):
        imagenet.build_graph({**state, "extra.weight": np.zeros(1, np.float32)})


def test_the_model_is_registered_once_and_loads_once(source: ImageNetLabels) -> None:
    names = [n for n in MODELS.names() if n.startswith("mobilenet-v2-imagenet")]
    assert len(names) == 1
    model = MODELS[names[0]]
    assert model is imagenet._MODEL
    source.labels(DecodedImage(np.full((120, 160, 3), 128, np.uint8), 160, 120, "PNG"))
    first = model.get()
    ImageNetLabels().labels(DecodedImage(np.zeros((90, 90, 3), np.uint8), 90, 90, "PNG"))
    assert model.get() is first and names[0] in MODELS.loaded()


# -- the table -------------------------------------------------------------------------------


def test_the_table_names_every_class_once_with_parents_that_are_labels() -> None:
    table = json.loads(imagenet.TABLE.read_text())
    classes, labels = table["classes"], table["labels"]
    listed = [line.split()[0] for line in SYNSETS.read_text().splitlines() if line[:1] == "n"]
    assert classes == listed and len(classes) == 1000 and classes == sorted(set(classes))
    names = [label["name"] for label in labels]
    assert len(names) == len(set(names))  # each name once
    known = set(names)
    for label in labels:
        assert label["name"] and label["name"] not in label["aliases"]
        assert set(label["parents"]) <= known and label["name"] not in label["parents"]
        assert len(label["parents"]) == len(set(label["parents"]))
        assert label["categories"] and set(label["categories"]) <= REKOGNITION_CATEGORIES
    for label in labels[:1000]:  # a class's parents hold its nearest parent's own parents
        if label["parents"]:
            nearest = labels[names.index(label["parents"][0])]
            if len(nearest["wnids"]) == 1:  # (a name of several synsets has all their parents)
                assert set(nearest["parents"]) <= set(label["parents"])
    by_label = {label["name"]: label for label in labels}
    assert by_label["Golden Retriever"]["parents"][:4] == [
        "Retriever", "Sporting Dog", "Hunting Dog", "Dog"
    ]  # fmt: skip
    assert {"Dog", "Mammal", "Animal"} <= set(by_label["Golden Retriever"]["parents"])
    assert by_label["Golden Retriever"]["categories"] == ["Animals and Pets"]
    assert by_label["Espresso"]["categories"] == ["Food and Beverage"]
    assert "Vehicle" in by_label["Moped"]["parents"]
    assert by_label["Moped"]["categories"] == ["Vehicles and Automotive"]
    # over-abstract roots are never labels; WordNet's two crane classes stay apart
    assert not known & {"Entity", "Physical Entity", "Object", "Whole", "Artifact", "Organism"}
    assert {"Crane (Wading Bird)", "Crane (Lifting Device)"} <= known
    # no scientific names as aliases ("Tinca tinca")
    assert by_label["Tench"]["aliases"] == []


def test_the_classes_that_name_people_are_named_as_wordnet_names_them() -> None:
    """ImageNet has three classes of people, each named for what the person does: WordNet's
    words, nothing inferred about them; no label of the table names a gender or an age."""
    table = {label["name"]: label for label in json.loads(imagenet.TABLE.read_text())["labels"]}
    people = {n for n, label in table.items() if "Person" in label["parents"] and n in table}
    classes = set(list(table)[:1000]) & people
    assert classes == {"Ballplayer", "Groom", "Scuba Diver"}
    assert table["Groom"]["aliases"] == ["Bridegroom"]
    for name in classes:
        assert table[name]["categories"] == ["Person Description"]
    gendered = {"Man", "Woman", "Male", "Female", "Boy", "Girl", "Adult", "Child", "Baby"}
    assert not gendered & set(table)
    assert not any(gendered & set(label["parents"]) for label in table.values())


def test_a_class_naming_a_persons_gender_is_never_reported() -> None:
    """``Groom`` names a man by his role: withheld, and not counted in its parents either."""
    table = imagenet.taxonomy()
    groom = table.names.index("Groom")
    probabilities = np.zeros(len(table.wnids), dtype=np.float32)
    probabilities[groom] = 0.9
    probabilities[table.names.index("Ballplayer")] = 0.1
    labels = {
        label.name: label.confidence
        for label in imagenet.labels_from_probabilities(probabilities, table)
    }
    assert "Groom" not in labels
    assert labels["Ballplayer"] == pytest.approx(10.0, abs=1e-3)
    assert labels["Person"] == pytest.approx(10.0, abs=1e-3)  # the ballplayer's alone


@pytest.mark.skipif(
    not DATA_NOUN.is_file(),
    reason="Debian's wordnet-base is not installed (/usr/share/wordnet/data.noun): the table "
    "cannot be regenerated here; its invariants are checked by the tests above",
)
def test_the_table_is_what_the_generator_writes_from_wordnet() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import imagenet_labels
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert imagenet.TABLE.read_text(encoding="utf-8") == imagenet_labels.render(
        imagenet_labels.generate(DATA_NOUN, SYNSETS)
    )


# -- labels ----------------------------------------------------------------------------------


def test_a_parent_is_as_confident_as_the_classes_beneath_it_together() -> None:
    table = imagenet.taxonomy()
    p = np.zeros(1000)
    golden = table.wnids.index("n02099601")
    labrador = table.wnids.index("n02099712")
    espresso = table.wnids.index("n07920052")
    p[golden], p[labrador], p[espresso] = 0.45, 0.35, 0.004
    p[0] = 1.0 - p.sum()  # the rest on the tench
    labels = by_name(labels_from_probabilities(p, table))
    assert labels["Golden Retriever"].confidence == pytest.approx(45.0)
    assert labels["Labrador Retriever"].confidence == pytest.approx(35.0)
    assert labels["Retriever"].confidence == pytest.approx(80.0)
    assert labels["Dog"].confidence == pytest.approx(80.0)
    # the tench is an animal too: each class counted once, however many paths lead up
    assert labels["Animal"].confidence == pytest.approx(100 * (1.0 - p[espresso]))
    assert "Espresso" not in labels and "Coffee" not in labels  # under the floor
    assert min(label.confidence for label in labels.values()) >= FLOOR_PERCENT
    for label in labels.values():
        assert label.instances == () and 0 <= label.confidence <= 100
        for parent in label.parents:
            assert labels[parent].confidence >= label.confidence - 1e-9
    assert labels["Golden Retriever"].parents[0] == "Retriever"
    assert labels["Golden Retriever"].categories == ("Animals and Pets",)


def test_it_is_a_label_source(source: ImageNetLabels) -> None:
    assert isinstance(source, ImageNetLabels)
    typed: LabelSource = source
    labels = typed.labels(DecodedImage(np.full((100, 100, 3), 200, np.uint8), 100, 100, "PNG"))
    assert all(isinstance(label, Label) for label in labels)


def test_an_espresso_is_an_espresso_a_beverage_and_food(source: ImageNetLabels) -> None:
    labels = by_name(source.labels(decoded("no-faces/images/coffee.png")))
    assert labels["Espresso"].confidence > 90
    for parent in ("Coffee", "Beverage", "Food"):
        assert labels[parent].confidence >= labels["Espresso"].confidence
        assert parent in labels["Espresso"].parents
    assert labels["Espresso"].categories == ("Food and Beverage",)
    classes = set(imagenet.taxonomy().names[:1000])
    assert (
        max((n for n in labels if n in classes), key=lambda n: labels[n].confidence) == "Espresso"
    )
    assert labels.get("Animal", Label("Animal", 0.0)).confidence < 5


def test_a_motorcycle_is_a_vehicle(source: ImageNetLabels) -> None:
    labels = by_name(source.labels(decoded("no-faces/images/motorcycle_left.png")))
    assert labels["Vehicle"].confidence > 90 and labels["Motor Vehicle"].confidence > 50
    assert labels["Vehicle"].categories == ("Vehicles and Automotive",)
    assert "Container" not in labels  # WordNet's wheeled vehicle -> container link is cut


@pytest.mark.slow
def test_photos_of_people_are_seldom_labelled_animals(source: ImageNetLabels) -> None:
    """ImageNet has no class for a person, and its photos of tench are mostly of anglers
    holding one: a portrait is sometimes a "Tench" (docs/analysis.md).  Over deepface's
    portraits, Animal stays low for nearly all."""
    folder = shared("deepface-pairs/images")
    animal = []
    for path in sorted(folder.glob("img*.jpg")):
        data = path.read_bytes()
        if sniff_format(data) not in ("JPEG", "PNG"):
            continue  # a few of deepface's .jpg files are WebP, which Rekognition refuses
        labels = by_name(source.labels(decode_image(data)))
        animal.append(labels["Animal"].confidence if "Animal" in labels else 0.0)
    assert len(animal) >= 50
    assert float(np.median(animal)) < 10
    assert sum(a >= 55 for a in animal) <= 0.05 * len(animal)


@pytest.mark.parametrize(
    ("height", "width", "value"),
    [(1, 1, 0), (100, 100, 128), (80, 4000, 255), (5000, 80, 30), (300, 200, None)],
)
def test_odd_images_give_labels_without_error(
    source: ImageNetLabels, height: int, width: int, value: int | None
) -> None:
    """Grey, one pixel, extreme aspect ratios, noise: every image gives a well-formed answer."""
    if value is None:
        pixels = np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        pixels = np.full((height, width, 3), value, np.uint8)
    labels = source.labels(DecodedImage(pixels, width, height, "PNG"))
    assert labels  # the probabilities sum to 1: something is always above the floor
    names = [label.name for label in labels]
    assert len(names) == len(set(names))
    assert all(FLOOR_PERCENT <= label.confidence <= 100 for label in labels)


def test_a_decoded_greyscale_png_gives_labels(source: ImageNetLabels) -> None:
    image = decode_image(_png(Image.new("L", (120, 90), 77)))
    assert source.labels(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_a_corrupt_image_never_reaches_the_model(source: ImageNetLabels) -> None:
    """Truncated bytes are Rekognition's InvalidImageFormatException at decoding; the image that
    decodes after it is labelled as before (nothing about the model was disturbed)."""
    data = shared("no-faces/images/coffee.png").read_bytes()
    with pytest.raises(InvalidImageFormatException):
        source.labels(decode_image(data[: len(data) // 2]))
    assert by_name(source.labels(decode_image(data)))["Espresso"].confidence > 90
