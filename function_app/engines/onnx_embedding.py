"""dlib's face ResNet run by onnxruntime: the same descriptors as dlib's, many times faster.

The ONNX graph is built from the `.dat` file once and cached (onnx_models): a changed `.dat` file or
converter gives a new cache entry, so a stale one is never read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import resnet_to_onnx
from .onnx_models import cached_build, default_cache_dir, single_thread_session, source_digest

# Bump when resnet_to_onnx builds a different graph, so that cached files of the old one are ignored.
CONVERTER_VERSION = 1

__all__ = ["CONVERTER_VERSION", "OnnxFaceEmbedder", "cached_model", "default_cache_dir"]


def cached_model(dat_file: Path, cache_dir: Path) -> bytes:
    """The ONNX model of `dat_file`, from the cache when it holds one built from these very bytes."""
    data = dat_file.read_bytes()
    digest = source_digest(data)
    return cached_build(dat_file.stem, digest, CONVERTER_VERSION, lambda: resnet_to_onnx.convert(data), cache_dir)


class OnnxFaceEmbedder:
    """Raw 128-d descriptors of aligned 150×150 RGB chips, as dlib's compute_face_descriptor gives."""

    def __init__(self, dat_file: Path, cache_dir: Path):
        self._session = single_thread_session(cached_model(dat_file, cache_dir))

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """N×150×150×3 uint8 chips → N×128 float32. InferenceSession.run is thread-safe."""
        return self._session.run([resnet_to_onnx.OUTPUT_NAME], {resnet_to_onnx.INPUT_NAME: chips})[0]
