"""The TF.js → ONNX converter on a small graph that uses each layout-dependent op in the ways a real graph can
(odd sizes under SAME padding, explicit padding, a depth multiplier, a flatten in NHWC order), checked against
TensorFlow.js itself."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from function_app.engines import tfjs_to_onnx
from function_app.engines.onnx_models import single_thread_session

from .support import tensorflow_js


def text(value: str) -> dict:
    return {"s": base64.b64encode(value.encode()).decode()}


def ints(*values: int) -> dict:
    return {"list": {"i": [str(v) for v in values]}}


def image_op(op: str, name: str, inputs: list[str], strides=(1, 1), padding="SAME", **attr) -> dict:
    attributes = {"strides": ints(1, *strides, 1), "padding": text(padding), "data_format": text("NHWC")}
    attributes |= {"dilations": ints(1, 1, 1, 1), **attr}
    return {"name": name, "op": op, "input": inputs, "attr": attributes}


def small_graph(folder: Path) -> Path:
    """A TF.js graph model of 9×9×3 images: model.json and one float32/int32 shard."""
    rng = np.random.default_rng(7)
    weights = {
        "k1": rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
        "k2": rng.normal(size=(2, 3, 4, 5)).astype(np.float32),
        "dk": rng.normal(size=(3, 3, 5, 2)).astype(np.float32),
        "k3": rng.normal(size=(1, 1, 10, 6)).astype(np.float32),
        "b3": rng.normal(size=(6,)).astype(np.float32),
        "paddings": np.array([[0, 0], [1, 0], [0, 2], [0, 0]], np.int32),
        "per_channel": rng.normal(size=(6,)).astype(np.float32),
        "scale": rng.normal(size=(1, 1, 1, 6)).astype(np.float32),
        "six": np.array(6.0, np.float32),
        "axes": np.array([1, 2], np.int32),
        "flat": np.array([-1, 4 * 5 * 6], np.int32),  # the padded and pooled 4×5×6
        "w": rng.normal(size=(120, 7)).astype(np.float32),
        "b": rng.normal(size=(7,)).astype(np.float32),
        "k4": rng.normal(size=(3, 3, 4, 3)).astype(np.float32),
        "bn_scale": rng.normal(size=(3,)).astype(np.float32),
        "bn_shift": rng.normal(size=(3,)).astype(np.float32),
        "zero": np.array(0.0, np.float32),
    }
    fused_relu6 = {"fused_ops": {"list": {"s": [text("BiasAdd")["s"], text("Relu6")["s"]]}}, "num_args": {"i": "1"}}
    fused_relu = {"fused_ops": {"list": {"s": [text("BiasAdd")["s"], text("Relu")["s"]]}}, "num_args": {"i": "1"}}
    shape = {"dim": [{"size": "-1"}, {"size": "9"}, {"size": "9"}, {"size": "3"}]}
    nodes = [
        {"name": "image", "op": "Placeholder", "attr": {"shape": {"shape": shape}, "dtype": {"type": "DT_FLOAT"}}},
        *({"name": n, "op": "Const", "attr": {}} for n in weights),
        image_op("Conv2D", "c1", ["image", "k1"], strides=(2, 2)),  # 9 → 5, SAME with an odd pixel
        image_op("Conv2D", "c2", ["c1", "k2"], padding="EXPLICIT", explicit_paddings=ints(0, 0, 1, 0, 2, 0, 0, 0)),
        image_op("DepthwiseConv2dNative", "d1", ["c2", "dk"], strides=(2, 2)),  # multiplier 2: 10 channels
        image_op("_FusedConv2D", "f1", ["d1", "k3", "b3"], **fused_relu6),
        {"name": "padded", "op": "Pad", "input": ["f1", "paddings"]},
        image_op("MaxPool", "pool", ["padded"], strides=(1, 1), ksize=ints(1, 2, 2, 1)),
        {"name": "shifted", "op": "AddV2", "input": ["pool", "per_channel"]},
        {"name": "scaled", "op": "Mul", "input": ["shifted", "scale"]},
        {"name": "clipped", "op": "Minimum", "input": ["scaled", "six"]},
        {"name": "pooled", "op": "Mean", "input": ["clipped", "axes"], "attr": {"keep_dims": {"b": False}}},
        {"name": "flat_image", "op": "Reshape", "input": ["clipped", "flat"]},
        {"name": "dense", "op": "_FusedMatMul", "input": ["flat_image", "w", "b"], "attr": fused_relu},
        # A Keras convolution, batch normalisation and ReLU6 as TF.js writes them: the converter folds them.
        image_op("Conv2D", "c4", ["c1", "k4"]),
        {"name": "bn_scaled", "op": "Mul", "input": ["c4", "bn_scale"]},
        {"name": "bn", "op": "AddV2", "input": ["bn_scaled", "bn_shift"]},
        {"name": "relu", "op": "Relu", "input": ["bn"]},
        {"name": "relu_min", "op": "Minimum", "input": ["relu", "six"]},
        {"name": "relu6", "op": "Maximum", "input": ["relu_min", "zero"]},
    ]
    for node in nodes:
        node.setdefault("attr", {}).setdefault("T", {"type": "DT_FLOAT"})
    specs = [
        {"name": n, "shape": list(v.shape), "dtype": "int32" if v.dtype == np.int32 else "float32"}
        for n, v in weights.items()
    ]
    (folder / "group1-shard1of1.bin").write_bytes(b"".join(v.tobytes() for v in weights.values()))
    document = {
        "format": "graph-model",
        "modelTopology": {"node": nodes, "library": {}, "versions": {}},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": specs}],
    }
    (folder / "model.json").write_text(json.dumps(document))
    return folder / "model.json"


@pytest.mark.parametrize("output", ["c1", "c2", "d1", "padded", "clipped", "pooled", "dense", "relu6"])
def test_layout_dependent_ops_match_tensorflow_js(tmp_path, output):
    model_json = small_graph(tmp_path)
    graph = tfjs_to_onnx.parse(model_json.read_bytes(), lambda name: (tmp_path / name).read_bytes())
    session = single_thread_session(tfjs_to_onnx.convert(graph, [output]))
    images = np.random.default_rng(1).uniform(-1, 1, (2, 9, 9, 3)).astype(np.float32)
    converted = session.run(None, {"image": images})[0].reshape(2, -1)
    reference = tensorflow_js.run(model_json, images, output, tmp_path)
    assert converted.shape == reference.shape
    assert np.abs(converted - reference).max() < 1e-4 * max(1.0, np.abs(reference).max())


def test_batch_normalisation_and_relu6_are_folded_into_a_convolution_and_a_clip(tmp_path):
    model_json = small_graph(tmp_path)
    graph = tfjs_to_onnx.parse(model_json.read_bytes(), lambda name: (tmp_path / name).read_bytes())
    model = onnx.load_from_string(tfjs_to_onnx.convert(graph, ["relu6"]))
    assert [n.op_type for n in model.graph.node] == ["Transpose", "Conv", "Conv", "Clip", "Transpose", "Identity"]


def test_an_unknown_op_is_refused_by_name(tmp_path):
    model_json = small_graph(tmp_path)
    document = json.loads(model_json.read_text())
    document["modelTopology"]["node"].append({"name": "odd", "op": "Cumsum", "input": ["pooled", "axes"], "attr": {}})
    graph = tfjs_to_onnx.parse(json.dumps(document).encode(), lambda name: (tmp_path / name).read_bytes())
    with pytest.raises(tfjs_to_onnx.UnsupportedGraph, match="Cumsum"):
        tfjs_to_onnx.convert(graph, ["odd"])
