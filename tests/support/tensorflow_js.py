"""TensorFlow.js run in node (tfjs_reference.js): the reference for the TF.js → ONNX conversion."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("tfjs_reference.js")
PROJECT = Path(__file__).resolve().parents[2]


def node_modules() -> Path:
    """The folder holding @tensorflow/tfjs: the project's node_modules, or one on NODE_PATH (as node looks)."""
    folders = [PROJECT / "node_modules", *(Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p)]
    for folder in folders:
        if (folder / "@tensorflow" / "tfjs" / "package.json").is_file():
            return folder
    pytest.skip("@tensorflow/tfjs is not installed: run npm ci (scripts/setup)")


def run(model_json: Path, inputs: np.ndarray, output: str, work: Path) -> np.ndarray:
    """The model's `output` for `inputs` (float32 NHWC), one row per input; skips the test when node or
    @tensorflow/tfjs is not installed."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the TensorFlow.js reference needs it")
    (work / "input.f32").write_bytes(np.ascontiguousarray(inputs, np.float32).tobytes())
    shape = ",".join(str(d) for d in inputs.shape)
    env = dict(os.environ, NODE_PATH=str(node_modules()))
    command = ["node", str(SCRIPT), str(model_json), str(work / "input.f32"), shape, output, str(work / "out.f32")]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if finished.returncode != 0:
        raise AssertionError(f"TensorFlow.js failed: {finished.stderr[-2000:]}")
    return np.fromfile(work / "out.f32", np.float32).reshape(len(inputs), -1)
