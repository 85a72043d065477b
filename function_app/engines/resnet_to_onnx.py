"""dlib's face-recognition ResNet, read from its serialized `.dat` file and rebuilt as an ONNX graph.

The file is dlib's binary `serialize` of the `anet_type` of dlib's dnn_face_recognition_ex.cpp:
input_rgb_image_sized<150> → con 7×7/2 → affine → relu → max_pool 3×3/2 → residual blocks (con 3×3,
affine, relu, con 3×3, affine, [avg_pool 2×2/2 on the shortcut], add_prev, relu) at 32, 64, 128 and
256 channels → avg_pool over everything → fc_no_bias 128. The layers' own records lie in the file from
the input upwards, each starting with its version string (`con_4`, `affine_`, …); the wrappers around
them (add_layer flags, tags, skips) carry no parameters and are skipped.

The graph takes uint8 RGB chips (N×150×150×3, as `dlib.get_face_chip` gives them) and answers the raw
128-d descriptors, exactly what `compute_face_descriptor` computes: each affine layer (a frozen batch
norm) is folded into the convolution before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CHIP_SIZE = 150
INPUT_NAME = "chips"
OUTPUT_NAME = "descriptors"


class UnexpectedNetwork(ValueError):
    """The file is not the ResNet this module knows how to rebuild."""


@dataclass(frozen=True)
class Layer:
    kind: str  # "input", "con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "fc"
    params: np.ndarray | None = None  # float32, dlib's flat parameter tensor
    shape: tuple[int, ...] = ()  # con: (filters, rows, cols, stride, padding); pools: (rows, cols, stride, padding)

    def tensor(self) -> np.ndarray:
        """The parameters of a layer that has them (input, con, affine, fc)."""
        if self.params is None:
            raise UnexpectedNetwork(f"{self.kind} layer has no parameters")
        return self.params


# Each layer record begins with its version string, serialized as a one-byte length then the text.
_VERSIONS = {
    b"input_rgb_image_sized": "input",
    b"con_4": "con",
    b"con_5": "con",
    b"affine_": "affine",
    b"relu_": "relu",
    b"max_pool_2": "max_pool",
    b"avg_pool_2": "avg_pool",
    b"add_prev_": "add_prev",
    b"fc_2": "fc",
}
_RECORD = re.compile(b"\x01([\x04-\x15])(" + b"|".join(re.escape(v) for v in _VERSIONS) + b")")


class _Reader:
    """dlib's serialize primitives: packed integers, floats as mantissa·2^exponent, raw float tensors."""

    def __init__(self, data: bytes, position: int):
        self.data = data
        self.position = position

    def integer(self) -> int:
        control = self.data[self.position]
        size = control & 0x0F
        value = int.from_bytes(self.data[self.position + 1 : self.position + 1 + size], "little")
        self.position += 1 + size
        return -value if control & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        if self.integer() != 2:
            raise UnexpectedNetwork("unknown tensor version")
        shape = [self.integer() for _ in range(4)]
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.position)
        self.position += 4 * count
        return values.astype(np.float32)


def read_layers(data: bytes) -> list[Layer]:
    """The network's layers, input first, each with its parameters."""
    layers: list[Layer] = []
    position = 0
    while match := _RECORD.search(data, position):
        if match.group(1)[0] != len(match.group(2)):
            position = match.start() + 1
            continue
        kind = _VERSIONS[match.group(2)]
        reader = _Reader(data, match.end())
        layers.append(_read_layer(kind, reader))
        # Skip the parameters just read, so that a version string cannot be "found" inside them.
        position = max(reader.position, match.end())
    return layers


def _read_layer(kind: str, reader: _Reader) -> Layer:
    if kind == "input":
        mean = [reader.real() for _ in range(3)]
        rows, cols = reader.integer(), reader.integer()
        if (rows, cols) != (CHIP_SIZE, CHIP_SIZE):
            raise UnexpectedNetwork(f"input of {rows}×{cols}, expected {CHIP_SIZE}")
        return Layer(kind, np.array(mean, np.float32))
    if kind == "con":
        params = reader.tensor()
        filters, rows, cols, stride_y, stride_x, padding_y, padding_x = (reader.integer() for _ in range(7))
        if stride_y != stride_x or padding_y != padding_x or rows != cols:
            raise UnexpectedNetwork("only square convolutions are rebuilt")
        return Layer(kind, params, (filters, rows, cols, stride_y, padding_y))
    if kind == "affine":
        return Layer(kind, reader.tensor())
    if kind in ("max_pool", "avg_pool"):
        rows, cols, stride_y, stride_x, padding_y, padding_x = (reader.integer() for _ in range(6))
        if stride_y != stride_x or padding_y != padding_x or rows != cols:
            raise UnexpectedNetwork("only square pooling is rebuilt")
        return Layer(kind, None, (rows, cols, stride_y, padding_y))
    if kind == "fc":
        outputs, inputs = reader.integer(), reader.integer()
        params = reader.tensor()
        if params.size != outputs * inputs:
            raise UnexpectedNetwork("fc layer with a bias or of unexpected size")
        return Layer(kind, params, (inputs, outputs))
    return Layer(kind)


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, prefix: str, value: np.ndarray) -> str:
        name = self.name(prefix)
        self.weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], **attributes) -> str:
        output = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output


@dataclass
class _Tensor:
    name: str
    channels: int
    side: int


def build_model(layers: list[Layer]) -> onnx.ModelProto:
    """The ONNX graph of the network; raises UnexpectedNetwork if the layers are not the face ResNet."""
    if not layers or layers[0].kind != "input" or layers[-1].kind != "fc":
        raise UnexpectedNetwork("expected an input layer first and an fc layer last")
    g = _Graph()
    # dlib's input layer: (pixel − mean) / 256, channels first.
    x = g.node("Cast", [INPUT_NAME], to=TensorProto.FLOAT)
    x = g.node("Sub", [x, g.constant("mean", layers[0].tensor().reshape(1, 1, 1, 3))])
    x = g.node("Mul", [x, g.constant("scale", np.array(1.0 / 256.0, np.float32))])
    current = _Tensor(g.node("Transpose", [x], perm=[0, 3, 1, 2]), 3, CHIP_SIZE)
    block_input = current  # dlib's tag1: the input of the residual block being read
    shortcut_pool: Layer | None = None
    i = 1
    while i < len(layers):
        layer = layers[i]
        if layer.kind == "con":
            if i + 1 >= len(layers) or layers[i + 1].kind != "affine":
                raise UnexpectedNetwork("every convolution is followed by an affine layer")
            after = [previous.kind for previous in layers[max(0, i - 2) : i]]
            if after[-1] == "max_pool" or after == ["add_prev", "relu"]:
                block_input = current  # a residual block starts here
            current = _convolution(g, current, layer, layers[i + 1])
            i += 2
            continue
        if layer.kind == "relu":
            current = _Tensor(g.node("Relu", [current.name]), current.channels, current.side)
        elif layer.kind == "max_pool":
            current = _pool(g, "MaxPool", current, layer)
        elif layer.kind == "avg_pool":
            if layer.shape[0] == 0:  # avg_pool_everything
                pooled = g.node("GlobalAveragePool", [current.name])
                current = _Tensor(g.node("Flatten", [pooled], axis=1), current.channels, 1)
            else:
                shortcut_pool = layer  # pools the shortcut of a down-sampling block (skip1 → tag1)
        elif layer.kind == "add_prev":
            shortcut = _pool(g, "AveragePool", block_input, shortcut_pool) if shortcut_pool else block_input
            current = _add_zero_padded(g, current, shortcut)
            shortcut_pool = None
        elif layer.kind == "fc":
            inputs, outputs = layer.shape
            if inputs != current.channels:
                raise UnexpectedNetwork(f"fc layer of {inputs} inputs after {current.channels} channels")
            weights = g.constant("fc", layer.tensor().reshape(inputs, outputs))
            current = _Tensor(g.node("MatMul", [current.name, weights]), outputs, 1)
        else:
            raise UnexpectedNetwork(f"unexpected {layer.kind} layer")
        i += 1
    g.nodes[-1].output[0] = OUTPUT_NAME
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["n", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["n", current.channels])],
        g.weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="function_app")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _convolution(g: _Graph, x: _Tensor, con: Layer, affine: Layer) -> _Tensor:
    filters, size, _, stride, padding = con.shape
    params, affine_params = con.tensor(), affine.tensor()
    inputs = (params.size - filters) // (filters * size * size)
    weights = params[: filters * inputs * size * size].reshape(filters, inputs, size, size)
    bias = params[filters * inputs * size * size :]
    if inputs != x.channels or affine_params.size != 2 * filters:
        raise UnexpectedNetwork("convolution or affine sizes do not chain")
    gamma, beta = affine_params[:filters], affine_params[filters:]
    # affine(con(x)) = gamma·(W∗x + b) + beta = (gamma·W)∗x + (gamma·b + beta)
    folded = (weights.astype(np.float64) * gamma[:, None, None, None]).astype(np.float32)
    shifted = (bias.astype(np.float64) * gamma + beta).astype(np.float32)
    out = g.node(
        "Conv",
        [x.name, g.constant("w", folded), g.constant("b", shifted)],
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[padding] * 4,
    )
    return _Tensor(out, filters, (x.side + 2 * padding - size) // stride + 1)


def _pool(g: _Graph, op: str, x: _Tensor, pool: Layer) -> _Tensor:
    size, _, stride, padding = pool.shape
    out = g.node(op, [x.name], kernel_shape=[size, size], strides=[stride, stride], pads=[padding] * 4)
    return _Tensor(out, x.channels, (x.side + 2 * padding - size) // stride + 1)


def _add_zero_padded(g: _Graph, block: _Tensor, shortcut: _Tensor) -> _Tensor:
    """dlib's add_prev: the output has the larger size of the two in every dimension, and each input
    counts as zero where it does not reach (the shortcut of 8 rows pooled to 4 meets a block of 3,
    and the shortcut of 32 channels a block of 64)."""
    channels, side = max(block.channels, shortcut.channels), max(block.side, shortcut.side)
    padded = [_zero_padded(g, t, channels, side) for t in (block, shortcut)]
    return _Tensor(g.node("Add", padded), channels, side)


def _zero_padded(g: _Graph, x: _Tensor, channels: int, side: int) -> str:
    if (x.channels, x.side) == (channels, side):
        return x.name
    # ONNX pads: the starts of N, C, H, W, then their ends.
    pads = np.array([0, 0, 0, 0, 0, channels - x.channels, side - x.side, side - x.side], np.int64)
    return g.node("Pad", [x.name, g.constant("pads", pads)])


def convert(data: bytes) -> bytes:
    """The serialized ONNX model of a dlib face ResNet `.dat` file's contents. Deterministic."""
    return build_model(read_layers(data)).SerializeToString()
