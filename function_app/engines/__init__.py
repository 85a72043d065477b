"""Face engines behind one interface; `create_engine` picks one from the settings."""

from __future__ import annotations

import functools

from ..settings import Settings
from .base import FaceEngine


@functools.lru_cache(maxsize=4)
def create_engine(settings: Settings) -> FaceEngine:
    """One engine per distinct configuration per process: models load once."""
    if settings.face_engine == "local":
        from .dlib_engine import DlibFaceEngine

        return DlibFaceEngine(settings.detector, settings.detect_upsample, settings.detect_max_side)
    raise ValueError(f"Unknown FACE_ENGINE {settings.face_engine!r}: the available engine is 'local'")


__all__ = ["FaceEngine", "create_engine"]
