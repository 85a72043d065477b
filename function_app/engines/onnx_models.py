"""ONNX models rebuilt from other formats: where they are cached, how a build is cached, how one is run.

A converted model is cached on disk under a name that carries the sha256 of its source files and the
converter's version: a changed model file or converter gives a new name, so a stale cache is never read.
Building takes a fraction of a second, so a cache that cannot be written (a read-only home) only costs
that at each start.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import onnxruntime


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "video-face-recognition"


def source_digest(*sources: bytes) -> str:
    digest = hashlib.sha256()
    for source in sources:
        digest.update(hashlib.sha256(source).digest())
    return digest.hexdigest()[:16]


def cached_build(stem: str, digest: str, version: int, build: Callable[[], bytes], cache_dir: Path) -> bytes:
    """The model `build` makes, from the cache when it holds one built from the same sources and version."""
    target = cache_dir / f"{stem}-{digest}-v{version}.onnx"
    if target.is_file():
        return target.read_bytes()
    model = build()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed: a concurrent reader sees the whole file or none.
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".tmp", delete=False) as out:
            out.write(model)
        os.replace(out.name, target)
    except OSError:
        pass  # no writable cache: use the model built in memory
    return model


def single_thread_session(model: bytes) -> onnxruntime.InferenceSession:
    """A CPU session on one core: a service answers several frames at once, one per thread, and the faces
    of one frame take a few milliseconds, too little to share out among cores."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
