"""Face engines behind one interface; `create_engine` picks one from the settings."""

from __future__ import annotations

import functools

from ..settings import Settings
from .base import FaceEngine


def create_engine(settings: Settings) -> FaceEngine:
    """One engine per engine configuration per process: models load once."""
    return _engine(settings.face_engine, settings.detector, settings.detect_upsample, settings.detect_max_side)


@functools.lru_cache(maxsize=8)
def _engine(kind: str, detector: str, upsample: int, max_side: int) -> FaceEngine:
    if kind == "local":
        from .dlib_engine import DlibFaceEngine

        return DlibFaceEngine(detector, upsample, max_side)
    raise ValueError(f"Unknown FACE_ENGINE {kind!r}: the available engine is 'local'")


__all__ = ["FaceEngine", "create_engine"]
