"""dlib's face ResNet run by onnxruntime: the same descriptors as dlib's, many times faster.

The ONNX graph is built from the `.dat` file once and cached on disk under a name that carries the
sha256 of that file and the converter's version: a changed model file or converter gives a new name,
so a stale cache is never read. Building takes a fraction of a second, so a cache that cannot be
written (a read-only home) only costs that at each start.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime

from . import resnet_to_onnx

# Bump when resnet_to_onnx builds a different graph, so that cached files of the old one are ignored.
CONVERTER_VERSION = 1


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "video-face-recognition"


def cached_model(dat_file: Path, cache_dir: Path) -> bytes:
    """The ONNX model of `dat_file`, from the cache when it holds one built from these very bytes."""
    data = dat_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = cache_dir / f"{dat_file.stem}-{digest}-v{CONVERTER_VERSION}.onnx"
    if target.is_file():
        return target.read_bytes()
    model = resnet_to_onnx.convert(data)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed: a concurrent reader sees the whole file or none.
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".tmp", delete=False) as out:
            out.write(model)
        os.replace(out.name, target)
    except OSError:
        pass  # no writable cache: use the model built in memory
    return model


class OnnxFaceEmbedder:
    """Raw 128-d descriptors of aligned 150×150 RGB chips, as dlib's compute_face_descriptor gives."""

    def __init__(self, dat_file: Path, cache_dir: Path):
        options = onnxruntime.SessionOptions()
        # One core per frame: a service answers several frames at once, one per thread, and a
        # single face takes a few milliseconds, too little to share out among cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session = onnxruntime.InferenceSession(
            cached_model(dat_file, cache_dir), options, providers=["CPUExecutionProvider"]
        )

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """N×150×150×3 uint8 chips → N×128 float32. InferenceSession.run is thread-safe."""
        return self._session.run([resnet_to_onnx.OUTPUT_NAME], {resnet_to_onnx.INPUT_NAME: chips})[0]
