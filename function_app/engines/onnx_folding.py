"""Rewrites of a converted ONNX graph that keep its answers and make onnxruntime's work smaller.

A TF.js graph of a Keras network keeps its batch normalisations and ReLU6 as separate ops: a Conv followed by
a per-channel Mul and Add, then Relu, Minimum(6) and Maximum(0). onnxruntime fuses a Conv with its bias and a
Relu or Clip into one blocked (NCHWc) kernel, but not with Min and Max: each of those leaves the blocked layout
and comes back (Reorder ops around every Conv), which cost nearly a quarter of the faceres network's time. So:

- a Conv's per-channel Mul is folded into its weights and bias, and its per-channel Add into its bias;
- Relu → Min(hi) → Max(lo), or Min(hi) → Max(lo), of scalar constants becomes one Clip.

Folding the scale into the weights rounds differently from scaling the Conv's output: the results agree to
float32 precision, not bit for bit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper


@dataclass
class _Graph:
    nodes: list[onnx.NodeProto]
    constants: dict[str, np.ndarray]
    uses: Counter[str]  # how many node inputs and graph outputs read each tensor

    def constant(self, name: str) -> np.ndarray | None:
        return self.constants.get(name)

    def read_once(self, tensor: str) -> bool:
        return self.uses[tensor] == 1

    def owned_constant(self, name: str) -> np.ndarray | None:
        """A constant read by one input only, which may therefore be rewritten in place."""
        return self.constants.get(name) if self.uses[name] == 1 else None


def fold(model: onnx.ModelProto) -> None:
    """Rewrites `model`'s graph in place."""
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    uses = Counter(i for n in graph.node for i in n.input if i)
    uses.update(o.name for o in graph.output)
    g = _Graph(list(graph.node), constants, uses)
    _fold_scales_and_shifts(g)
    _fold_clips(g)
    read = {i for n in g.nodes for i in n.input}
    del graph.node[:]
    graph.node.extend(g.nodes)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in g.constants.items() if k in read)


def _producers(g: _Graph) -> dict[str, onnx.NodeProto]:
    return {o: n for n in g.nodes for o in n.output}


def _per_channel(value: np.ndarray | None, channels: int) -> np.ndarray | None:
    """A constant that broadcasts against N×C×H×W one value per channel, as C values."""
    if value is None or value.dtype != np.float32:
        return None
    if value.size == 1 and value.ndim <= 3:
        return np.full(channels, value.item(), np.float32)
    if value.shape in ((channels, 1, 1), (1, channels, 1, 1)):
        return value.reshape(channels)
    return None


def _fold_scales_and_shifts(g: _Graph) -> None:
    producers = _producers(g)
    kept = []
    for node in g.nodes:
        conv = producers.get(node.input[0]) if node.op_type in ("Mul", "Add") and len(node.input) == 2 else None
        if conv is not None and conv.op_type == "Conv" and g.read_once(node.input[0]):
            weight = g.owned_constant(conv.input[1])
            bias = g.owned_constant(conv.input[2]) if len(conv.input) == 3 else np.zeros(0, np.float32)
            values = _per_channel(g.constant(node.input[1]), 0 if weight is None else weight.shape[0])
            if weight is not None and bias is not None and values is not None:
                if len(conv.input) == 2:
                    bias_name = f"{conv.output[0]}__bias"
                    g.constants[bias_name] = np.zeros(weight.shape[0], np.float32)
                    conv.input.append(bias_name)
                    g.uses[bias_name] = 1
                    bias = g.constants[bias_name]
                if node.op_type == "Mul":  # (W∗x + b)·s = (s·W)∗x + s·b
                    g.constants[conv.input[1]] = (weight * values[:, None, None, None]).astype(np.float32)
                    g.constants[conv.input[2]] = (bias * values).astype(np.float32)
                else:
                    g.constants[conv.input[2]] = (bias + values).astype(np.float32)
                conv.output[0] = node.output[0]
                producers[node.output[0]] = conv
                continue
        kept.append(node)
    g.nodes = kept


def _scalar(value: np.ndarray | None) -> float | None:
    return float(value.item()) if value is not None and value.size == 1 and value.dtype == np.float32 else None


def _fold_clips(g: _Graph) -> None:
    producers = _producers(g)
    dropped: set[int] = set()
    replaced: dict[int, onnx.NodeProto] = {}
    for node in g.nodes:
        if node.op_type != "Max" or len(node.input) != 2:
            continue
        minimum = producers.get(node.input[0])
        low = _scalar(g.constant(node.input[1]))
        if minimum is None or minimum.op_type != "Min" or len(minimum.input) != 2 or low is None:
            continue
        high = _scalar(g.constant(minimum.input[1]))
        if high is None or high < low or not g.read_once(node.input[0]):
            continue
        source = minimum.input[0]
        relu = producers.get(source)
        if relu is not None and relu.op_type == "Relu" and low <= 0 <= high and g.read_once(source):
            source, low = relu.input[0], 0.0  # Relu then clipping to [low ≤ 0, high] clips to [0, high]
            dropped.add(id(relu))
        bounds = [f"{node.output[0]}__low", f"{node.output[0]}__high"]
        g.constants[bounds[0]], g.constants[bounds[1]] = np.array(low, np.float32), np.array(high, np.float32)
        dropped.add(id(minimum))
        replaced[id(node)] = helper.make_node("Clip", [source, *bounds], list(node.output), name=node.name)
    g.nodes = [replaced.get(id(n), n) for n in g.nodes if id(n) not in dropped]
