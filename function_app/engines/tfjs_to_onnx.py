"""A TensorFlow.js graph model (model.json and its weight shards) rebuilt as an ONNX graph, without TensorFlow.

model.json holds a TensorFlow GraphDef as JSON (`modelTopology.node`: name, op, inputs, attributes) and a
`weightsManifest` that says how the shards' bytes split into the Const nodes' values, in order, each possibly
quantised (float16, or uint8/uint16 with a scale and a minimum). The graph is NHWC, as TensorFlow's is; ONNX's
convolutions are NCHW, so the input is transposed once and every 4-d activation stays NCHW from there on:
each op that depends on the layout (convolutions, pools, Mean's axes, Pad, Concat, constants broadcast against
an activation) is told so. An activation goes back to NHWC only when an op needs it (Reshape) or at an output.
The graph is then folded (onnx_folding): per-channel scales and shifts into the convolutions, and
Relu/Minimum/Maximum chains into one Clip.

The ops covered are the ones of the graph models this project converts (the faceres network: Conv2D,
DepthwiseConv2dNative, Add, Mul, Relu, Minimum, Maximum, Mean, _FusedMatMul, Sigmoid, Softmax) and their usual
siblings in TF.js graph models (fused convolutions with BiasAdd/Relu/Relu6, AddV2, Sub, BiasAdd, Relu6, MatMul,
MaxPool, AvgPool, Pad, Reshape, ConcatV2, Identity). Anything else is refused by name, never guessed at.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import onnx_folding

OPSET = 17
_TO_NCHW = [0, 3, 1, 2]
_TO_NHWC = [0, 2, 3, 1]
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2, -4: 0}


class UnsupportedGraph(ValueError):
    """The graph uses an op, attribute or weight encoding this converter does not handle."""


@dataclass(frozen=True)
class GraphModel:
    """A parsed TF.js graph model: its nodes in file order and every Const node's value."""

    nodes: list[dict[str, Any]]
    weights: dict[str, np.ndarray]
    input_shapes: dict[str, list[int]]  # Placeholder name → NHWC shape, -1 for a free dimension


_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANTISED = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def read_weights(manifest: list[dict[str, Any]], shards: Sequence[bytes]) -> dict[str, np.ndarray]:
    """The values the manifest describes, read from the shards of each group in order, dequantised to
    their original dtype."""
    weights: dict[str, np.ndarray] = {}
    for group, data in zip(manifest, shards, strict=True):
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quantisation = spec.get("quantization")
            if spec["dtype"] not in _DTYPES:
                raise UnsupportedGraph(f"weight {spec['name']!r} has dtype {spec['dtype']!r}")
            dtype = np.dtype(_DTYPES[spec["dtype"]])
            stored = np.dtype(_QUANTISED[quantisation["dtype"]]) if quantisation else dtype
            raw = np.frombuffer(data, dtype=stored, count=count, offset=offset)
            offset += count * stored.itemsize
            if quantisation and quantisation["dtype"] != "float16":
                # Affine quantisation: value = stored × scale + min.
                raw = raw.astype(np.float32) * np.float32(quantisation["scale"]) + np.float32(quantisation["min"])
            weights[spec["name"]] = raw.astype(dtype).reshape(shape)
        if offset != len(data):
            raise UnsupportedGraph(f"weight group {group['paths']} holds {len(data)} bytes, the manifest {offset}")
    return weights


def parse(model_json: bytes, read_shard: Callable[[str], bytes]) -> GraphModel:
    """model.json's bytes, and a reader of the shard files it names (relative paths)."""
    document = json.loads(model_json)
    if document.get("format") != "graph-model":
        raise UnsupportedGraph(f"not a TF.js graph model (format {document.get('format')!r})")
    manifest = document["weightsManifest"]
    shards = [b"".join(read_shard(path) for path in group["paths"]) for group in manifest]
    nodes = document["modelTopology"]["node"]
    inputs = {
        n["name"]: [int(d.get("size", -1)) for d in n["attr"]["shape"]["shape"]["dim"]]
        for n in nodes
        if n["op"] == "Placeholder"
    }
    return GraphModel(nodes, read_weights(manifest, shards), inputs)


def _attr_ints(node: dict[str, Any], key: str) -> list[int]:
    return [int(i) for i in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


def _attr_text(node: dict[str, Any], key: str) -> str:
    return base64.b64decode(node["attr"][key]["s"]).decode() if key in node.get("attr", {}) else ""


def _attr_texts(node: dict[str, Any], key: str) -> list[str]:
    return [base64.b64decode(s).decode() for s in node.get("attr", {}).get(key, {}).get("list", {}).get("s", [])]


def _attr_bool(node: dict[str, Any], key: str) -> bool:
    return bool(node.get("attr", {}).get(key, {}).get("b", False))


def _tensor_name(reference: str) -> str:
    """A node input or signature output ('name', 'name:0') as the name of the tensor it reads; control
    inputs ('^name') are not data."""
    return reference[:-2] if reference.endswith(":0") else reference


@dataclass
class _Builder:
    weights: dict[str, np.ndarray]
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    nchw: set[str] = field(default_factory=set)  # tensors laid out NCHW (4-d activations)
    renamed: dict[str, str] = field(default_factory=dict)  # a TF tensor → the ONNX tensor holding it
    _materialised: set[str] = field(default_factory=set)
    _counter: int = 0

    def fresh(self, base: str) -> str:
        self._counter += 1
        return f"{base}__{self._counter}"

    def constant(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def add(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def value(self, reference: str) -> np.ndarray | None:
        return self.weights.get(_tensor_name(reference))

    def constant_input(self, node: dict[str, Any], index: int, what: str) -> np.ndarray:
        """An input that must be known when converting (a filter, a bias, axes, a shape)."""
        value = self.value(node["input"][index])
        if value is None:
            raise UnsupportedGraph(f"{node['name']}: {what} computed at run time")
        return value

    def activation(self, reference: str) -> str:
        name = _tensor_name(reference)
        if name in self.weights and name not in self._materialised:  # a constant used as data
            self._materialised.add(name)
            self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(self.weights[name]), name))
        return self.renamed.get(name, name)

    def is_image(self, reference: str) -> bool:
        name = _tensor_name(reference)
        return self.renamed.get(name, name) in self.nchw

    def as_nhwc(self, name: str) -> str:
        if name not in self.nchw:
            return name
        return self.add("Transpose", [name], self.fresh(name + "_nhwc"), perm=_TO_NHWC)

    def as_nchw(self, name: str) -> str:
        if name in self.nchw:
            return name
        converted = self.add("Transpose", [name], self.fresh(name + "_nchw"), perm=_TO_NCHW)
        self.nchw.add(converted)
        return converted

    def operand(self, reference: str, partner_nchw: bool, base: str) -> str:
        """An input of an elementwise op; a constant is laid out to broadcast against an NCHW partner."""
        value = self.value(reference)
        if value is None:
            return self.activation(reference)
        if partner_nchw and value.ndim == 4:
            value = value.transpose(_TO_NCHW)
        elif partner_nchw and value.ndim in (1, 3):
            if value.ndim == 3 and value.shape[:2] != (1, 1):
                raise UnsupportedGraph(f"{base}: a 3-d constant broadcast over the spatial dimensions")
            value = value.reshape(-1, 1, 1)
        elif partner_nchw and value.ndim == 2:
            raise UnsupportedGraph(f"{base}: a 2-d constant broadcast against an image tensor")
        return self.constant(base, value)


def _padding(node: dict[str, Any], name: str) -> dict[str, Any]:
    """TF's padding as ONNX attributes: SAME puts the odd pixel at the end, which is SAME_UPPER."""
    mode = _attr_text(node, "padding")
    if mode == "SAME":
        return {"auto_pad": "SAME_UPPER"}
    if mode == "VALID":
        return {"pads": [0, 0, 0, 0]}
    if mode == "EXPLICIT":
        p = _attr_ints(node, "explicit_paddings")  # NHWC pairs: (before, after) per dimension
        return {"pads": [p[2], p[4], p[3], p[5]]}
    raise UnsupportedGraph(f"{name}: padding {mode!r}")


def _spatial(values: list[int], name: str, what: str) -> list[int]:
    if len(values) != 4 or values[0] != 1 or values[3] != 1:
        raise UnsupportedGraph(f"{name}: {what} {values} (only over height and width)")
    return values[1:3]


def _check_nhwc(node: dict[str, Any], name: str) -> None:
    layout = _attr_text(node, "data_format") or "NHWC"
    if layout != "NHWC":
        raise UnsupportedGraph(f"{name}: data_format {layout}")


def _convolution(b: _Builder, node: dict[str, Any], depthwise: bool) -> str:
    name = node["name"]
    _check_nhwc(node, name)
    kernel = b.constant_input(node, 1, "a filter")
    rows, cols, channels, per_channel = kernel.shape
    if depthwise:
        # TF: [H, W, C, M], output channel c·M + m; ONNX grouped convolution: [C·M, 1, H, W], group C.
        weight = kernel.reshape(rows, cols, channels * per_channel).transpose(2, 0, 1)[:, None]
    else:
        weight = kernel.transpose(3, 2, 0, 1)  # HWIO → OIHW
    inputs = [b.as_nchw(b.activation(node["input"][0])), b.constant(name + "_W", weight.astype(np.float32))]
    fused = _attr_texts(node, "fused_ops")
    activation = None
    if fused:
        if fused[0] != "BiasAdd" or len(fused) > 2:
            raise UnsupportedGraph(f"{name}: fused ops {fused}")
        bias = b.constant_input(node, 2, "a bias")
        inputs.append(b.constant(name + "_B", bias.astype(np.float32)))
        activation = fused[1] if len(fused) == 2 else None
    dilations = _attr_ints(node, "dilations") or [1, 1, 1, 1]
    convolved = b.add(
        "Conv",
        inputs,
        b.fresh(name) if activation else name,
        kernel_shape=[rows, cols],
        strides=_spatial(_attr_ints(node, "strides"), name, "strides"),
        dilations=_spatial(dilations, name, "dilations"),
        group=channels if depthwise else 1,
        **_padding(node, name),
    )
    b.nchw.add(name)
    if activation:
        _activation(b, activation, convolved, name)
    return name


def _activation(b: _Builder, kind: str, source: str, output: str) -> str:
    if kind == "Relu":
        return b.add("Relu", [source], output)
    if kind == "Relu6":
        bounds = [b.constant("zero", np.array(0, np.float32)), b.constant("six", np.array(6, np.float32))]
        return b.add("Clip", [source, *bounds], output)
    if kind == "Sigmoid":
        return b.add("Sigmoid", [source], output)
    raise UnsupportedGraph(f"{output}: activation {kind}")


def _elementwise(b: _Builder, node: dict[str, Any], op: str) -> None:
    name = node["name"]
    references = node["input"]
    partner_nchw = any(b.is_image(r) for r in references)
    if partner_nchw and any(not b.is_image(r) and b.value(r) is None for r in references):
        raise UnsupportedGraph(f"{name}: an image tensor combined with a non-image activation")
    b.add(op, [b.operand(r, partner_nchw, name) for r in references], name)
    if partner_nchw:
        b.nchw.add(name)


def _matmul(b: _Builder, node: dict[str, Any]) -> None:
    name = node["name"]
    fused = _attr_texts(node, "fused_ops")
    if _attr_bool(node, "transpose_a"):
        raise UnsupportedGraph(f"{name}: transpose_a")
    weight = b.constant_input(node, 1, "a weight matrix")
    if _attr_bool(node, "transpose_b"):
        weight = weight.T
    inputs = [b.as_nhwc(b.activation(node["input"][0])), b.constant(name + "_W", weight)]
    if fused and (fused[0] != "BiasAdd" or len(fused) > 2):
        raise UnsupportedGraph(f"{name}: fused ops {fused}")
    activation = fused[1] if len(fused) == 2 else None
    product = b.add("MatMul", inputs, b.fresh(name) if fused else name)
    if fused:
        bias = b.constant_input(node, 2, "a bias")
        biased = b.add("Add", [product, b.constant(name + "_B", bias)], b.fresh(name) if activation else name)
        if activation:
            _activation(b, activation, biased, name)


def _mean(b: _Builder, node: dict[str, Any]) -> None:
    name = node["name"]
    source = b.activation(node["input"][0])
    axes = b.constant_input(node, 1, "axes")
    keep = _attr_bool(node, "keep_dims")
    axes_list = [int(a) for a in np.atleast_1d(axes)]
    if source in b.nchw:
        axes_list = [_NHWC_TO_NCHW_AXIS[a] for a in axes_list]
        # A Mean that keeps the image's 4 dimensions stays NCHW; one that drops only H and W leaves N×C,
        # already in TF's order. Any other result is put back in NHWC before it is reduced.
        if not keep and sorted(axes_list) != [2, 3]:
            source = b.as_nhwc(source)
            axes_list = [int(a) for a in np.atleast_1d(axes)]
    b.add("ReduceMean", [source], name, axes=axes_list, keepdims=int(keep))
    if keep and source in b.nchw:
        b.nchw.add(name)


def _pool(b: _Builder, node: dict[str, Any], op: str) -> None:
    name = node["name"]
    _check_nhwc(node, name)
    b.add(
        op,
        [b.as_nchw(b.activation(node["input"][0]))],
        name,
        kernel_shape=_spatial(_attr_ints(node, "ksize"), name, "ksize"),
        strides=_spatial(_attr_ints(node, "strides"), name, "strides"),
        **_padding(node, name),
    )
    b.nchw.add(name)


def _pad(b: _Builder, node: dict[str, Any]) -> None:
    name = node["name"]
    source = b.activation(node["input"][0])
    paddings = b.constant_input(node, 1, "paddings")
    if source in b.nchw:
        paddings = paddings[_TO_NCHW]
    pads = np.concatenate([paddings[:, 0], paddings[:, 1]]).astype(np.int64)
    b.add("Pad", [source, b.constant(name + "_pads", pads)], name)
    if source in b.nchw:
        b.nchw.add(name)


def _reshape(b: _Builder, node: dict[str, Any]) -> None:
    name = node["name"]
    shape = b.constant_input(node, 1, "a shape")
    source = b.as_nhwc(b.activation(node["input"][0]))
    b.add("Reshape", [source, b.constant(name + "_shape", shape.astype(np.int64))], name)


def _concat(b: _Builder, node: dict[str, Any]) -> None:
    name = node["name"]
    references = node["input"][:-1]
    axis_value = b.constant_input(node, -1, "an axis")
    axis = int(axis_value)
    if all(b.is_image(r) for r in references):
        b.add("Concat", [b.activation(r) for r in references], name, axis=_NHWC_TO_NCHW_AXIS[axis])
        b.nchw.add(name)
    else:
        b.add("Concat", [b.as_nhwc(b.activation(r)) for r in references], name, axis=axis)


def _single(op: str) -> Callable[[_Builder, dict[str, Any]], None]:
    def convert(b: _Builder, node: dict[str, Any]) -> None:
        source = b.activation(node["input"][0])
        b.add(op, [source], node["name"])
        if source in b.nchw:
            b.nchw.add(node["name"])

    return convert


def _relu6(b: _Builder, node: dict[str, Any]) -> None:
    source = b.activation(node["input"][0])
    _activation(b, "Relu6", source, node["name"])
    if source in b.nchw:
        b.nchw.add(node["name"])


def _softmax(b: _Builder, node: dict[str, Any]) -> None:
    b.add("Softmax", [b.as_nhwc(b.activation(node["input"][0]))], node["name"], axis=-1)


_CONVERTERS: dict[str, Callable[[_Builder, dict[str, Any]], Any]] = {
    "Conv2D": lambda b, n: _convolution(b, n, depthwise=False),
    "_FusedConv2D": lambda b, n: _convolution(b, n, depthwise=False),
    "DepthwiseConv2dNative": lambda b, n: _convolution(b, n, depthwise=True),
    "FusedDepthwiseConv2dNative": lambda b, n: _convolution(b, n, depthwise=True),
    "Add": lambda b, n: _elementwise(b, n, "Add"),
    "AddV2": lambda b, n: _elementwise(b, n, "Add"),
    "BiasAdd": lambda b, n: _elementwise(b, n, "Add"),
    "Sub": lambda b, n: _elementwise(b, n, "Sub"),
    "Mul": lambda b, n: _elementwise(b, n, "Mul"),
    "Minimum": lambda b, n: _elementwise(b, n, "Min"),
    "Maximum": lambda b, n: _elementwise(b, n, "Max"),
    "Relu": _single("Relu"),
    "Relu6": _relu6,
    "Sigmoid": _single("Sigmoid"),
    "Identity": _single("Identity"),
    "Softmax": _softmax,
    "MatMul": _matmul,
    "_FusedMatMul": _matmul,
    "Mean": _mean,
    "MaxPool": lambda b, n: _pool(b, n, "MaxPool"),
    "AvgPool": lambda b, n: _pool(b, n, "AveragePool"),
    "Pad": _pad,
    "Reshape": _reshape,
    "ConcatV2": _concat,
}


def _needed(nodes: dict[str, dict[str, Any]], outputs: list[str]) -> set[str]:
    """The nodes the outputs depend on: the rest (other heads of the network) is left out."""
    needed: set[str] = set()
    pending = list(outputs)
    while pending:
        name = pending.pop()
        if name in needed or name not in nodes:
            continue
        needed.add(name)
        pending.extend(_tensor_name(r) for r in nodes[name].get("input", []) if not r.startswith("^"))
    return needed


def convert(graph: GraphModel, outputs: list[str]) -> bytes:
    """The ONNX model computing `outputs` (TF tensor names) of the graph model. Its inputs are the graph's
    Placeholders under the same names, float32 NHWC with a free batch dimension; image outputs are NHWC."""
    by_name = {n["name"]: n for n in graph.nodes}
    output_names = [_tensor_name(o) for o in outputs]
    missing = [o for o in output_names if o not in by_name]
    if missing:
        raise UnsupportedGraph(f"no node named {missing}")
    needed = _needed(by_name, output_names)
    b = _Builder(graph.weights)
    graph_inputs = []
    for node in graph.nodes:
        name, op = node["name"], node["op"]
        if name not in needed or op == "Const":
            continue
        if op == "Placeholder":
            shape = graph.input_shapes[name]
            dims: list[int | str] = [d if d >= 0 else f"{name}_dim{i}" for i, d in enumerate(shape)]
            graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
            if len(shape) == 4:
                # The image enters NHWC and is NCHW from here on.
                b.renamed[name] = b.add("Transpose", [name], name + "__nchw", perm=_TO_NCHW)
                b.nchw.add(name + "__nchw")
            continue
        if op not in _CONVERTERS:
            raise UnsupportedGraph(f"op {op} (node {name}) is not supported")
        _CONVERTERS[op](b, node)
    finals = [b.add("Identity", [b.as_nhwc(b.activation(name))], f"{name}:0") for name in output_names]
    graph = helper.make_graph(b.nodes, "tfjs_graph_model", graph_inputs, [], b.initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="function_app.tfjs_to_onnx"
    )
    onnx_folding.fold(model)  # batch normalisations into the convolutions, ReLU6 as one Clip
    # The outputs' shapes (batch dimension free) come from ONNX's own shape inference.
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    model.graph.output.extend(inferred[name] for name in finals)
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
